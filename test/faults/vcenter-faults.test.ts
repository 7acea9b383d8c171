/**
 * Issue 5: the vCenter side failing in the ways real ones do. Each test runs
 * the compiled router against the govmomi simulator, through a proxy that
 * injects the fault, and checks that nothing crashes, nothing is lost or
 * duplicated, and the failure is logged and counted.
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
  startStack,
  stdoutEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';
import { expectExactlyOnce, keyOf, metricValue } from '../helpers/stream-faults';
import { FaultyVCenterProxy, type Fault } from '../peers/faulty-vcenter-proxy';

const vm = 'vm:DC0_H0_VM0';

function streamEntry(url: string, sim: Simulator, callTimeout = '3') {
  return {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: url,
    auth: { method: 'user_password', secret: { username: sim.username, password: sim.password } },
    options: { call_timeout: callTimeout, max_backoff: '1' },
  };
}

describe('through a fault-injecting proxy', () => {
  let sim: Simulator;
  let proxy: FaultyVCenterProxy;
  let router: RouterProcess;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    proxy = new FaultyVCenterProxy(new URL(sim.url));
    await proxy.start();
    router = await startRouterProcess([streamEntry(proxy.url, sim), stdoutEntry, metricsEntry()]);
    await routerReady(router);
  });

  afterAll(async () => {
    await router?.stop();
    await proxy?.stop();
    await sim?.stop();
  });

  const faults: Array<[string, Fault]> = [
    ['HTTP 500 without a SOAP body', { kind: 'http500' }],
    ['a SOAP fault', { kind: 'soapFault', faultType: 'SystemError', message: 'vpxd is restarting' }],
    ['a truncated body', { kind: 'truncate' }],
    ['a malformed body', { kind: 'malformed' }],
    ['a stalled reply (the call times out)', { kind: 'stall' }],
  ];

  test.each(faults)('%s: retried, counted, and no event lost or duplicated', async (_name, fault) => {
    const errorsBefore = await metricValue(
      router,
      /stream_call_errors_total\{provider="vmware_vcenter",stream="vmware_vcenter",method="WaitForUpdatesEx"\} (\d+)/,
    );
    const before = router.events().length;
    proxy.inject('WaitForUpdatesEx', fault, 2);
    await postEvents(sim, [
      { class: 'VmPoweredOnEvent', entities: vm },
      { class: 'VmPoweredOffEvent', entities: vm },
    ]);
    await waitFor(
      'the faults to be injected',
      () => proxy.injected.filter((i) => i.kind === fault.kind).length >= 2,
      30_000,
    );
    await postEvents(sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
    const ref = [...(await referenceEvents(sim)).values()].filter((r) =>
      ['VmPoweredOnEvent', 'VmPoweredOffEvent', 'VmSuspendedEvent'].includes(r.class),
    );
    const postedKeys = ref.slice(-3).map((r) => (r.json as { Key: number }).Key);
    await waitFor(
      'the 3 events posted around the fault',
      () => postedKeys.every((k) => router.events().some((e) => keyOf(e) === k)),
      60_000,
    );
    expect(router.events().length).toBeGreaterThanOrEqual(before + 3);
    expectExactlyOnce(router, postedKeys);
    expect(router.proc.exitCode).toBeNull();
    expect(
      await metricValue(
        router,
        /stream_call_errors_total\{provider="vmware_vcenter",stream="vmware_vcenter",method="WaitForUpdatesEx"\} (\d+)/,
      ),
    ).toBeGreaterThanOrEqual(errorsBefore + 1);
    expect(router.stderr()).toMatch(/vCenter stream interrupted, reconnecting/);
  });

  test('an event class the vim25 model does not know is delivered, converted generically, and counted', async () => {
    const from = 'type="VmResettingEvent"';
    const to = 'type="VmQuantumTeleportedEvent"';
    proxy.inject('WaitForUpdatesEx', { kind: 'rewrite', from, to }, 1000);
    proxy.inject('RetrievePropertiesEx', { kind: 'rewrite', from, to }, 1000);
    await postEvents(sim, [{ class: 'VmResettingEvent', entities: vm }]);
    await waitFor('the unknown event', () =>
      router.events().some((e) => e.subject === 'VmQuantumTeleportedEvent'),
    );
    const ev = router.events().find((e) => e.subject === 'VmQuantumTeleportedEvent')!;
    const ref = [...(await referenceEvents(sim)).values()].find((r) => r.class === 'VmResettingEvent')!;
    expect(ev.type).toBe('com.vmware.event.router/event');
    const data = ev.data as Record<string, unknown>;
    const govmomi = ref.json as Record<string, unknown>;
    // The Event base fields are typed as govmomi types them.
    for (const f of [
      'Key',
      'ChainId',
      'CreatedTime',
      'UserName',
      'Datacenter',
      'Host',
      'Vm',
      'FullFormattedMessage',
    ]) {
      expect(data[f]).toEqual(govmomi[f]);
    }
    expect(
      await metricValue(
        router,
        /stream_unknown_event_classes_total\{provider="vmware_vcenter",stream="vmware_vcenter",class="VmQuantumTeleportedEvent"\} (\d+)/,
      ),
    ).toBe(1);
    expect(router.stderr()).toMatch(/event class unknown to the vim25 model.*VmQuantumTeleportedEvent/);
  });
});

describe('session expiry', () => {
  let sim: Simulator;
  let router: RouterProcess;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator({ sessionIdleTimeout: '1s' });
    await about(sim);
    // call_timeout 10 s: WaitForUpdatesEx waits 5 s, longer than the idle timeout.
    router = await startRouterProcess([streamEntry(sim.url, sim, '10'), stdoutEntry, metricsEntry()]);
    await routerReady(router);
  });

  afterAll(async () => {
    await router?.stop();
    await sim?.stop();
  });

  test('an expired session is logged in again transparently; events posted meanwhile are not lost', async () => {
    await waitFor(
      'the session to expire and be renewed',
      () => /vCenter session expired, logging in again/.test(router.stderr()),
      30_000,
    );
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: vm }]);
    await new Promise((r) => setTimeout(r, 3000));
    await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: vm }]);
    await waitFor(
      'both events',
      () =>
        ['VmPoweredOnEvent', 'VmPoweredOffEvent'].every((s) => router.events().some((e) => e.subject === s)),
      60_000,
    );
    const ref = [...(await referenceEvents(sim)).values()].filter((r) => r.class.startsWith('VmPowered'));
    expectExactlyOnce(
      router,
      ref.slice(-2).map((r) => (r.json as { Key: number }).Key),
    );
    expect(router.proc.exitCode).toBeNull();
    expect(
      await metricValue(
        router,
        /stream_reconnects_total\{provider="vmware_vcenter",stream="vmware_vcenter",reason="session_expired"\} (\d+)/,
      ),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('a vCenter restart mid-stream', () => {
  test('the router logs in again without exiting, /readyz is false in between, the new key space is followed', async () => {
    const stack = await startStack({ stream: (sim) => streamEntry(sim.url, sim) });
    const { sim, router } = stack;
    try {
      await burst(sim, 'VmPoweredOnEvent', 200, 4);
      await waitFor('200 events', () => router.events().length >= 200);
      await new Promise((r) => setTimeout(r, 500));
      expect(router.events().filter((e) => e.subject === 'VmPoweredOnEvent')).toHaveLength(200);
      const lastKeyBefore = keyOf(router.events().at(-1)!);
      await sim.kill();
      await waitFor(
        'readyz 503',
        async () => (await fetch(`${router.metricsUrl}/readyz`)).status === 503,
        30_000,
      );
      await sim.restart();
      await routerReady(router, 60_000);
      await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: vm }]);
      await waitFor(
        'the event after the restart',
        () => router.events().some((e) => e.subject === 'VmPoweredOffEvent'),
        30_000,
      );
      const off = router.events().find((e) => e.subject === 'VmPoweredOffEvent')!;
      expect(keyOf(off)).toBeLessThan(lastKeyBefore); // a new key space, not mistaken for old events
      // The restarted simulator's own start-up events come after the last delivered one: delivered too.
      expect(router.events().filter((e) => e.subject === 'VmPoweredOnEvent').length).toBeGreaterThanOrEqual(
        200,
      );
      expect(router.proc.exitCode).toBeNull();
    } finally {
      await stack.stop();
    }
  });
});

describe('large and unusual events', () => {
  test('a > 1 MB VmReconfiguredEvent and names with non-ASCII and XML-special characters arrive intact', async () => {
    const stack = await startStack({ stream: (sim) => streamEntry(sim.url, sim, '10') });
    const { sim, router } = stack;
    try {
      const annotation = 'Grüße <vm> & "quotes" \'apos\' 日本語 😀 \t'.repeat(30_000);
      expect(Buffer.byteLength(annotation)).toBeGreaterThan(1_000_000);
      await postEvents(sim, [
        {
          class: 'VmReconfiguredEvent',
          fields: { ConfigSpec: { Name: 'big', Annotation: annotation } },
          entities: vm,
        },
        {
          class: 'VmPoweredOnEvent',
          fields: { Vm: { Name: 'ünïcødé <&> "vm"', Vm: { Type: 'VirtualMachine', Value: 'vm-57' } } },
        },
      ]);
      await waitFor('both events', () => router.events().length >= 2, 60_000);
      const ref = await referenceEvents(sim);
      for (const e of router.events()) {
        const want = ref.get(keyOf(e))!.json as { ConfigSpec?: { Annotation: string } };
        if (want.ConfigSpec) {
          // Compare the 1 MB string apart first: a failure then shows where it differs, not 2 MB of text.
          const got = (e.data as { ConfigSpec: { Annotation: string } }).ConfigSpec.Annotation;
          const wanted = want.ConfigSpec.Annotation;
          let at = -1;
          for (let i = 0; i < Math.max(got.length, wanted.length); i++) {
            if (got[i] !== wanted[i]) {
              at = i;
              break;
            }
          }
          expect({
            at,
            len: got.length,
            near: JSON.stringify(got.slice(Math.max(0, at - 5), at + 5)),
          }).toEqual({
            at: -1,
            len: wanted.length,
            near: JSON.stringify(got.slice(Math.max(0, at - 5), at + 5)),
          });
        }
        expect(e.data).toEqual(want);
      }
      const big = router.events().find((e) => e.subject === 'VmReconfiguredEvent')!;
      expect((big.data as { ConfigSpec: { Annotation: string } }).ConfigSpec.Annotation).toBe(annotation);
    } finally {
      await stack.stop();
    }
  });
});

describe('shutdown', () => {
  test('SIGTERM during a burst: exit 0, collector destroyed and session logged out, no partial output', async () => {
    const stack = await startStack({
      simulator: { trace: true },
      stream: (sim) => streamEntry(sim.url, sim),
    });
    const { sim, router } = stack;
    try {
      // A slow consumer: nobody reads the router's stdout for now, so after a pipe-full of
      // events its delivery blocks, in flight, in the middle of the burst.
      router.proc.stdout!.pause();
      // The burst is complete before SIGTERM: govmomi's simulator can deadlock when
      // DestroyCollector races PostEvent (lock-order inversion between the collector
      // and the EventManager).
      await burst(sim, 'VmPoweredOnEvent', 1000, 4);
      await new Promise((r) => setTimeout(r, 500));
      const stopped = router.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      router.proc.stdout!.resume();
      const code = await stopped;
      // Delivery was blocked when SIGTERM came; what the router had read by then (held in its
      // event log) is delivered before it exits, within the stop deadline: some, at most the burst.
      expect(router.events().length).toBeGreaterThan(0);
      expect(router.events().length).toBeLessThanOrEqual(1000);
      expect(code).toBe(0);
      expect(router.stderr()).toMatch(/collector destroyed and logged out of vCenter/);
      expect(sim.stderr()).toMatch(/DestroyCollector/);
      expect(sim.stderr()).toMatch(/Logout/);
      const keys = router.events().map(keyOf); // every line parses: no partial event
      for (let i = 1; i < keys.length; i++) expect(keys[i]).toBe(keys[i - 1] + 1);
    } finally {
      await stack.stop();
    }
  });
});
