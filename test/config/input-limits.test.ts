/**
 * Issue 17, config input: a FIFO or an oversized file is refused in one line
 * before it is read, 20,000 bad entries print a bounded error list, and a port
 * out of range fails `validate`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, writeConfig } from '../helpers/e2e';
import { validateConfig } from '../../src/catalogue';
import { MAX_LISTED_PROBLEMS, readConfigFile } from '../../src/config/load';

const valid = (metricsAddress = '127.0.0.1:8080') => [
  {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: 'https://vc01/sdk',
    auth: { method: 'user_password', secret: { username: 'u', password: 'p' } },
  },
  { type: 'processor', provider: 'stdout' },
  { type: 'metrics', provider: 'internal', address: metricsAddress, auth: { method: 'none' } },
];

test('a FIFO as the config is refused in one line, without blocking (no writer ever opens it)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-fifo-'));
  const fifo = path.join(dir, 'config');
  execFileSync('mkfifo', [fifo]);
  for (const args of [
    ['validate', '-config', fifo],
    ['-config', fifo],
  ]) {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `invalid configuration ${fifo}: a FIFO, not a regular file: refused (the configuration must be a file; reading anything else could block the router)`,
    ]);
  }
  // The asynchronous reader (the config watcher's) refuses it the same way.
  await expect(readConfigFile(fifo)).rejects.toThrow(/a FIFO, not a regular file/);
});

test('a config over 1 MiB is refused in one line before it is read', async () => {
  const file = writeConfig(JSON.stringify(valid()) + ' '.repeat(1024 * 1024));
  const { code, stderr } = await runCli(['validate', '-config', file]);
  expect(code).toBe(1);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(
    /invalid configuration .*: \d+ bytes, more than the 1048576 bytes \(1 MiB\) a configuration file may have: refused before reading/,
  );
});

test('20,000 bad entries print the first problems and how many more', async () => {
  // Small entries: the file stays under the 1 MiB cap.
  const entries = Array.from({ length: 20_000 }, () => ({ type: 'stream', provider: 'vmware_vcenter' }));
  const problems = validateConfig(entries);
  expect(problems.length).toBeGreaterThan(20_000);
  const file = writeConfig(JSON.stringify(entries));
  const { code, stderr } = await runCli(['validate', '-config', file], 60_000);
  expect(code).toBe(1);
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1 + MAX_LISTED_PROBLEMS + 1);
  expect(lines[lines.length - 1]).toBe(`  - ... and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  expect(stderr.length).toBeLessThan(10_000);
});

test.each(['0.0.0.0:99999', '0.0.0.0:65536', 'localhost:123456'])(
  'metrics port %s fails validate',
  async (address) => {
    const { code, stderr } = await runCli(['validate', '-config', writeConfig(valid(address))]);
    expect(code).toBe(1);
    expect(stderr).toContain(`/2/address: bind address HOST:PORT (port 0-65535)`);
    expect(stderr).toContain(JSON.stringify(address));
  },
);

test.each(['0.0.0.0:65535', ':0', '[::1]:8080'])('metrics address %s is valid', async (address) => {
  const { code, stdout } = await runCli(['validate', '-config', writeConfig(valid(address))]);
  expect(code).toBe(0);
  expect(stdout).toContain('configuration is valid');
});

test('URL ports out of range fail: vCenter and OpenFaaS addresses', () => {
  const cfg = valid();
  cfg[0].address = 'https://vc01:70000/sdk';
  cfg[1] = {
    type: 'processor',
    provider: 'openfaas',
    address: 'http://gateway:99999',
    auth: { method: 'basic_auth', secret: { username: 'u', password: 'p' } },
  } as never;
  const problems = validateConfig(cfg);
  expect(problems.some((p) => p.startsWith('/0/address:') && p.includes('"https://vc01:70000/sdk"'))).toBe(
    true,
  );
  expect(problems.some((p) => p.startsWith('/1/address:') && p.includes('"http://gateway:99999"'))).toBe(
    true,
  );
  cfg[0].address = 'https://vc01:443/sdk';
  (cfg[1] as { address: string }).address = 'http://gateway:8080';
  expect(validateConfig(cfg)).toEqual([]);
});
