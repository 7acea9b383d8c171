/**
 * SIGTERM while an OpenFaaS gateway hangs with the in-flight window full and
 * the event log holding more: one deadline (10 s) covers the whole stop, so
 * the router exits 0 long before Kubernetes' 30 s grace period ends.
 */
import { burst } from '../harness/simulator';
import { metricsEntry, startRouterProcess, vcenterEntry, waitFor, type RouterProcess } from '../helpers/e2e';
import { about, buildHarness, startSimulator, type Simulator } from '../harness/simulator';
import { OpenFaasGateway } from '../peers/openfaas-gateway';

let sim: Simulator;
let gw: OpenFaasGateway;
let router: RouterProcess | undefined;

afterAll(async () => {
  await router?.stop('SIGKILL');
  await gw?.close();
  await sim?.stop();
});

test('a hanging gateway and a full in-flight window: exit 0 within the stop deadline', async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
  gw = await OpenFaasGateway.start();
  // The function never answers within the test.
  gw.deploy({ name: 'hang', annotations: { topic: 'VmPoweredOnEvent' }, latencyMs: 300_000 });
  router = await startRouterProcess([
    vcenterEntry(sim),
    {
      type: 'processor',
      provider: 'openfaas',
      address: gw.url,
      auth: { method: 'basic_auth', secret: { ...gw.credentials } },
      options: { max_in_flight: '2', topic_refresh_interval: '1' },
    },
    metricsEntry(),
  ]);
  await waitFor('ready', async () => (await fetch(`${router!.metricsUrl}/readyz`)).ok);
  await burst(sim, 'VmPoweredOnEvent', 20);
  await waitFor('the in-flight window is full at the gateway', () => gw.concurrency('hang').open === 2);

  const t0 = Date.now();
  const code = await router.stop('SIGTERM');
  const seconds = (Date.now() - t0) / 1000;
  console.log(`SIGTERM to exit with a hanging gateway: ${seconds.toFixed(1)} s`);
  expect(code).toBe(0);
  // Kubernetes sends SIGKILL 30 s after SIGTERM: the router must be gone before.
  expect(seconds).toBeLessThan(30);
  expect(router.stderr()).toMatch(/deliveries still in flight at the stop deadline: abandoned/);
  expect(router.stderr()).toMatch(/collector destroyed and logged out of vCenter/);
  // No invocation was started after the signal: only the two of the full window ever reached it.
  expect(gw.invocationsOf('hang')).toHaveLength(2);
  router = undefined;
});
