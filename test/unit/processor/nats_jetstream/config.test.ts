/** The nats_jetstream entry against the project's schema, and the subject rule the docs state. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../../../../src/catalogue';
import { filterCovers, natsSubject } from '../../../../src/processor/nats_jetstream/subject';

const EXAMPLE = path.resolve(__dirname, '../../../../config-examples/nats-jetstream.json');
const example = () =>
  JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Array<Record<string, Record<string, unknown>>>;

test('config-examples/nats-jetstream.json is valid', () => {
  expect(validateConfig(example())).toEqual([]);
});

test.each([
  ['none', { method: 'none' }],
  ['token', { method: 'token', secret: { token: 's3cr3t' } }],
  ['basic_auth', { method: 'basic_auth', secret: { username: 'u', password: 'p' } }],
])('auth %s is accepted', (_name, auth) => {
  const d = example();
  d[1].auth = auth;
  expect(validateConfig(d)).toEqual([]);
});

test.each(['nats://127.0.0.1:4222', 'tls://nats.example.com:4222, nats://[::1]:4223', 'nats://a,nats://b:1'])(
  'address %s is accepted',
  (address) => {
    const d = example();
    (d[1] as Record<string, unknown>).address = address;
    expect(validateConfig(d)).toEqual([]);
  },
);

test.each(['http://nats:4222', 'nats://user:pw@nats:4222', 'nats://nats:99999', 'nats://a,,nats://b', ''])(
  'address %j is refused',
  (address) => {
    const d = example();
    (d[1] as Record<string, unknown>).address = address;
    expect(validateConfig(d).join('\n')).toMatch(/\/1\/address/);
  },
);

test('stream is required; a prefix with wildcards or empty tokens is refused', () => {
  const d = example();
  delete d[1].options.stream;
  expect(validateConfig(d).join('\n')).toMatch(/\/1\/options.*stream/);
  for (const prefix of ['vsphere.>', 'a..b', 'a b', '.a', 'a.*']) {
    const e = example();
    e[1].options.subject_prefix = prefix;
    expect(validateConfig(e).join('\n')).toMatch(/subject_prefix/);
  }
});

test.each([
  ['VmPoweredOnEvent', 'vsphere.events.VmPoweredOnEvent'],
  [
    'com.vmware.vc.HA.ClusterFailoverActionCompletedEvent',
    'vsphere.events.com.vmware.vc.HA.ClusterFailoverActionCompletedEvent',
  ],
  ['my event*', 'vsphere.events.my_event_'],
  ['a>b\tc', 'vsphere.events.a_b_c'],
  ['a..b', 'vsphere.events.a._.b'],
  ['.a.', 'vsphere.events._.a._'],
  ['', 'vsphere.events._'],
  [undefined, 'vsphere.events._'],
])('subject %j is published to %s', (subject, expected) => {
  expect(natsSubject('vsphere.events', subject)).toBe(expected);
});

test('a stream subject filter covers the prefix only with a tail wildcard at or above it', () => {
  expect(filterCovers('vsphere.events.>', 'vsphere.events')).toBe(true);
  expect(filterCovers('vsphere.>', 'vsphere.events')).toBe(true);
  expect(filterCovers('>', 'vsphere.events')).toBe(true);
  expect(filterCovers('*.events.>', 'vsphere.events')).toBe(true);
  expect(filterCovers('vsphere.events.*', 'vsphere.events')).toBe(false);
  expect(filterCovers('vsphere.events', 'vsphere.events')).toBe(false);
  expect(filterCovers('other.>', 'vsphere.events')).toBe(false);
});
