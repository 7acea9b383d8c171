/**
 * Options declared once: the reader gives each option typed, with the default
 * the schema documents, whichever spelling the operator used.
 */
import { readOptions } from '../../src/config/options';
import { readDeliveryOptions } from '../../src/config/schema-parts';
import type { ConfigEntry } from '../../src/config/types';
import { natsJetStreamProcessor } from '../../src/processor/nats_jetstream/definition';
import { natsJetStreamOptions } from '../../src/processor/nats_jetstream/options';
import { stdoutProcessor } from '../../src/processor/stdout/definition';
import { vcenterStream } from '../../src/stream/vcenter/definition';
import { vcenterOptions } from '../../src/stream/vcenter/options';

const vcenter = (options: ConfigEntry['options']): ConfigEntry => ({
  type: 'stream',
  provider: 'vmware_vcenter',
  address: 'https://vc/sdk',
  options,
});

test('an entry without options reads as the defaults its schema documents', () => {
  const options = readOptions(vcenterOptions, vcenter(undefined));
  const documented = (
    vcenterStream.schema.properties as Record<string, { properties: Record<string, unknown> }>
  ).options.properties;
  for (const [name, value] of Object.entries(options))
    expect([name, value]).toEqual([name, (documented[name] as { default: unknown }).default]);
  expect(options).toEqual({
    insecure: false,
    protocol: 'soap',
    call_timeout: 60,
    max_backoff: 60,
    checkpoint: false,
    checkpoint_dir: '/var/lib/vmware-event-router',
    checkpoint_interval: 1,
    replay_window: 3600,
    cloudevent_format: 'router',
    vsphere_source_payload_encoding: 'application/xml',
    watchdog_interval: 60,
    page_size: 1000,
  });
});

test('"true"/"false" strings in any case and digit strings read as booleans and numbers', () => {
  const options = readOptions(
    vcenterOptions,
    vcenter({
      insecure: 'TRUE',
      checkpoint: 'False',
      call_timeout: '5',
      max_backoff: 7,
      protocol: 'vi_json',
    }),
  );
  expect(options).toMatchObject({
    insecure: true,
    checkpoint: false,
    call_timeout: 5,
    max_backoff: 7,
    protocol: 'vi_json',
  });
});

test('an option without a default is absent until written; a required one is in the schema', () => {
  const entry: ConfigEntry = { type: 'processor', provider: 'nats_jetstream', options: { stream: 'S' } };
  const options = readOptions(natsJetStreamOptions, entry);
  expect(options.stream).toBe('S');
  const schema = natsJetStreamProcessor.schema as {
    required: string[];
    properties: { options: { required: string[] } };
  };
  expect(schema.properties.options.required).toEqual(['stream']);
  expect(schema.required).toContain('options');
  expect('ca_file' in options).toBe(false);
  expect(
    readOptions(natsJetStreamOptions, { ...entry, options: { stream: 'S', ca_file: '/ca.pem' } }).ca_file,
  ).toBe('/ca.pem');
});

test('a sink that declares no delivery options is sent one event at a time, never retried', () => {
  const entry: ConfigEntry = { type: 'processor', provider: 'stdout' };
  expect(readDeliveryOptions(stdoutProcessor.options, entry)).toEqual({
    max_in_flight: 1,
    retries: 0,
    retry_max_duration: 120,
    retry_max_backoff: 10,
  });
});

test('retries are bounded by time; retries is a cap only when the entry sets it', () => {
  const entry: ConfigEntry = { type: 'processor', provider: 'nats_jetstream', options: { stream: 'S' } };
  expect(readDeliveryOptions(natsJetStreamOptions, entry)).toEqual({
    max_in_flight: 64,
    retry_max_duration: 120,
    retry_max_backoff: 10,
  });
  expect(
    readDeliveryOptions(natsJetStreamOptions, {
      ...entry,
      options: { stream: 'S', retries: '2', retry_max_duration: '5', retry_max_backoff: 1 },
    }),
  ).toEqual({ max_in_flight: 64, retries: 2, retry_max_duration: 5, retry_max_backoff: 1 });
});
