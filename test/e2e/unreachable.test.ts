/**
 * Issue 2: a vCenter that is unreachable when the router starts is retried
 * with capped backoff (not a fatal error), shown in /readyz, the metrics and
 * the logs; once it answers, the router follows its events.
 */
import net from 'node:net';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  stdoutEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let router: RouterProcess | undefined;
let sim: Simulator | undefined;

afterAll(async () => {
  await router?.stop();
  await sim?.stop();
});

test('the router waits for a vCenter that is not there yet, then follows it', async () => {
  buildHarness();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/sdk`;
  router = await startRouterProcess([
    {
      type: 'stream',
      provider: 'vmware_vcenter',
      address: url,
      auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
      options: { call_timeout: '3', max_backoff: '1' },
    },
    stdoutEntry,
    metricsEntry(),
  ]);
  await waitFor(
    'two failed attempts in the log',
    () => (router!.stderr().match(/reconnecting/g) ?? []).length >= 2,
  );
  expect(router.stderr()).toMatch(/ECONNREFUSED/);
  expect(router.proc.exitCode).toBeNull();
  const ready = await fetch(`${router.metricsUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { checks: Record<string, boolean> }).checks.stream).toBe(false);
  const metrics = await (await fetch(`${router.metricsUrl}/metrics`)).text();
  expect(metrics).toContain(
    'vmware_event_router_stream_connected{provider="vmware_vcenter",stream="vmware_vcenter"} 0',
  );
  expect(metrics).toMatch(
    /vmware_event_router_stream_reconnects_total\{provider="vmware_vcenter",stream="vmware_vcenter",reason="unreachable"\} [1-9]/,
  );

  sim = await startSimulator({ port });
  await about(sim);
  await routerReady(router!, 30_000);
  await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
  await waitFor('the event', () => router!.events().some((e) => e.subject === 'VmPoweredOnEvent'), 30_000);
});
