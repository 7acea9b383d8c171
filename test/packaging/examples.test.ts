/**
 * Every file in config-examples/ is a configuration the router accepts
 * (validateConfig: the JSON Schema the router itself uses; and the compiled
 * `validate`, which reads the YAML RouterConfig too), so users can start from
 * any of them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, validateConfig } from '../../src/catalogue';
import { kindOf } from '../../src/config/schema';

const dir = path.resolve(__dirname, '..', '..', 'config-examples');
/** The compiled command line (build first). */
const CLI = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const files = readdirSync(dir)
  .filter((f) => !f.startsWith('.'))
  .sort();

describe('config-examples', () => {
  test('the directory holds the simulator example and one file per processor', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'simulator.json',
        'openfaas.json',
        'aws-event-bridge.json',
        'knative.json',
        'event-stream.json',
        'webhook.json',
        'replicas-kubernetes.json',
        'replicas-nats.json',
        'event-stream-simulator.json',
        'router-config.yaml',
      ]),
    );
  });

  test.each(files.filter((f) => f.endsWith('.json')))(
    '%s is valid against the configuration schema',
    (file) => {
      const data = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;
      expect(validateConfig(data)).toEqual([]);
    },
  );

  test('every example is JSON or a YAML RouterConfig', () => {
    expect(files.filter((f) => !/\.(json|yaml)$/.test(f))).toEqual([]);
  });

  test.each(files)('`vmware-event-router validate` accepts %s', (file) => {
    const r = spawnSync(process.execPath, [CLI, 'validate', '-config', path.join(dir, file)], {
      encoding: 'utf8',
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toContain('configuration is valid');
  });

  test('router-config.yaml is a v1alpha1 RouterConfig the router maps onto a stream, a processor and metrics', () => {
    const file = path.join(dir, 'router-config.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^apiVersion: event-router\.vmware\.com\/v1alpha1$/m);
    expect(text).toMatch(/^kind: RouterConfig$/m);
    const config = parseConfig(text, file);
    expect(config.streams.map((e) => e.provider)).toEqual(['vmware_vcenter']);
    expect(config.processors.map((e) => e.provider)).toEqual(['openfaas']);
    expect(config.metrics.address).toBe('0.0.0.0:8080');
  });

  test('event-stream-simulator.json runs against the simulator as it is: 127.0.0.1:8989 user/pass, the API on 127.0.0.1:8081 without auth', () => {
    const entries = JSON.parse(readFileSync(path.join(dir, 'event-stream-simulator.json'), 'utf8')) as Array<
      Record<string, unknown>
    >;
    const byKind = Object.fromEntries(entries.map((e) => [kindOf(e), e]));
    expect(byKind.stream).toMatchObject({
      address: 'http://127.0.0.1:8989/sdk',
      auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
    });
    expect(byKind.processor).toMatchObject({
      provider: 'event_stream',
      address: '127.0.0.1:8081',
      auth: { method: 'none' },
    });
    expect(byKind.metrics).toMatchObject({ address: '127.0.0.1:8080', auth: { method: 'none' } });
  });

  test('simulator.json runs the local demo: simulator on 127.0.0.1:8989, stdout, metrics on 127.0.0.1:8080', () => {
    const entries = JSON.parse(readFileSync(path.join(dir, 'simulator.json'), 'utf8')) as Array<
      Record<string, unknown>
    >;
    const byKind = Object.fromEntries(entries.map((e) => [kindOf(e), e]));
    expect(byKind.stream).toMatchObject({
      address: 'http://127.0.0.1:8989/sdk',
      auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
    });
    expect(byKind.processor).toMatchObject({ provider: 'stdout' });
    expect(byKind.metrics).toMatchObject({ address: '127.0.0.1:8080', auth: { method: 'none' } });
  });

  test('an invalid example would be caught (the check is not vacuous)', () => {
    const entries = JSON.parse(readFileSync(path.join(dir, 'simulator.json'), 'utf8')) as Array<
      Record<string, unknown>
    >;
    const broken = entries.map((e) => (kindOf(e) === 'stream' ? { ...e, options: { insecrue: 'true' } } : e));
    expect(validateConfig(broken).join('\n')).toMatch(/insecrue.*did you mean "insecure"/);
  });

  describe('several replicas: one example per coordination provider', () => {
    type Entry = { type?: unknown; provider?: unknown; name?: unknown; options?: Record<string, unknown> };
    const read = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Entry[];
    const validate = (file: string) =>
      spawnSync(process.execPath, [CLI, 'validate', '-config', file], { encoding: 'utf8' });

    test.each([
      ['replicas-kubernetes.json', 'kubernetes'],
      ['replicas-nats.json', 'nats'],
    ])(
      '%s: `vmware-event-router validate` accepts it; coordination %s, streams named and checkpointing',
      (file, provider) => {
        const r = validate(path.join(dir, file));
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
        expect(r.stdout).toContain('configuration is valid');
        const entries = read(file);
        expect(entries.filter((e) => kindOf(e) === 'coordination').map((e) => e.provider)).toEqual([
          provider,
        ]);
        const streams = entries.filter((e) => kindOf(e) === 'stream');
        expect(streams.length).toBeGreaterThan(1);
        for (const s of streams) {
          expect(s.name).toEqual(expect.any(String));
          // Without it the replica that takes a stream over starts at "now".
          expect(s.options?.checkpoint).toBe('true');
        }
      },
    );

    test('`vmware-event-router validate` refuses an unnamed stream beside a coordination entry, saying why', () => {
      const entries = read('replicas-nats.json');
      const unnamed = entries.map((e, i) => (i === 0 ? { ...e, name: undefined } : e));
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'ver-examples-'));
      const file = path.join(tmp, 'config.json');
      writeFileSync(file, JSON.stringify(unnamed));
      const r = validate(file);
      rmSync(tmp, { recursive: true });
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toMatch(/\/0.*every stream needs a name/);
    });
  });
});
