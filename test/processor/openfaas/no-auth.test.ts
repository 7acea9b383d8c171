/**
 * A gateway run without auth (local setups): `"auth": {"method": "none"}` is
 * accepted for OpenFaaS, and then no Authorization header is sent at all.
 * basic_auth stays what the examples use.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../../src/catalogue';
import type { ConfigEntry } from '../../../src/config/types';
import { openfaasProcessor } from '../../../src/processor/openfaas/definition';
import { OpenFaasSink } from '../../../src/processor/openfaas/openfaas-sink';
import { OpenFaasGateway } from '../../peers/openfaas-gateway';
import { testProcessor } from '../../helpers/processor';
import { event, makeContext } from './helpers';
import { readOptions } from '../../../src/config/options';
import { openfaasOptions } from '../../../src/processor/openfaas/options';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const stream = {
  type: 'stream',
  provider: 'vmware_vcenter',
  address: 'https://vc01.example.com/sdk',
  auth: { method: 'user_password', secret: { username: 'u', password: 'p' } },
};
const metrics = { type: 'metrics', provider: 'internal', address: '0.0.0.0:8080', auth: { method: 'none' } };
const openfaas = (auth: unknown) => ({
  type: 'processor',
  provider: 'openfaas',
  address: 'http://gateway.openfaas:8080',
  auth,
});

test('auth method "none" is valid for OpenFaaS, without a secret', () => {
  expect(validateConfig([stream, openfaas({ method: 'none' }), metrics])).toEqual([]);
  expect(
    validateConfig([stream, openfaas({ method: 'none', secret: { username: 'a', password: 'b' } }), metrics]),
  ).not.toEqual([]);
  expect(validateConfig([stream, openfaas({ method: 'basic_auth' }), metrics])).not.toEqual([]);
});

test('with "none", the topic map is read and functions invoked without any Authorization header', async () => {
  const gw = await OpenFaasGateway.start({ auth: false });
  const tc = makeContext();
  const e: ConfigEntry = {
    type: 'processor',
    provider: 'openfaas',
    address: gw.url,
    auth: { method: 'none' },
  };
  const proc = testProcessor(
    openfaasProcessor,
    new OpenFaasSink(e, readOptions(openfaasOptions, e), tc.ctx),
    e,
    tc.ctx,
  );
  try {
    gw.deploy({ name: 'echo', annotations: { topic: 'VmPoweredOnEvent' } });
    await proc.start();
    expect(proc.ready()).toBe(true);
    await proc.process(event('VmPoweredOnEvent'));
    await proc.stop(5_000);
    expect(gw.systemRequests.length).toBeGreaterThan(0);
    expect(gw.systemRequests.filter((r) => r.sentCredentials)).toEqual([]);
    expect(gw.delivered().map((i) => i.name)).toEqual(['echo']);
  } finally {
    await proc.stop(100);
    await gw.close();
  }
});

test('the examples and the docs keep basic_auth, and the docs warn about "none"', () => {
  const example = JSON.parse(
    readFileSync(path.join(ROOT, 'config-examples', 'openfaas.json'), 'utf8'),
  ) as Array<{
    type: string;
    auth?: { method: string };
  }>;
  expect(example.find((e) => e.type === 'processor')?.auth?.method).toBe('basic_auth');
  const doc = readFileSync(path.join(ROOT, 'docs', 'processors', 'openfaas.md'), 'utf8');
  expect(doc).toContain('`"auth": {"method": "none"}`');
  expect(doc.replace(/\s+/g, ' ')).toMatch(/anyone who can reach the gateway .* never expose one/);
});
