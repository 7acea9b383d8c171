/**
 * Every file in config-examples/ is a configuration the router accepts
 * (validateConfig: the JSON Schema the router itself uses), so users can
 * start from any of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../src/catalogue';
import { kindOf } from '../../src/config/schema';

const dir = path.resolve(__dirname, '..', '..', 'config-examples');
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
      ]),
    );
  });

  test.each(files)('%s is valid against the configuration schema', (file) => {
    expect(file).toMatch(/\.json$/);
    const data = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;
    expect(validateConfig(data)).toEqual([]);
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
});
