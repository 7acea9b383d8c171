/**
 * `validate` on a valid file reads the config back: one line per entry saying what the router
 * will do with it (which vCenter over which protocol, which peer, which filter, which store).
 */
import { runCli, writeConfig } from '../helpers/e2e';

const vcenter = (name: string, protocol: string) => ({
  type: 'stream',
  provider: 'vmware_vcenter',
  name,
  address: 'https://vc01.example.com/sdk',
  auth: { method: 'user_password', secret: { username: 'svc', password: 'Not-Shown-77' } },
  options: { protocol },
});

test('one line per entry, in words, after the validity line; no secret shown', async () => {
  const file = writeConfig([
    vcenter('vc-soap', 'soap'),
    vcenter('vc-json', 'vi_json'),
    vcenter('vc-auto', 'auto'),
    {
      type: 'stream',
      provider: 'webhook',
      name: 'hook',
      address: '127.0.0.1:8082',
      auth: { method: 'none' },
    },
    {
      type: 'processor',
      provider: 'openfaas',
      name: 'fn',
      address: 'http://gateway.openfaas:8080',
      auth: { method: 'basic_auth', secret: { username: 'admin', password: 'Not-Shown-88' } },
      filter: { subject: ['VmPoweredOnEvent'] },
    },
    {
      type: 'processor',
      provider: 'aws_event_bridge',
      options: {
        aws_region: 'eu-central-1',
        aws_eventbridge_rule_arn: 'arn:aws:events:eu-central-1:123456789012:rule/r',
      },
    },
    {
      type: 'processor',
      provider: 'knative',
      address: 'http://broker.example/ns/default',
      auth: { method: 'none' },
      options: { encoding: 'binary' },
    },
    {
      type: 'processor',
      provider: 'nats_jetstream',
      address: 'nats://nats.example:4222',
      auth: { method: 'none' },
      options: { stream: 'EVENTS' },
    },
    {
      type: 'processor',
      provider: 'event_stream',
      address: '127.0.0.1:8081',
      auth: { method: 'none' },
      options: { stream: 'vc-soap' },
    },
    { type: 'processor', provider: 'stdout' },
    { type: 'metrics', provider: 'internal', address: '127.0.0.1:8080', auth: { method: 'none' } },
    {
      type: 'coordination',
      provider: 'nats',
      address: 'nats://nats.example:4222',
      auth: { method: 'none' },
      options: { identity: 'replica-0' },
    },
  ]);
  const { code, stdout, stderr } = await runCli(['validate', '-config', file]);
  expect(stderr).toBe('');
  expect(stdout.trimEnd().split('\n')).toEqual([
    `${file}: configuration is valid (the file only; -connect also reaches each peer)`,
    '  stream vc-soap follows vCenter https://vc01.example.com/sdk over SOAP',
    '  stream vc-json follows vCenter https://vc01.example.com/sdk over VI/JSON',
    '  stream vc-auto follows vCenter https://vc01.example.com/sdk over VI/JSON when the vCenter offers it, else SOAP (auto)',
    '  stream hook accepts CloudEvents POSTed to 127.0.0.1:8082',
    '  processor fn invokes the OpenFaaS functions subscribed to each event\'s topic on gateway http://gateway.openfaas:8080 and waits for their reply, with filter {"subject":["VmPoweredOnEvent"]}',
    '  processor aws_event_bridge sends the events rule arn:aws:events:eu-central-1:123456789012:rule/r matches to AWS EventBridge bus "default" in eu-central-1, with no filter',
    '  processor knative sends each event to http://broker.example/ns/default as a binary CloudEvent over HTTP, with no filter',
    '  processor nats_jetstream publishes each event to JetStream stream EVENTS on nats://nats.example:4222 under subject vsphere.events.<event subject>, with no filter',
    '  processor event_stream serves the last 2000 events of stream vc-soap over the vSphere Event Streaming API on 127.0.0.1:8081, with no filter',
    '  processor stdout prints each event as one JSON line on stdout, with no filter',
    '  metrics served on 127.0.0.1:8080 (/metrics, /stats, /healthz, /readyz), no auth',
    '  coordination through the NATS key-value bucket vmware-event-router on nats://nats.example:4222: the replicas share the streams, this one as "replica-0"',
  ]);
  expect(stdout).not.toMatch(/Not-Shown/);
  expect(code).toBe(0);
});
