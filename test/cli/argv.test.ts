/**
 * Command-line mistakes are one line each, with the fix, in the style the
 * operator typed (`-confg` → `-config`); `-h` lists the flags as the
 * documents write them (`-config`). Runs the compiled CLI, as an operator would.
 */
import { argvProblem, closest, normalizeArgv } from '../../src/cli/argv';
import { runCli, writeConfig } from '../helpers/e2e';

const valid = [
  {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: 'https://vc01.example.com/sdk',
    auth: { method: 'user_password', secret: { username: 'u', password: 'p' } },
  },
  { type: 'processor', provider: 'stdout' },
  { type: 'metrics', provider: 'internal', address: '127.0.0.1:8080', auth: { method: 'none' } },
];

describe('argument mistakes (compiled CLI)', () => {
  test.each([
    [['-confg', 'x.json'], "vmware-event-router: unknown option '-confg' (did you mean -config?); see -h"],
    [
      ['--confg', 'x.json'],
      "vmware-event-router: unknown option '--confg' (did you mean --config?); see --help",
    ],
    [
      ['valdate', '-config', 'x.json'],
      "vmware-event-router: unknown command 'valdate' (did you mean validate?)",
    ],
    [
      ['-config', 'x.json', '-verbos'],
      "vmware-event-router: unknown option '-verbos' (did you mean -verbose?); see -h",
    ],
  ])('%j: exit 1, one line with the fix', async (args, line) => {
    const r = await runCli(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(line + '\n');
  });

  test('-h lists the long flags with one dash, as the documents write them', async () => {
    const r = await runCli(['-h']);
    expect(r.code).toBe(0);
    const options = r.stdout.slice(r.stdout.indexOf('Options:'), r.stdout.indexOf('Commands:'));
    for (const flag of ['-config <path>', '-verbose', '-log-level <level>', '-log-json', '-version'])
      expect(options).toMatch(new RegExp(`^  ${flag.replace(/[<>]/g, '\\$&')}\\s`, 'm'));
    expect(options).not.toContain('--config');
    expect(r.stdout).toMatch(/^commit: /m);
    expect(r.stdout).toMatch(/^version: /m);
    const sub = await runCli(['validate', '-h']);
    expect(sub.stdout).toMatch(/^ {2}-config <path>\s/m);
  });

  test('correct arguments still work, in both styles', async () => {
    const file = writeConfig(valid);
    for (const args of [
      ['validate', '-config', file],
      ['validate', '--config', file],
      ['validate', `-config=${file}`],
      ['-config', file, 'validate'],
    ]) {
      const r = await runCli(args);
      expect({ args, stderr: r.stderr, code: r.code }).toEqual({ args, stderr: '', code: 0 });
    }
  });
});

describe('argvProblem', () => {
  test('accepts what the router takes', () => {
    for (const args of [
      [],
      ['-config', 'f'],
      ['--config=f', '-verbose', '-log-level', 'debug', '-log-json'],
      ['-log-level=warn', 'validate', '-config', '-odd-file-name'],
      ['-h'],
      ['--help'],
      ['-version'],
      ['validate', '--', 'whatever'],
    ])
      expect({ args, problem: argvProblem(args) }).toEqual({ args, problem: undefined });
  });

  test('names the mistake and the closest flag or command', () => {
    expect(argvProblem(['-log-levle', 'debug'])).toBe(
      "unknown option '-log-levle' (did you mean -log-level?); see -h",
    );
    expect(argvProblem(['-zzz'])).toBe("unknown option '-zzz'; see -h");
    expect(argvProblem(['validate', 'validate'])).toMatch(/^unexpected argument 'validate'/);
    expect(argvProblem(['config.json'])).toBe(
      "unexpected argument 'config.json': the configuration file is given with -config FILE, and the only command is validate",
    );
  });

  test('closest: typos only, not any word', () => {
    expect(closest('valdiate', ['validate'])).toBe('validate');
    expect(closest('confg', ['config', 'verbose'])).toBe('config');
    expect(closest('start', ['validate'])).toBeUndefined();
  });

  test('normalizeArgv rewrites the known single-dash long flags only', () => {
    expect(normalizeArgv(['node', 'main', '-config', 'f', '-h', '-log-level=debug', 'validate'])).toEqual([
      'node',
      'main',
      '--config',
      'f',
      '-h',
      '--log-level=debug',
      'validate',
    ]);
  });
});
