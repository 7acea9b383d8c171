/**
 * The shape of the root CAs option (the router entry's `options.root_cas`):
 * a list of PEM file paths; anything else is reported with its JSON path.
 * (Reading the files, and what the router does with them: test/e2e/root-cas.test.ts.)
 */
import { parseConfig, validateConfig } from '../../../src/catalogue';
import { rootCAFiles } from '../../../src/config/router-entry';

const base = [
  { type: 'stream', provider: 'webhook', address: '127.0.0.1:0', auth: { method: 'none' } },
  { type: 'processor', provider: 'stdout' },
  { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } },
];
const withRootCAs = (v: unknown): unknown[] => [
  ...base,
  { type: 'router', provider: 'event_log', options: { root_cas: v } },
];

describe('options.root_cas of the router entry', () => {
  test('a list of files is valid, kept in order; an empty list or no router entry means no file', () => {
    const cfg = parseConfig(JSON.stringify(withRootCAs(['/etc/ca/a.pem', '/etc/ca/b.pem'])), 'c.json');
    expect(rootCAFiles(cfg)).toEqual(['/etc/ca/a.pem', '/etc/ca/b.pem']);
    expect(rootCAFiles(parseConfig(JSON.stringify(withRootCAs([])), 'c.json'))).toEqual([]);
    expect(rootCAFiles(parseConfig(JSON.stringify(base), 'c.json'))).toEqual([]);
  });

  test.each([
    ['one path as a string', '/etc/ca.pem', '/3/options/root_cas: expected array, found "/etc/ca.pem"'],
    ['an empty path', [''], '/3/options/root_cas/0: must not be empty'],
    ['a number', [1], '/3/options/root_cas/0: expected string, found number 1'],
  ])('%s is reported with its path', (_what, value, problem) => {
    expect(validateConfig(withRootCAs(value))).toEqual([problem]);
  });

  test('a misspelled key says which one was meant', () => {
    expect(
      validateConfig([...base, { type: 'router', provider: 'event_log', options: { root_ca: ['x.pem'] } }]),
    ).toEqual([
      '/3/options/root_ca: unknown key "root_ca" (did you mean "root_cas"?); allowed here: max_events, max_bytes, root_cas',
    ]);
  });
});
