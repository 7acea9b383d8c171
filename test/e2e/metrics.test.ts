/** Issue 2, item 4: /stats and /metrics count what was delivered; auth; /readyz follows the vCenter. */
import { postEvents, type Simulator } from '../harness/simulator';
import { startStack, waitFor, type RouterProcess, type Stack, routerReady } from '../helpers/e2e';

const creds = { username: 'metrics-admin', password: 'metrics-S3cret!' };
const auth = (u: string, p: string) => ({
  Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64'),
});

let stack: Stack;
let sim: Simulator;
let router: RouterProcess;

beforeAll(async () => {
  stack = await startStack({ metricsAuth: creds });
  ({ sim, router } = stack);
});
afterAll(async () => stack?.stop());

test('/stats has the original expvar shape and counts the delivered events per subject', async () => {
  await postEvents(sim, [
    { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
    { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
    { class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' },
  ]);
  await waitFor('3 events', () => router.stdoutLines.length >= 3);
  const res = await fetch(`${router.metricsUrl}/stats`, { headers: auth(creds.username, creds.password) });
  expect(res.status).toBe(200);
  const stats = (await res.json()) as Record<string, unknown>;
  expect(stats['system.programName']).toBe('vmware-event-router');
  expect(typeof stats['system.numberOfSeconds']).toBe('number');
  expect(typeof stats['system.allLoad']).toBe('number');
  expect(stats.memstats).toEqual(
    expect.objectContaining({ Alloc: expect.any(Number), Sys: expect.any(Number) }),
  );
  const router_ = stats['vmware.event.router.stats'] as Record<string, Record<string, unknown>>;
  expect(router_.vmware_vcenter).toEqual({
    provider_type: 'stream',
    name: sim.url,
    started: expect.any(String),
    events_total: 3,
    events_err: 0,
    events_per_sec: expect.any(Number),
  });
  expect(router_.stdout).toEqual({
    provider_type: 'processor',
    name: 'stdout',
    started: expect.any(String),
    invocations: { VmPoweredOnEvent: 2, VmPoweredOffEvent: 1 },
  });

  const metrics = await (
    await fetch(`${router.metricsUrl}/metrics`, { headers: auth(creds.username, creds.password) })
  ).text();
  expect(metrics).toContain(
    'vmware_event_router_stream_events_total{provider="vmware_vcenter",stream="vmware_vcenter"} 3',
  );
  expect(metrics).toContain(
    'vmware_event_router_processor_invocations_total{processor="stdout",subject="VmPoweredOnEvent"} 2',
  );
  expect(metrics).toContain(
    'vmware_event_router_processor_invocations_total{processor="stdout",subject="VmPoweredOffEvent"} 1',
  );
  expect(metrics).toMatch(/vmware_event_router_delivery_latency_seconds_count\{processor="stdout"\} 3/);
  // the router's own share: reply arrival -> handed to the sink, once per delivered event
  expect(metrics).toMatch(/vmware_event_router_router_latency_seconds_count\{processor="stdout"\} 3/);
  const share = /vmware_event_router_router_latency_seconds_sum\{processor="stdout"\} ([0-9.e-]+)/.exec(
    metrics,
  );
  expect(Number(share?.[1])).toBeGreaterThan(0);
  expect(Number(share?.[1])).toBeLessThan(3 * 5);
  expect(metrics).toMatch(
    /vmware_event_router_stream_seconds_since_last_success\{provider="vmware_vcenter",stream="vmware_vcenter"\} [0-9.]+/,
  );
  expect(metrics).toContain('vmware_event_router_process_resident_memory_bytes');
  expect(metrics).not.toContain(creds.password);
});

test('bad or missing credentials get 401 with the Basic realm header; probes need none', async () => {
  for (const headers of [{}, auth(creds.username, 'wrong'), auth('other', creds.password)]) {
    for (const path of ['/stats', '/metrics']) {
      const res = await fetch(`${router.metricsUrl}${path}`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="Restricted"');
    }
  }
  expect((await fetch(`${router.metricsUrl}/healthz`)).status).toBe(200);
  expect((await fetch(`${router.metricsUrl}/readyz`)).status).toBe(200);
});

test('the metrics server is read-only: another method is 405 with Allow, before any credential is asked', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    for (const headers of [{}, auth(creds.username, creds.password)]) {
      const res = await fetch(`${router.metricsUrl}/metrics`, { method, headers });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
  }
  const head = await fetch(`${router.metricsUrl}/healthz`, { method: 'HEAD' });
  expect(head.status).toBe(200);
});

test('/readyz is false while the vCenter is down, and the router recovers when it is back', async () => {
  await sim.kill();
  await waitFor(
    'readyz 503',
    async () => (await fetch(`${router.metricsUrl}/readyz`)).status === 503,
    30_000,
  );
  const body = (await (await fetch(`${router.metricsUrl}/readyz`)).json()) as {
    checks: Record<string, boolean>;
  };
  expect(body.checks.stream).toBe(false);
  const metrics = await (
    await fetch(`${router.metricsUrl}/metrics`, { headers: auth(creds.username, creds.password) })
  ).text();
  expect(metrics).toContain(
    'vmware_event_router_stream_connected{provider="vmware_vcenter",stream="vmware_vcenter"} 0',
  );
  expect(router.stderr()).toMatch(/vCenter stream interrupted, reconnecting/);
  expect(router.proc.exitCode).toBeNull();

  await sim.restart();
  await routerReady(router, 60_000);
  const before = router.stdoutLines.length;
  await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM0' }]);
  // The restarted simulator starts a new key space (keys from 1 again): the router must not
  // take those small keys for already-delivered events.
  await waitFor('event after restart', () =>
    router
      .events()
      .slice(before)
      .some((e) => e.subject === 'VmPoweredOffEvent'),
  );
  const after = router.events().slice(before);
  expect(Math.min(...after.map((e) => (e.data as { Key: number }).Key))).toBeLessThan(100);
});
