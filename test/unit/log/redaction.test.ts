/**
 * Issue 17: redaction that reveals nothing. No text that is not a secret is
 * rewritten (a password `error`, `vmware` or `pass` leaves `error=`, the
 * program's name and `auth.secret.password` alone), and peer text that holds
 * a secret in any form, short secrets included, is withheld whole.
 */
import { clearSecrets, createLogger, quotePeer, registerSecret } from '../../../src/log/logger';

const SECRETS = ['p', 'ab', 'error', 'vmware', 'pass', 'a&b<c'];

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

afterEach(() => clearSecrets());

describe.each(SECRETS)('secret %j', (secret) => {
  beforeEach(() => {
    clearSecrets();
    registerSecret(secret);
  });

  test('log lines are written exactly as formatted: no substring is rewritten', () => {
    for (const json of [false, true]) {
      const lines: string[] = [];
      const log = createLogger({ level: 'debug', json, write: (l) => lines.push(l) });
      const config = `/etc/${secret}/vmware-event-router/config`;
      log
        .child({ component: 'stream' })
        .error('vmware-event-router could not log in: check auth.secret.username and auth.secret.password', {
          error: new Error('connect ECONNREFUSED 127.0.0.1:443'),
          config,
          passes: 2,
        });
      expect(lines).toHaveLength(1);
      const line = lines[0];
      expect(line).toContain('vmware-event-router could not log in');
      expect(line).toContain('auth.secret.password');
      expect(line).toContain(json ? `"config":${JSON.stringify(config)}` : `config=${config}`);
      expect(line).toContain(json ? '"error":"connect ECONNREFUSED 127.0.0.1:443"' : 'error="connect');
      expect(line).not.toContain('*****');
    }
  });

  test('peer text without the secret is quoted unchanged (cut at the limit)', () => {
    const clean = 'Z'.repeat(20) + ' 500 Internal Server Error';
    expect(clean.includes(secret)).toBe(false);
    expect(quotePeer(clean)).toBe(clean);
    expect(quotePeer('Z'.repeat(500), 200)).toBe('Z'.repeat(200) + '...');
  });

  const forms: Array<[string, (s: string) => string]> = [
    ['raw', (s) => s],
    ['JSON-escaped', (s) => JSON.stringify(s).slice(1, -1)],
    ['XML-escaped', (s) => xml(s)],
    ['XML-escaped twice', (s) => xml(xml(s))],
    ['numeric character references', (s) => [...s].map((c) => `&#${c.codePointAt(0)};`).join('')],
    ['hex character references', (s) => [...s].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join('')],
    ['\\u escapes', (s) => [...s].map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join('')],
    [
      'percent-encoded',
      (s) => [...s].map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    ],
    ['JSON inside XML', (s) => xml(JSON.stringify({ password: s }))],
  ];

  test.each(forms)('an echoed request holding it %s is withheld whole', (_name, encode) => {
    const echo = `<fault>could not parse <Login><userName>u</userName><password>${encode(secret)}</password></Login></fault>`;
    const quoted = quotePeer(echo);
    expect(quoted).toMatch(/^\(peer text of \d+ characters withheld/);
    expect(quoted).not.toContain('<password>');
  });

  test('a secret beyond the cut still withholds the text (no half of it is shown)', () => {
    const quoted = quotePeer('Z'.repeat(300) + secret, 200);
    expect(quoted).toMatch(/withheld/);
    expect(quoted).not.toContain('ZZZ');
  });
});

test("the issue's escaped forms: pa\\\\ss, x&quot;yz, a&amp;b", () => {
  registerSecret('pa\\ss');
  registerSecret('x"yz');
  registerSecret('a&b');
  expect(quotePeer('{"password":"pa\\\\ss"}')).toMatch(/withheld/);
  expect(quotePeer('<faultstring>x&quot;yz</faultstring>')).toMatch(/withheld/);
  expect(quotePeer('<faultstring>a&amp;b</faultstring>')).toMatch(/withheld/);
  expect(quotePeer('<faultstring>nothing here</faultstring>')).toBe(
    '<faultstring>nothing here</faultstring>',
  );
});
