/**
 * `validate -connect`: the file, then each peer it names, one line each, so
 * that an operator can try a config before rolling it out.
 */
import net from 'node:net';
import { about, buildHarness, startSimulator, type Simulator } from '../harness/simulator';
import { metricsEntry, runCli, vcenterEntry, writeConfig } from '../helpers/e2e';
import { KubernetesApi } from '../peers/kubernetes-api';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { CloudEventsReceiver } from '../peers/cloudevents-receiver';
import { startNatsServer } from '../peers/nats';
import { entryFor as eventBridgeEntry, startEndpoint } from '../processor/aws_event_bridge/helpers';

let sim: Simulator;
let gw: OpenFaasGateway;

beforeAll(async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
  gw = await OpenFaasGateway.start();
  gw.deploy({ name: 'fn', annotations: { topic: 'VmPoweredOnEvent' } });
});

afterAll(async () => {
  await gw?.close();
  await sim?.stop();
});

function openfaas(url: string) {
  return {
    type: 'processor',
    provider: 'openfaas',
    address: url,
    auth: { method: 'basic_auth', secret: { ...gw.credentials } },
  };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

test('a good config: every peer ok, exit 0', async () => {
  const file = writeConfig([vcenterEntry(sim), openfaas(gw.url), metricsEntry()]);
  const { code, stdout } = await runCli(['validate', '-config', file, '-connect']);
  expect(stdout).toMatch(/configuration is valid; reaching each peer/);
  expect(stdout).toMatch(
    new RegExp(
      `^ok {4}stream vmware_vcenter ${sim.url}: logged in as "${sim.username}" \\(VMware vCenter Server`,
      'm',
    ),
  );
  expect(stdout).toMatch(new RegExp(`^ok {4}processor openfaas ${gw.url}: ready$`, 'm'));
  expect(code).toBe(0);
});

test('a wrong vCenter password: one FAIL line that says what to fix, exit 1, password not shown', async () => {
  const wrong = 'not-the-Password-42';
  const file = writeConfig([vcenterEntry(sim, wrong), openfaas(gw.url), metricsEntry()]);
  const { code, stdout, stderr } = await runCli(['validate', '-config', file, '-connect']);
  expect(stdout).toMatch(
    /^FAIL {2}stream vmware_vcenter .*InvalidLogin.*check auth\.secret\.username and auth\.secret\.password$/m,
  );
  expect(stdout).toMatch(/^ok {4}processor openfaas/m);
  expect(code).toBe(1);
  expect(stdout + stderr).not.toContain(wrong);
});

/** A FAIL line is one sentence for a person: none of the router's log fields (`retry_in_s=10`). */
function expectPlainSentence(line: string): void {
  expect(line).not.toMatch(/\s[a-z_]+=\S/);
  expect(line).not.toMatch(/dropped|retry_in/);
}

/** `validate -connect` on the simulator's stream and `processor`: exit code and the processor's line. */
async function connectWith(
  processor: unknown,
): Promise<{ code: number | null; line: string; stdout: string }> {
  const file = writeConfig([vcenterEntry(sim), processor, metricsEntry()]);
  const { code, stdout } = await runCli(['validate', '-config', file, '-connect'], 60_000);
  const lines = stdout.trim().split('\n');
  // The header, then one line per entry: the stream, the processor.
  expect(lines).toHaveLength(3);
  expect(lines[1]).toMatch(/^ok {4}stream/);
  return { code, line: lines[2], stdout };
}

test('an unreachable processor: FAIL naming the gateway in one sentence, exit 1', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const { code, line } = await connectWith(openfaas(url));
  expect(line).toMatch(new RegExp(`^FAIL {2}processor openfaas ${url}: .*${url.replace(/\./g, '\\.')}`));
  expectPlainSentence(line);
  expect(code).toBe(1);
});

describe('every processor kind ends with its line and the right exit code', () => {
  test('aws_event_bridge, endpoint unreachable: FAIL saying ListRules failed, exit 1', async () => {
    // An endpoint that answered once and is gone: its port refuses connections.
    const gone = await startEndpoint();
    const entry = eventBridgeEntry(gone);
    await gone.close();
    const { code, line } = await connectWith(entry);
    expect(line).toMatch(
      /^FAIL {2}processor aws_event_bridge: ListRules failed for rule arn:aws:events:.*ECONNREFUSED/,
    );
    expectPlainSentence(line);
    expect(code).toBe(1);
  });

  test('aws_event_bridge, endpoint with the rule: ok, exit 0, the secret key not shown', async () => {
    const ep = await startEndpoint();
    try {
      const { code, line, stdout } = await connectWith(eventBridgeEntry(ep));
      expect(line).toBe('ok    processor aws_event_bridge: ready');
      expect(stdout).not.toContain(ep.credentials.values().next().value as string);
      expect(code).toBe(0);
    } finally {
      await ep.close();
    }
  });

  test('knative, nothing listening: FAIL naming the refused connection, exit 1', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/broker`;
    const { code, line } = await connectWith({
      type: 'processor',
      provider: 'knative',
      address: url,
      auth: { method: 'none' },
    });
    expect(line).toMatch(new RegExp(`^FAIL {2}processor knative ${url}: .*ECONNREFUSED`));
    expectPlainSentence(line);
    expect(code).toBe(1);
  });

  test('knative, a destination that listens: ok, exit 0', async () => {
    const receiver = await CloudEventsReceiver.start();
    try {
      const { code, line } = await connectWith({
        type: 'processor',
        provider: 'knative',
        address: receiver.url,
        auth: { method: 'none' },
      });
      expect(line).toBe(`ok    processor knative ${receiver.url}: destination accepts connections`);
      expect(code).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  const natsEntry = (url: string) => ({
    type: 'processor',
    provider: 'nats_jetstream',
    address: url,
    auth: { method: 'none' },
    options: { stream: 'CONNECT_CHECK', create_stream: 'true', subject_prefix: 'vsphere.events' },
  });

  test('nats_jetstream, no server: FAIL saying it could not connect, exit 1', async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const { code, line } = await connectWith(natsEntry(url));
    expect(line).toMatch(new RegExp(`^FAIL {2}processor nats_jetstream ${url}: .*could not connect`));
    expectPlainSentence(line);
    expect(code).toBe(1);
  });

  test('nats_jetstream, a JetStream server: ok, exit 0', async () => {
    const server = await startNatsServer();
    try {
      const { code, line } = await connectWith(natsEntry(server.url));
      expect(line).toMatch(new RegExp(`^ok {4}processor nats_jetstream ${server.url}: `));
      expect(code).toBe(0);
    } finally {
      await server.dispose();
    }
  });

  test('event_stream, its address taken by another server: FAIL, exit 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(taken.address() as net.AddressInfo).port}`;
    try {
      const { code, line } = await connectWith({
        type: 'processor',
        provider: 'event_stream',
        address,
        auth: { method: 'none' },
      });
      expect(line).toMatch(new RegExp(`^FAIL {2}processor event_stream ${address}: `));
      expectPlainSentence(line);
      expect(code).toBe(1);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  test('event_stream, a free address: ok, exit 0', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const { code, line } = await connectWith({
      type: 'processor',
      provider: 'event_stream',
      address,
      auth: { method: 'none' },
    });
    expect(line).toBe(`ok    processor event_stream ${address}: ready`);
    expect(code).toBe(0);
  });

  test('stdout: ok, exit 0', async () => {
    const { code, line } = await connectWith({ type: 'processor', provider: 'stdout' });
    expect(line).toBe('ok    processor stdout: ready');
    expect(code).toBe(0);
  });
});

test('without -connect, validate says it checked the file only', async () => {
  const file = writeConfig([vcenterEntry(sim), openfaas(gw.url), metricsEntry()]);
  const { code, stdout } = await runCli(['validate', '-config', file]);
  expect(stdout).toMatch(/configuration is valid \(the file only; -connect also reaches each peer\)/);
  expect(code).toBe(0);
});

describe('with a coordination entry, the store is reached too', () => {
  let api: KubernetesApi;
  beforeAll(async () => {
    api = await KubernetesApi.start({ tokens: ['connect-token'] });
  });
  afterAll(async () => {
    await api?.stop();
  });
  const coordination = (token: string) => ({
    type: 'coordination',
    provider: 'kubernetes',
    address: api.url,
    auth: { method: 'bearer', secret: { token } },
    options: { namespace: 'default', identity: 'replica-0' },
  });

  test('a reachable store: ok, with the identity this replica would use', async () => {
    const file = writeConfig([
      { ...vcenterEntry(sim), name: 'vc' },
      openfaas(gw.url),
      metricsEntry(),
      coordination('connect-token'),
    ]);
    const { code, stdout } = await runCli(['validate', '-config', file, '-connect']);
    expect(stdout).toMatch(
      new RegExp(
        `^ok {4}coordination kubernetes ${api.url}: Kubernetes API .* answers; this replica's identity is "replica-0"$`,
        'm',
      ),
    );
    expect(code).toBe(0);
  });

  test('a token the API server rejects: FAIL saying so, the token not shown', async () => {
    const wrong = 'Wr0ng-T0ken-77';
    const file = writeConfig([
      { ...vcenterEntry(sim), name: 'vc' },
      openfaas(gw.url),
      metricsEntry(),
      coordination(wrong),
    ]);
    const { code, stdout, stderr } = await runCli(['validate', '-config', file, '-connect']);
    expect(stdout).toMatch(/^FAIL {2}coordination kubernetes .*rejected the configured token/m);
    expect(stdout + stderr).not.toContain(wrong);
    expect(code).toBe(1);
  });
});
