/**
 * `validate -connect`: the file, then each peer it names, one line each, so
 * that an operator can try a config before rolling it out.
 */
import net from 'node:net';
import { about, buildHarness, startSimulator, type Simulator } from '../harness/simulator';
import { metricsEntry, runCli, vcenterEntry, writeConfig } from '../helpers/e2e';
import { KubernetesApi } from '../peers/kubernetes-api';
import { OpenFaasGateway } from '../peers/openfaas-gateway';

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

test('an unreachable processor: FAIL naming the gateway, exit 1', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const file = writeConfig([vcenterEntry(sim), openfaas(url), metricsEntry()]);
  const { code, stdout } = await runCli(['validate', '-config', file, '-connect']);
  expect(stdout).toMatch(/^ok {4}stream/m);
  expect(stdout).toMatch(
    new RegExp(`^FAIL {2}processor openfaas ${url}: .*${url.replace(/\./g, '\\.')}`, 'm'),
  );
  expect(code).toBe(1);
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
