/** config-examples/openfaas.json is valid against the shipped schema, and the processor reads its options. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, validateConfig } from '../../../src/config/load';
import { OpenFaasProcessor } from '../../../src/processor/openfaas/openfaas-processor';
import { makeContext } from './helpers';

const FILE = path.resolve(__dirname, '..', '..', '..', 'config-examples', 'openfaas.json');

it('config-examples/openfaas.json validates and configures the OpenFaaS processor', async () => {
  const text = readFileSync(FILE, 'utf8');
  expect(validateConfig(JSON.parse(text))).toEqual([]);
  const config = parseConfig(text, FILE);
  expect(config.processor.provider).toBe('openfaas');
  const proc = new OpenFaasProcessor(config.processor, makeContext().ctx);
  expect(proc.gateway).toBe('http://gateway.openfaas:8080');
  expect(proc.async).toBe(false);
  expect(proc.inFlight.max).toBe(32);
  expect(proc.retries).toBe(3);
  expect(proc.timeoutMs).toBe(30_000);
  expect(proc.refreshMs).toBe(10_000);
  expect(proc.ready()).toBe(false);
  await proc.stop(100);
});

it('the seed example options (only async) get the documented defaults', () => {
  const proc = new OpenFaasProcessor(
    {
      type: 'processor',
      provider: 'openfaas',
      address: 'http://admin:pw@gateway.openfaas:8080/',
      auth: { method: 'basic_auth', secret: { username: 'admin', password: 'pw-xyz' } },
      options: { async: 'true' },
    },
    makeContext().ctx,
  );
  // Credentials in the URL never reach the address used in messages.
  expect(proc.gateway).toBe('http://gateway.openfaas:8080');
  expect(proc.async).toBe(true);
  expect([proc.inFlight.max, proc.retries, proc.timeoutMs, proc.refreshMs]).toEqual([32, 3, 30_000, 10_000]);
});
