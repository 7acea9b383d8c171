/** The knative processor's schema and example, and an https destination with a self-signed certificate. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../../src/catalogue';
import { waitFor } from '../../helpers/wait';
import { CloudEventsReceiver } from '../../peers/cloudevents-receiver';
import { entry, event, makeContext, makeProcessor } from './helpers';

const EXAMPLE = path.resolve(__dirname, '../../../config-examples/knative.json');
const example = () =>
  JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Array<Record<string, Record<string, unknown>>>;

describe('knative configuration', () => {
  test('config-examples/knative.json is valid; so are bearer, basic_auth and no auth at all', () => {
    expect(validateConfig(example())).toEqual([]);
    for (const auth of [
      { method: 'bearer', secret: { token: 't' } },
      { method: 'basic_auth', secret: { username: 'u', password: 'p' } },
      undefined,
    ]) {
      const d = example();
      if (auth) d[1].auth = auth;
      else delete d[1].auth;
      d[1].options = { encoding: 'binary', insecure: true };
      expect(validateConfig(d)).toEqual([]);
    }
  });

  test('a bad encoding, a bearer without token and a non-http address are reported', () => {
    const bad = (change: (e: Record<string, unknown>) => void): string => {
      const d = example();
      change(d[1]);
      return validateConfig(d).join('\n');
    };
    expect(bad((e) => ((e.options as Record<string, unknown>).encoding = 'batched'))).toMatch(/encoding/);
    expect(bad((e) => (e.auth = { method: 'bearer', secret: { username: 'x' } }))).toMatch(/token/);
    expect(bad((e) => (e.address = 'nats://broker:4222'))).toMatch(/address/);
    expect(bad((e) => delete e.address)).toMatch(/address/);
  });
});

describe('https destination with a self-signed certificate', () => {
  let dir: string;
  let receiver: CloudEventsReceiver;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'knative-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' }); // prettier-ignore
    receiver = await CloudEventsReceiver.start(0, {
      key: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    });
  });

  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without insecure the certificate is rejected (failed and counted); with insecure it is delivered', async () => {
    const tc = makeContext();
    const strict = await makeProcessor(entry(receiver.url), tc);
    const rejected = event('VmSuspendedEvent');
    await strict.process(rejected);
    await waitFor('the TLS failure counted', async () =>
      (await tc.metrics.registry.metrics()).includes(
        'vmware_event_router_processor_errors_total{processor="knative",subject="VmSuspendedEvent"} 1',
      ),
    );
    await strict.stop(5000);
    expect(receiver.received).toHaveLength(0);
    expect(tc.lines.join('\n')).toContain('set options.insecure');

    const insecure = await makeProcessor(entry(receiver.url, { insecure: 'true', encoding: 'binary' }), tc);
    const ok = event('VmResumingEvent');
    await insecure.process(ok);
    await waitFor('delivered over https', () => receiver.received.length === 1);
    await insecure.stop(5000);
    expect(receiver.ids).toEqual([ok.id]);
  });
});
