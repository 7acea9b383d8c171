/**
 * Hostile YAML configuration: an error never quotes the file's text (an alias
 * or a tag may be a password typed in the wrong place), only where it is and
 * what kind of error it is; and an alias bomb is refused instead of being
 * expanded by the secret walk and the validation.
 */
import { parseConfig } from '../../src/catalogue';
import { ConfigError } from '../../src/config/load';

const DOC = (password: string, extra = ''): string => `apiVersion: event-router.vmware.com/v1alpha1
kind: RouterConfig
metadata:
  name: router-config
${extra}eventProvider:
  type: vcenter
  name: vc-01
  vcenter:
    address: https://vc.example.com/sdk
    insecureSSL: false
    auth:
      type: basic_auth
      basicAuth:
        username: administrator@vsphere.local
        password: ${password}
eventProcessor:
  type: openfaas
  name: openfaas
  openfaas:
    address: http://gateway.openfaas:8080
    async: false
metricsProvider:
  type: default
  name: metrics
  default:
    bindAddress: "127.0.0.1:0"
`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'x.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the configuration was accepted');
}

test('an unknown alias is named by position and kind, never by its name', () => {
  const problems = problemsOf(DOC('*Sup3rAlias'));
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^not valid JSON or YAML at line 15, column \d+ \(unidentified alias\)/);
  expect(problems.join('\n')).not.toContain('Sup3rAlias');
});

test('an unknown tag is named by position and kind, never by its text', () => {
  const problems = problemsOf(DOC('!t4gLeak S3cretVC!'));
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^not valid JSON or YAML at line 15, column \d+ \(unknown scalar tag\)/);
  expect(problems.join('\n')).not.toMatch(/t4gLeak|S3cretVC/);
});

test('other errors that would quote text (an undeclared tag handle) do not either', () => {
  const problems = problemsOf(DOC('!h4ndle!x S3cretVC!'));
  expect(problems.join('\n')).not.toMatch(/h4ndle|S3cretVC/);
  expect(problems[0]).toMatch(/^not valid JSON or YAML at line 15/);
});

test('a billion-laughs alias bomb under 1 KB is refused, not expanded', () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `  labels:\n${levels.map((l) => `    ${l}\n`).join('')}`;
  expect(bomb.length).toBeLessThan(1024);
  const problems = problemsOf(DOC('VcSecret-9f1', bomb));
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^not valid JSON or YAML.*alias/);
});

test('a bomb within the alias budget (fan-out 4, 14 levels) is refused too', () => {
  const levels = ['a0: &a0 ["lol","lol","lol","lol"]'];
  for (let i = 1; i < 14; i++)
    levels.push(
      `a${i}: &a${i} [${Array(4)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  const bomb = `  labels:\n${levels.map((l) => `    ${l}\n`).join('')}`;
  const problems = problemsOf(DOC('VcSecret-9f1', bomb));
  expect(problems).toEqual([expect.stringMatching(/^not valid JSON or YAML \(its aliases expand it/)]);
});

test('a few aliases, as a real file may use them, are still accepted', () => {
  const text = DOC('&pw VcSecret-9f1').replace(
    '    address: http://gateway.openfaas:8080\n',
    '    address: http://gateway.openfaas:8080\n    auth:\n      type: basic_auth\n      basicAuth:\n        username: admin\n        password: *pw\n',
  );
  const cfg = parseConfig(text, 'x.yaml');
  expect(cfg.processors[0].auth?.secret?.password).toBe('VcSecret-9f1');
});
