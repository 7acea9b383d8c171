/**
 * A processor whose destination nothing listens on: its failures are in /stats (from the same
 * counter /metrics renders) and, as long as nothing got through since the start, /readyz's
 * details say so with the last failure. The router itself keeps running and stays ready.
 */
import net from 'node:net';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  routerReady,
  startRouterProcess,
  vcenterEntry,
  waitFor,
  type RouterProcess,
} from '../helpers/e2e';

let sim: Simulator;
let router: RouterProcess | undefined;

beforeAll(async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
});

afterAll(async () => {
  await router?.stop();
  await sim?.stop();
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

test('a Knative destination nothing listens on: failures in /stats and /readyz details', async () => {
  const destination = `http://127.0.0.1:${await closedPort()}/broker`;
  router = await startRouterProcess([
    vcenterEntry(sim),
    {
      type: 'processor',
      provider: 'knative',
      name: 'broker',
      address: destination,
      auth: { method: 'none' },
      options: { retries: '0' },
    },
    metricsEntry(),
  ]);
  // The stream follows from "now": post once it is connected.
  await routerReady(router);
  await postEvents(sim, [
    { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
    { class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' },
  ]);
  const url = router.metricsUrl;
  const processorStats = async () =>
    (
      (await (await fetch(`${url}/stats`)).json()) as {
        'vmware.event.router.stats': Record<
          string,
          { invocations: object; failures?: Record<string, number> }
        >;
      }
    )['vmware.event.router.stats'].knative; // keyed by provider, as the original's page
  await waitFor('both failures counted in /stats', async () => {
    const f = (await processorStats()).failures ?? {};
    return f.VmPoweredOnEvent === 1 && f.VmPoweredOffEvent === 1;
  });
  expect((await processorStats()).invocations).toEqual({});

  // /stats and /metrics count the same failures.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain(
    'vmware_event_router_processor_errors_total{processor="broker",subject="VmPoweredOnEvent"} 1',
  );

  const readyz = await fetch(`${url}/readyz`);
  const body = (await readyz.json()) as { details: { processors: Record<string, Record<string, unknown>> } };
  expect(body.details.processors.broker).toMatchObject({
    ready: true,
    provider: 'knative',
    failing_since_start: true,
    failed_deliveries: 2,
    last_failure: expect.stringContaining(destination.replace('/broker', '')),
  });
  expect(readyz.status).toBe(200);
});
