/** config-examples/openfaas.json is valid against the shipped schema, and the processor reads its options. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, validateConfig } from '../../../src/catalogue';
import type { ConfigEntry } from '../../../src/config/types';
import { openfaasProcessor } from '../../../src/processor/openfaas/definition';
import { OpenFaasSink } from '../../../src/processor/openfaas/openfaas-sink';
import { testProcessor } from '../../helpers/processor';
import { makeContext } from './helpers';
import { readOptions } from '../../../src/config/options';
import { openfaasOptions } from '../../../src/processor/openfaas/options';

/** The processor as the router builds it from an entry. */
function build(entry: ConfigEntry) {
  const { ctx } = makeContext();
  return testProcessor(
    openfaasProcessor,
    new OpenFaasSink(entry, readOptions(openfaasOptions, entry), ctx),
    entry,
    ctx,
  );
}

const FILE = path.resolve(__dirname, '..', '..', '..', 'config-examples', 'openfaas.json');

it('config-examples/openfaas.json validates and configures the OpenFaaS processor', async () => {
  const text = readFileSync(FILE, 'utf8');
  expect(validateConfig(JSON.parse(text))).toEqual([]);
  const config = parseConfig(text, FILE);
  expect(config.processors[0].provider).toBe('openfaas');
  const proc = build(config.processors[0]);
  expect(proc.sink.gateway).toBe('http://gateway.openfaas:8080');
  expect(proc.sink.async).toBe(false);
  expect(proc.inFlight.max).toBe(32);
  // Retries bounded by time only: the example sets retry_max_duration, not retries.
  expect(proc.retries).toBeUndefined();
  expect(proc.runner.options.retry.maxDurationMs).toBe(120_000);
  expect(proc.sink.timeoutMs).toBe(30_000);
  expect(proc.sink.refreshMs).toBe(10_000);
  expect(proc.ready()).toBe(false);
  await proc.stop(100);
});

it('the seed example options (only async) get the documented defaults', () => {
  const proc = build({
    type: 'processor',
    provider: 'openfaas',
    address: 'http://admin:pw@gateway.openfaas:8080/',
    auth: { method: 'basic_auth', secret: { username: 'admin', password: 'pw-xyz' } },
    options: { async: 'true' },
  });
  // Credentials in the URL never reach the address used in messages.
  expect(proc.sink.gateway).toBe('http://gateway.openfaas:8080');
  expect(proc.sink.async).toBe(true);
  expect([proc.inFlight.max, proc.sink.timeoutMs, proc.sink.refreshMs]).toEqual([32, 30_000, 10_000]);
  expect(proc.retries).toBeUndefined();
  expect(proc.runner.options.retry.maxDurationMs).toBe(120_000);
  expect(proc.runner.options.retry.backoff).toEqual({ baseMs: 200, maxMs: 10_000 });
});
