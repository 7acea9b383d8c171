/**
 * A least-privilege service account: its vCenter's collector skips the
 * events it may not see, so its event keys have gaps, some longer than a
 * page. And a vCenter whose int32 keys wrap past 2^31 − 1. In both, every
 * visible event is delivered once and in order, nothing is reported lost, the
 * stream does not stall, and the watchdog does not take invisible events for
 * a stuck stream.
 *
 * The simulator behind a proxy (test/peers/faulty-vcenter-proxy.ts) plays
 * that vCenter: it hides events by class from the router's user, or shifts
 * every key by an offset.
 */
import {
  about,
  buildHarness,
  burst,
  postEvents,
  referenceEvents,
  startSimulator,
  type Simulator,
} from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  stdoutEntry,
  waitFor,
  routerReady,
  type RouterProcess,
} from '../helpers/e2e';
import { keyOf, metricValue } from '../helpers/stream-faults';
import { FaultyVCenterProxy } from '../peers/faulty-vcenter-proxy';

const vm = 'vm:DC0_H0_VM0';
const HIDDEN_CLASS = 'VmReconfiguredEvent';
const INT32_MAX = 2 ** 31 - 1;

const counter = (name: string) =>
  new RegExp(`vmware_event_router_${name}\\{provider="vmware_vcenter",stream="vmware_vcenter"\\} (\\d+)`);

function streamEntry(url: string, sim: Simulator, options: Record<string, string>) {
  return {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: url,
    auth: { method: 'user_password', secret: { username: sim.username, password: sim.password } },
    // call_timeout 4 s: WaitForUpdatesEx waits 2 s; the watchdog reads between waits.
    options: { call_timeout: '4', max_backoff: '1', watchdog_interval: '1', ...options },
  };
}

/** Keys in serial (int32) order, each after the one before. */
function expectSerialOrder(keys: number[]): void {
  for (let i = 1; i < keys.length; i++) expect((keys[i] - keys[i - 1]) | 0).toBeGreaterThan(0);
}

describe('through a proxy that hides events or shifts keys', () => {
  let sim: Simulator;
  let proxy: FaultyVCenterProxy;
  let router: RouterProcess | undefined;

  beforeEach(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    proxy = new FaultyVCenterProxy(new URL(sim.url));
    await proxy.start();
    await proxy.record(sim.username, sim.password);
  });

  afterEach(async () => {
    await router?.stop();
    router = undefined;
    await proxy?.stop();
    await sim?.stop();
  });

  test('1,500 consecutive hidden events: every visible one delivered once, counted hidden, not lost', async () => {
    proxy.setView({ hide: (e) => e.type === HIDDEN_CLASS });
    router = await startRouterProcess([
      streamEntry(proxy.url, sim, { page_size: '100' }),
      stdoutEntry,
      metricsEntry(),
    ]);
    await routerReady(router);
    const r = router;
    const powered = () => r.events().filter((e) => e.subject === 'VmPoweredOnEvent');

    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: vm }]);
    await waitFor('the first visible event', () => powered().length === 1);
    // 1,500 in a row, in three bursts: the proxy records the simulator's 1,000-event ring between them.
    for (let i = 0; i < 3; i++) {
      await burst(sim, HIDDEN_CLASS, 500, 4);
      await proxy.sync();
    }
    // More visible events than a page: the page is all new and the history behind it is read.
    await burst(sim, 'VmPoweredOnEvent', 150, 4);
    await waitFor('the 151 visible events', () => powered().length === 151, 60_000).catch((err: Error) => {
      throw new Error(
        `${err.message} (${powered().length} delivered)\n${r.stderr().slice(-3000)}\n${proxy.methods.slice(-40).join(' ')}`,
      );
    });

    const visible = [...(await referenceEvents(sim)).values()].filter((e) => e.class === 'VmPoweredOnEvent');
    const keys = r.events().map(keyOf);
    expect(new Set(keys).size).toBe(keys.length);
    expectSerialOrder(keys);
    for (const e of visible.slice(-150)) expect(keys).toContain((e.json as { Key: number }).Key);
    expect(r.events().some((e) => e.subject === HIDDEN_CLASS)).toBe(false);
    expect(r.stderr()).not.toMatch(/events were lost/);
    expect(await metricValue(r, counter('stream_events_missed_total'))).toBe(0);
    expect(await metricValue(r, counter('stream_events_hidden_total'))).toBe(1500);
    expect(r.stderr()).toMatch(/the vCenter's collector skips event keys/);

    // The vCenter's newest event is one the user may not see: the watchdog looks (a probe
    // collector is created and destroyed) and lets it be.
    const methodsBefore = proxy.methods.length;
    await burst(sim, HIDDEN_CLASS, 20, 4);
    await waitFor(
      "the watchdog's look at the hidden newest event",
      () => proxy.methods.slice(methodsBefore).includes('DestroyCollector'),
      30_000,
    );
    const readsAfterLook = proxy.methods.length;
    await waitFor('two more watchdog reads', () => proxy.methods.length >= readsAfterLook + 4, 30_000);
    expect(await metricValue(r, counter('stream_watchdog_recoveries_total'))).toBe(0);
    expect(r.stderr()).not.toMatch(/watchdog:/);
    const ready = await fetch(`${r.metricsUrl}/readyz`);
    expect(ready.status).toBe(200);

    // No stall: the next visible event arrives, and the 20 keys before it are hidden too.
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: vm }]);
    await waitFor('the visible event after the hidden ones', () => powered().length === 152, 30_000);
    expect(await metricValue(r, counter('stream_events_hidden_total'))).toBe(1520);
    expect(await metricValue(r, counter('stream_events_missed_total'))).toBe(0);
  });

  test('keys wrapping past 2^31 − 1: delivered once, in serial order, no false "lost"', async () => {
    const newest = Math.max(...(await referenceEvents(sim)).keys());
    // The router's login event and two more come before the wrap, the rest after it.
    const offset = INT32_MAX - newest - 3;
    let hiddenKey = Infinity;
    proxy.setView({ keyOffset: offset, hide: (e) => e.key === hiddenKey });
    router = await startRouterProcess([streamEntry(proxy.url, sim, {}), stdoutEntry, metricsEntry()]);
    await routerReady(router);
    const r = router;
    const powered = () => r.events().filter((e) => e.subject === 'VmPoweredOnEvent');

    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: vm }]);
    await waitFor('the first event', () => powered().length === 1);
    const firstSimKey = Math.max(...(await referenceEvents(sim)).keys());
    // One event at the wrap is hidden from the user: a gap across the wrap, not a loss.
    hiddenKey = firstSimKey + 2;
    await postEvents(
      sim,
      Array.from({ length: 10 }, () => ({ class: 'VmPoweredOnEvent', entities: vm })),
    );
    await waitFor('the 9 visible events', () => powered().length === 10, 60_000);

    const keys = powered().map(keyOf);
    expect(keys).toEqual(
      Array.from({ length: 11 }, (_, i) => proxy.routerKey(firstSimKey + i)).filter(
        (k) => k !== proxy.routerKey(hiddenKey),
      ),
    );
    expect(keys.some((k) => k < 0) && keys.some((k) => k > INT32_MAX - 10)).toBe(true);
    const all = r.events().map(keyOf);
    expect(new Set(all).size).toBe(all.length);
    expectSerialOrder(all);
    expect(r.stderr()).not.toMatch(/events were lost/);
    expect(await metricValue(r, counter('stream_events_missed_total'))).toBe(0);
    expect(await metricValue(r, counter('stream_events_hidden_total'))).toBe(1);
    expect(await metricValue(r, counter('stream_watchdog_recoveries_total'))).toBe(0);
  });
});
