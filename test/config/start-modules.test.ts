/**
 * What reading a configuration loads: the router validates with the code
 * generated at build time, so neither ajv's schema compiler nor (for a JSON
 * file) the YAML parser is loaded at start, nor any component the file does
 * not use; each costs megabytes of memory for as long as the router runs. Checked in a fresh node process on the
 * built router, as it starts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const CATALOGUE = path.join(ROOT, 'dist', 'src', 'catalogue.js');

const entries = [
  {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: 'https://vcenter.example.com/sdk',
    auth: { method: 'user_password', secret: { username: 'u', password: 'p' } },
  },
  {
    type: 'processor',
    provider: 'openfaas',
    address: 'http://gateway.openfaas:8080',
    auth: { method: 'none' },
  },
  { type: 'metrics', provider: 'internal', address: '127.0.0.1:8080', auth: { method: 'none' } },
];

const v1alpha1 = `apiVersion: event-router.vmware.com/v1alpha1
kind: RouterConfig
metadata:
  name: router
eventProvider:
  type: vcenter
  name: vc
  vcenter:
    address: https://vcenter.example.com/sdk
    insecureSSL: false
    auth:
      type: basic_auth
      basicAuth: { username: u, password: p }
eventProcessor:
  type: openfaas
  name: of
  openfaas: { address: 'http://gateway.openfaas:8080', async: false }
metricsProvider:
  type: default
  name: metrics
  default: { bindAddress: '127.0.0.1:8080' }
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'start-modules-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages (and the router's generated modules) loaded by reading `file`, valid or not. */
function loadedReading(file: string): string[] {
  const script = `
    const { loadConfig } = require(${JSON.stringify(CATALOGUE)});
    let outcome = 'valid';
    try { loadConfig(${JSON.stringify(file)}); } catch (err) { outcome = err.message; }
    process.stdout.write(JSON.stringify({ outcome, modules: Object.keys(require.cache) }));`;
  const { outcome, modules } = JSON.parse(
    execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }),
  ) as {
    outcome: string;
    modules: string[];
  };
  return [outcome, ...modules];
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('a JSON configuration is read without the ajv compiler or the YAML parser', () => {
  const [outcome, ...modules] = loadedReading(write('config.json', JSON.stringify(entries)));
  expect(outcome).toBe('valid');
  expect(modules.some((m) => m.endsWith(path.join('config', 'entries-validator.generated.js')))).toBe(true);
  expect(
    modules.filter((m) => /node_modules[\\/](ajv[\\/]dist[\\/](compile|core|2020)|js-yaml)/.test(m)),
  ).toEqual([]);
  expect(modules.filter((m) => m.endsWith('v1alpha1-validator.generated.js'))).toEqual([]);
  // The catalogue holds declarations: no stream's or sink's implementation, nor its client library, is loaded.
  expect(
    modules.filter((m) =>
      /dist[\\/]src[\\/](stream|processor)[\\/]\w+[\\/][\w-]+-(stream|processor)\.js$/.test(m),
    ),
  ).toEqual([]);
  expect(modules.filter((m) => /node_modules[\\/](@aws-sdk|@nats-io|@smithy)[\\/]/.test(m))).toEqual([]);
});

test('an invalid JSON configuration is reported without the ajv compiler either', () => {
  const broken = [...entries.slice(0, 2), { ...entries[2], address: 'no port' }];
  const [outcome, ...modules] = loadedReading(write('broken.json', JSON.stringify(broken)));
  expect(outcome).toMatch(/\/2\/address: .*expected/);
  expect(modules.filter((m) => /node_modules[\\/]ajv[\\/]dist[\\/](compile|core|2020)/.test(m))).toEqual([]);
});

test('a v1alpha1 YAML document loads the YAML parser and its own validator, still not the ajv compiler', () => {
  const [outcome, ...modules] = loadedReading(write('router.yaml', v1alpha1));
  expect(outcome).toBe('valid');
  expect(modules.some((m) => /node_modules[\\/]js-yaml/.test(m))).toBe(true);
  expect(modules.some((m) => m.endsWith('v1alpha1-validator.generated.js'))).toBe(true);
  expect(modules.filter((m) => /node_modules[\\/]ajv[\\/]dist[\\/](compile|core|2020)/.test(m))).toEqual([]);
});
