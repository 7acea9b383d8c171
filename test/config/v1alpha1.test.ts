/**
 * Issue 15: the v0.7/v0.8 `RouterConfig` (event-router.vmware.com/v1alpha1).
 * The documents below are written as the v0.7.5 examples are
 * (vmware-event-router/deploy/event-router-config-*.yaml in
 * vmware-samples/vcenter-event-broker-appliance), with addresses changed.
 * Every key of the format (its routerconfig.schema.json plus the v0.7 keys
 * the examples use: checkpoint, checkpointDir, webhook, knative, horizon,
 * aws_iam_role, activeDirectoryAuth, certificates) is accepted, or rejected
 * with a message that says why.
 */
import { parseConfig } from '../../src/catalogue';
import { ConfigError } from '../../src/config/load';
import { runCli, writeConfig } from '../helpers/e2e';

const VC_OPENFAAS = `apiVersion: event-router.vmware.com/v1alpha1
kind: RouterConfig
metadata:
  name: router-config-vcenter-openfaas
  labels:
    key: value
eventProvider:
  type: vcenter
  name: veba-demo-vc-01
  vcenter:
    address: https://my-vcenter01.domain.local/sdk
    insecureSSL: false
    checkpoint: true
    checkpointDir: /var/lib/router
    auth:
      type: basic_auth
      basicAuth:
        username: administrator@vsphere.local
        password: VcSecret-9f1
eventProcessor:
  type: openfaas
  name: veba-demo-openfaas
  openfaas:
    address: http://gateway.openfaas:8080
    async: false
    # assuming basic_auth enabled for OpenFaaS
    auth:
      type: basic_auth
      basicAuth:
        username: admin
        password: GwSecret-77a
metricsProvider:
  type: default
  name: veba-demo-metrics
  default:
    bindAddress: "0.0.0.0:8082"
# disabling auth for the metrics endpoint
#    auth:
#      type: basic_auth
#      basicAuth:
#        username: admin
#        password: ReplaceMe
`;

const processorSection = (body: string): string =>
  VC_OPENFAAS.replace(/eventProcessor:\n(?: {2}.*\n|\s*#.*\n)+/, `eventProcessor:\n${body}`);

function problems(text: string): string[] {
  try {
    parseConfig(text, 'x.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('v1alpha1 RouterConfig', () => {
  it('maps vcenter -> openfaas onto the array entries (insecureSSL, checkpoint, checkpointDir, names, auth)', () => {
    const cfg = parseConfig(VC_OPENFAAS, 'x.yaml');
    expect(cfg.streams).toEqual([
      {
        type: 'stream',
        provider: 'vmware_vcenter',
        name: 'veba-demo-vc-01',
        address: 'https://my-vcenter01.domain.local/sdk',
        auth: {
          method: 'user_password',
          secret: { username: 'administrator@vsphere.local', password: 'VcSecret-9f1' },
        },
        options: { insecure: false, checkpoint: true, checkpoint_dir: '/var/lib/router' },
      },
    ]);
    expect(cfg.processors).toEqual([
      {
        type: 'processor',
        provider: 'openfaas',
        name: 'veba-demo-openfaas',
        address: 'http://gateway.openfaas:8080',
        auth: { method: 'basic_auth', secret: { username: 'admin', password: 'GwSecret-77a' } },
        options: { async: false },
      },
    ]);
    expect(cfg.metrics).toEqual({
      type: 'metrics',
      provider: 'internal',
      address: '0.0.0.0:8082',
      auth: { method: 'none' },
    });
  });

  it('reads the same document written as JSON', () => {
    const yaml = parseConfig(VC_OPENFAAS, 'x.yaml');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { load } = require('js-yaml') as { load(s: string): unknown };
    expect(parseConfig(JSON.stringify(load(VC_OPENFAAS)), 'x.json')).toEqual(yaml);
  });

  it('vcsim reads as vcenter; metrics basic auth maps onto basic_auth', () => {
    const text = VC_OPENFAAS.replace('type: vcenter', 'type: vcsim')
      .replace('  vcenter:\n', '  vcsim:\n')
      .replace(
        '    bindAddress: "0.0.0.0:8082"\n',
        '    bindAddress: "0.0.0.0:8082"\n    auth:\n      type: basic_auth\n      basicAuth:\n        username: m\n        password: MetricsPw-1\n',
      );
    const cfg = parseConfig(text, 'x.yaml');
    expect(cfg.streams[0].provider).toBe('vmware_vcenter');
    expect(cfg.metrics.auth).toEqual({
      method: 'basic_auth',
      secret: { username: 'm', password: 'MetricsPw-1' },
    });
  });

  it('awsEventBridge: aws_access_key -> access_key; aws_iam_role -> no auth (the default chain)', () => {
    const aws = (auth: string): string =>
      processorSection(`  type: aws_event_bridge
  name: veba-demo-aws
  awsEventBridge:
    eventBus: default
    region: us-west-1
    ruleARN: arn:aws:events:us-west-1:123456789012:rule/vmware-event-router
    auth:
${auth}`);
    const keyed = parseConfig(
      aws(
        '      type: aws_access_key\n      awsAccessKeyAuth:\n        accessKey: AKIDEXAMPLE\n        secretKey: Sk-secret-1\n',
      ),
      'x.yaml',
    );
    expect(keyed.processors[0]).toEqual({
      type: 'processor',
      provider: 'aws_event_bridge',
      name: 'veba-demo-aws',
      auth: {
        method: 'access_key',
        secret: { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'Sk-secret-1' },
      },
      options: {
        aws_region: 'us-west-1',
        aws_eventbridge_event_bus: 'default',
        aws_eventbridge_rule_arn: 'arn:aws:events:us-west-1:123456789012:rule/vmware-event-router',
      },
    });
    const role = parseConfig(aws('      type: aws_iam_role\n'), 'x.yaml');
    expect(role.processors[0].auth).toBeUndefined();
    // The schema's spelling of the type works too.
    expect(
      parseConfig(
        aws('      type: aws_iam_role\n').replace('type: aws_event_bridge', 'type: awsEventBridge'),
        'x.yaml',
      ).processors[0].provider,
    ).toBe('aws_event_bridge');
  });

  it('knative: destination.uri as a URL or as {scheme, host, path}; ref is an error that says to use uri', () => {
    const kn = (destination: string): string =>
      processorSection(`  name: veba-demo-knative
  type: knative
  knative:
    encoding: binary
    insecureSSL: false
    destination:
${destination}`);
    const asString = parseConfig(kn('      uri: http://broker.corp.local/default/default\n'), 'x.yaml');
    expect(asString.processors[0]).toEqual({
      type: 'processor',
      provider: 'knative',
      name: 'veba-demo-knative',
      address: 'http://broker.corp.local/default/default',
      auth: { method: 'none' },
      options: { encoding: 'binary', insecure: false },
    });
    const asParts = parseConfig(
      kn('      uri:\n        host: mybroker-external.corp.local\n        scheme: http\n'),
      'x.yaml',
    );
    expect(asParts.processors[0].address).toBe('http://mybroker-external.corp.local');
    const withPath = parseConfig(
      kn('      uri:\n        host: b.corp.local:8080\n        scheme: https\n        path: /ns/broker\n'),
      'x.yaml',
    );
    expect(withPath.processors[0].address).toBe('https://b.corp.local:8080/ns/broker');
    const ref = problems(
      kn(
        '      ref:\n        apiVersion: eventing.knative.dev/v1\n        kind: Broker\n        name: rabbit\n        namespace: default\n',
      ),
    );
    expect(ref).toEqual([
      expect.stringMatching(/^\/eventProcessor\/knative\/destination\/ref: .*use.*destination\.uri/),
    ]);
  });

  it('webhook -> the webhook stream (bindAddress, path, basic auth)', () => {
    const text = VC_OPENFAAS.replace(
      /eventProvider:\n(?: {2}.*\n)+/,
      `eventProvider:
  type: webhook
  name: veba-demo-webhook
  webhook:
    bindAddress: 0.0.0.0:8080
    path: /webhook
    auth:
      type: basic_auth
      basicAuth:
        username: webhook-user
        password: webhook-pass
`,
    );
    expect(parseConfig(text, 'x.yaml').streams).toEqual([
      {
        type: 'stream',
        provider: 'webhook',
        name: 'veba-demo-webhook',
        address: '0.0.0.0:8080',
        auth: { method: 'basic_auth', secret: { username: 'webhook-user', password: 'webhook-pass' } },
        options: { path: '/webhook' },
      },
    ]);
  });

  it('a misspelled key: its JSON path and "did you mean"', () => {
    expect(problems(VC_OPENFAAS.replace('insecureSSL: false', 'insecureSLL: false'))).toContain(
      '/eventProvider/vcenter/insecureSLL: unknown key "insecureSLL" (did you mean "insecureSSL"?); allowed here: address, insecureSSL, checkpoint, checkpointDir, auth',
    );
    expect(problems(VC_OPENFAAS.replace('eventProcessor:', 'eventProcesor:'))).toEqual(
      expect.arrayContaining([
        expect.stringContaining('unknown key "eventProcesor" (did you mean "eventProcessor"?)'),
      ]),
    );
  });

  it('secrets are never shown, even in a type error', () => {
    const text = VC_OPENFAAS.replace('password: VcSecret-9f1', 'password: [VcSecret-9f1]');
    const p = problems(text);
    expect(p).toContain(
      '/eventProvider/vcenter/auth/basicAuth/password: expected string, found (secret, not shown)',
    );
    expect(p.join('\n')).not.toContain('VcSecret');
  });

  it('a problem found after mapping points back at the section', () => {
    const p = problems(VC_OPENFAAS.replace('https://my-vcenter01.domain.local/sdk', 'my-vcenter01'));
    expect(p).toEqual([
      expect.stringMatching(
        /^\/eventProvider\/vcenter \(mapped onto the vmware_vcenter entry, \/address\): /,
      ),
    ]);
  });

  it('maps certificates.rootCAs onto the router entry (options.root_cas), kept in order', () => {
    const cfg = parseConfig(
      VC_OPENFAAS.replace(
        'metricsProvider:',
        'certificates:\n  rootCAs:\n    - /etc/ssl/ca.pem\n    - /etc/ssl/other.pem\nmetricsProvider:',
      ),
      'x.yaml',
    );
    expect(cfg.router).toEqual({
      type: 'router',
      provider: 'event_log',
      options: { root_cas: ['/etc/ssl/ca.pem', '/etc/ssl/other.pem'] },
    });
    // Without CAs (no certificates, or an empty list): no router entry, the defaults apply.
    expect(parseConfig(VC_OPENFAAS, 'x.yaml').router).toBeUndefined();
    expect(
      parseConfig(
        VC_OPENFAAS.replace('metricsProvider:', 'certificates:\n  rootCAs: []\nmetricsProvider:'),
        'x.yaml',
      ).router,
    ).toBeUndefined();
  });

  // Every key of the format that is not mapped: rejected, and the message says why.
  it.each([
    [
      'apiVersion',
      'apiVersion: event-router.vmware.com/v1alpha1',
      'apiVersion: event-router.vmware.com/v1alpha2',
      /\/apiVersion: expected "event-router.vmware.com\/v1alpha1"/,
    ],
    ['kind', 'kind: RouterConfig', 'kind: RouterConfiguration', /\/kind: expected "RouterConfig"/],
    [
      'metadata.name',
      '  name: router-config-vcenter-openfaas\n',
      '',
      /\/metadata: missing required key "name"/,
    ],
    [
      'eventProvider.type horizon',
      'type: vcenter',
      'type: horizon\n  horizon:\n    address: https://api.myhorizon.corp.local\n    insecureSSL: false',
      /\/eventProvider\/type: the horizon event provider is not supported/,
    ],
    [
      'auth.type active_directory',
      '      type: basic_auth\n      basicAuth:\n        username: administrator@vsphere.local\n        password: VcSecret-9f1\n',
      '      type: active_directory\n      activeDirectoryAuth:\n        domain: corp\n        username: a\n        password: VcSecret-9f1\n',
      /\/eventProvider\/vcenter\/auth\/type: auth type "active_directory" is not supported for vCenter/,
    ],
    [
      'certificates.rootCAs, an empty path',
      'metricsProvider:',
      'certificates:\n  rootCAs:\n    - ""\nmetricsProvider:',
      /\/certificates\/rootCAs \(mapped onto the event_log entry, \/options\/root_cas\/0\): must not be empty/,
    ],
    [
      'metricsProvider.type',
      'type: default',
      'type: prometheus',
      /\/metricsProvider\/type: expected "default"/,
    ],
    [
      'openfaas.async',
      '    async: false',
      '    async: sometimes',
      /\/eventProcessor\/openfaas\/async: expected boolean/,
    ],
  ])('%s is rejected with why', (_key, from, to, why) => {
    expect(VC_OPENFAAS).toContain(from);
    const p = problems(VC_OPENFAAS.replace(from, to));
    expect(p).toEqual(expect.arrayContaining([expect.stringMatching(why)]));
    expect(p.join('\n')).not.toContain('VcSecret');
  });

  it('the start (and validate) stop on a misspelled key with "did you mean", exit 1', async () => {
    const file = writeConfig(VC_OPENFAAS.replace('bindAddress: "0.0.0.0:8082"', 'bindAdress: "127.0.0.1:0"'));
    for (const args of [
      ['-config', file],
      ['validate', '-config', file],
    ]) {
      const { code, stderr, stdout } = await runCli(args);
      expect(code).toBe(1);
      expect(stderr + stdout).toContain('unknown key "bindAdress" (did you mean "bindAddress"?)');
      expect(stderr + stdout).not.toContain('VcSecret');
    }
  });

  it('an object that is neither format says what is expected', () => {
    expect(problems('{"streams": []}')).toEqual([
      expect.stringContaining(
        '/: expected array, found an object (the configuration is a JSON array of entries, or a RouterConfig document',
      ),
    ]);
    expect(problems('a: [b')[0]).toMatch(/^not valid JSON or YAML at line 1/);
  });
});
