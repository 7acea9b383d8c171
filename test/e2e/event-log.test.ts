/**
 * The event log between the streams and the processors: several processors,
 * each with its own content filter and its own pace; several vCenters in one
 * router, each with its own source and ids.
 */
import { burst, postEvents, referenceEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  startRouterInProcess,
  startRouterProcess,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type InProcessRouter,
  type RouterProcess,
} from '../helpers/e2e';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { entryFor, startEndpoint } from '../processor/aws_event_bridge/helpers';
import { about, buildHarness } from '../harness/simulator';
import { eventId } from '../../src/events/cloudevent';

const VM = 'vm:DC0_H0_VM0';
const idOf = (body: unknown): string => (body as { id: string }).id;
const keyOf = (e: Record<string, unknown>): number => (e.data as { Key: number }).Key;

function openfaasEntry(gw: OpenFaasGateway, name: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'processor',
    provider: 'openfaas',
    name,
    address: gw.url,
    auth: { method: 'basic_auth', secret: { ...gw.credentials } },
    options: { topic_refresh_interval: '1' },
    ...extra,
  };
}

describe('processors with their own filters', () => {
  let sim: Simulator;
  let gw: OpenFaasGateway;
  let ep: Awaited<ReturnType<typeof startEndpoint>>;
  let r: InProcessRouter;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    gw = await OpenFaasGateway.start();
    gw.deploy({ name: 'power', annotations: { topic: 'VmPoweredOnEvent,VmPoweredOffEvent' } });
    ep = await startEndpoint();
    r = await startRouterInProcess({
      streams: [vcenterEntry(sim)],
      processors: [
        // OpenFaaS gets only power-on events of VMs whose name starts with DC0_H0.
        openfaasEntry(gw, 'faas', {
          filter: { subject: ['VmPoweredOnEvent'], data: { Vm: { Name: [{ prefix: 'DC0_H0' }] } } },
        }),
        // EventBridge (whose rule takes on and off) gets only what the filter leaves: power-off.
        { ...entryFor(ep), name: 'bus', filter: { subject: [{ 'anything-but': 'VmPoweredOnEvent' }] } },
      ],
      metrics: metricsEntry(),
    });
    await waitFor('stream and processors ready', async () => (await fetch(`${r.metricsUrl}/readyz`)).ok);
  });

  afterAll(async () => {
    await r?.stop();
    await gw?.close();
    await ep?.close();
    await sim?.stop();
  });

  test('each peer gets exactly the events its filter matches, once; filtered events are counted', async () => {
    const specs = [
      { class: 'VmPoweredOnEvent', entities: VM },
      { class: 'VmPoweredOffEvent', entities: VM },
      { class: 'VmPoweredOnEvent', entities: VM },
      { class: 'VmCreatedEvent', entities: VM },
      { class: 'VmPoweredOffEvent', entities: VM },
    ];
    await postEvents(sim, specs);
    const posted = [...(await referenceEvents(sim)).values()].slice(-5);
    expect(posted.map((e) => e.class)).toEqual(specs.map((s) => s.class));

    await waitFor('OpenFaaS got the power-on events', () => gw.delivered('power').length >= 2);
    await waitFor('EventBridge got the power-off events', () => ep.entries.length >= 2);
    // Wait for the last event to be accounted by both processors before reading the counters.
    await waitFor('both processors settled all five', async () => {
      const m = await (await fetch(`${r.metricsUrl}/metrics`)).text();
      return (
        /processor_filtered_total\{processor="faas"\} 3/.test(m) &&
        /processor_filtered_total\{processor="bus"\} 2/.test(m)
      );
    });

    const faasSubjects = gw.delivered('power').map((i) => (i.body as { subject: string }).subject);
    expect(faasSubjects).toEqual(['VmPoweredOnEvent', 'VmPoweredOnEvent']);
    const busSubjects = ep.entries.map((e) => e.DetailType);
    expect(busSubjects).toEqual(['VmPoweredOffEvent', 'VmPoweredOffEvent']);
    // Once each.
    expect(new Set(gw.delivered('power').map((i) => idOf(i.body))).size).toBe(2);
    expect(new Set(ep.entries.map((e) => idOf(JSON.parse(e.Detail)))).size).toBe(2);

    const metrics = await (await fetch(`${r.metricsUrl}/metrics`)).text();
    expect(metrics).toContain(
      'vmware_event_router_processor_invocations_total{processor="faas",subject="VmPoweredOnEvent"} 2',
    );
    expect(metrics).toContain(
      'vmware_event_router_processor_invocations_total{processor="bus",subject="VmPoweredOffEvent"} 2',
    );
    const stats = (await (await fetch(`${r.metricsUrl}/stats`)).json()) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    const procs = stats['vmware.event.router.stats'];
    expect(procs.openfaas).toMatchObject({
      provider_type: 'processor',
      invocations: { VmPoweredOnEvent: 2 },
      filtered: 3,
    });
    expect(procs.aws_event_bridge).toMatchObject({
      provider_type: 'processor',
      invocations: { VmPoweredOffEvent: 2 },
      filtered: 2,
    });
  });
});

describe('a processor whose peer stalls', () => {
  let sim: Simulator;
  let fast: OpenFaasGateway;
  let slow: OpenFaasGateway;
  let r: InProcessRouter;

  afterAll(async () => {
    await r?.stop();
    await fast?.close();
    await slow?.close();
    await sim?.stop();
  });

  test('holds up nobody: the other processor gets a 300-event burst while the stalled one catches up later', async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    fast = await OpenFaasGateway.start();
    slow = await OpenFaasGateway.start();
    fast.deploy({ name: 'fn', annotations: { topic: 'VmPoweredOnEvent' } });
    slow.deploy({ name: 'fn', annotations: { topic: 'VmPoweredOnEvent' }, latencyMs: 20_000 });
    r = await startRouterInProcess({
      streams: [vcenterEntry(sim)],
      processors: [
        openfaasEntry(fast, 'fast'),
        openfaasEntry(slow, 'slow', { options: { topic_refresh_interval: '1', max_in_flight: '4' } }),
      ],
      metrics: metricsEntry(),
    });
    await waitFor('ready', async () => (await fetch(`${r.metricsUrl}/readyz`)).ok);

    await burst(sim, 'VmPoweredOnEvent', 300);
    await waitFor('the fast gateway got all 300', () => fast.delivered('fn').length === 300, 60_000);
    // The stalled gateway has answered nothing yet: the fast one did not wait for it.
    expect(slow.delivered('fn')).toHaveLength(0);
    expect(slow.concurrency('fn').open).toBe(4);
    const readyz = (await (await fetch(`${r.metricsUrl}/readyz`)).json()) as {
      details: { event_log: { behind: Record<string, number> } };
    };
    expect(readyz.details.event_log.behind.slow).toBeGreaterThan(250);
    expect(readyz.details.event_log.behind.fast).toBe(0);

    // The stalled peer recovers: it catches up, nothing lost, nothing twice.
    slow.configure('fn', 'openfaas-fn', { latencyMs: 0 });
    await waitFor('the slow gateway caught up', () => slow.delivered('fn').length === 300, 120_000);
    const ids = slow.delivered('fn').map((i) => idOf(i.body));
    expect(new Set(ids).size).toBe(300);
    expect(new Set(ids)).toEqual(new Set(fast.delivered('fn').map((i) => idOf(i.body))));
  });
});

describe('two vCenters in one router', () => {
  let a: Simulator;
  let b: Simulator;
  let router: RouterProcess | undefined;

  afterAll(async () => {
    await router?.stop();
    await a?.stop();
    await b?.stop();
  });

  function config() {
    return [
      { ...vcenterEntry(a), name: 'vc-a' },
      { ...vcenterEntry(b), name: 'vc-b' },
      stdoutEntry,
      metricsEntry(),
    ];
  }

  test('each event once with its own source; ids differ per stream and survive a restart; one down, the other flows', async () => {
    buildHarness();
    a = await startSimulator();
    b = await startSimulator();
    await about(a);
    await about(b);
    router = await startRouterProcess(config());
    await waitFor('both streams ready', async () => (await fetch(`${router!.metricsUrl}/readyz`)).ok);

    await postEvents(a, [
      { class: 'VmPoweredOnEvent', entities: VM },
      { class: 'VmPoweredOffEvent', entities: VM },
    ]);
    await postEvents(b, [
      { class: 'VmPoweredOnEvent', entities: VM },
      { class: 'VmPoweredOffEvent', entities: VM },
    ]);
    await waitFor('four events', () => router!.events().length === 4);
    const events = router.events();
    const fromA = events.filter((e) => e.source === a.url);
    const fromB = events.filter((e) => e.source === b.url);
    expect(fromA.map((e) => e.subject)).toEqual(['VmPoweredOnEvent', 'VmPoweredOffEvent']);
    expect(fromB.map((e) => e.subject)).toEqual(['VmPoweredOnEvent', 'VmPoweredOffEvent']);
    // Both simulators count keys the same way and share an instanceUuid: the ids must still differ.
    expect(fromA.map(keyOf)).toEqual(fromB.map(keyOf));
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
    // data equals govmomi's JSON of the same event.
    const refA = await referenceEvents(a);
    const refB = await referenceEvents(b);
    expect(fromA.map((e) => e.data)).toEqual(fromA.map((e) => refA.get(keyOf(e))!.json));
    expect(fromB.map((e) => e.data)).toEqual(fromB.map((e) => refB.get(keyOf(e))!.json));
    // The id is a function of the stream's identity (instanceUuid and name) and the key only: the
    // same after a restart of the router, different between the two streams.
    const uuid = (await about(a)).InstanceUuid;
    expect(fromA.map((e) => e.id)).toEqual(fromA.map((e) => eventId(`${uuid}/vc-a`, keyOf(e))));
    expect(fromB.map((e) => e.id)).toEqual(fromB.map((e) => eventId(`${uuid}/vc-b`, keyOf(e))));

    await router.stop();
    router = await startRouterProcess(config());
    await waitFor('both streams ready again', async () => (await fetch(`${router!.metricsUrl}/readyz`)).ok);

    // b goes down: a keeps flowing, /readyz names b.
    await b.kill();
    await waitFor('readyz names vc-b', async () => {
      const res = await fetch(`${router!.metricsUrl}/readyz`);
      const body = (await res.json()) as { details: { streams: Record<string, { ready: boolean }> } };
      return (
        res.status === 503 &&
        body.details.streams['vc-b'].ready === false &&
        body.details.streams['vc-a'].ready
      );
    });
    await postEvents(a, [{ class: 'VmPoweredOnEvent', entities: VM }]);
    await waitFor('a still flows', () => router!.events().length === 1);
    expect(router.events()[0].source).toBe(a.url);

    // b comes back (a new key space) and flows again.
    await b.restart();
    await about(b);
    await waitFor('ready again', async () => (await fetch(`${router!.metricsUrl}/readyz`)).ok, 60_000);
    await postEvents(b, [{ class: 'VmPoweredOffEvent', entities: VM }]);
    await waitFor('b flows again', () => router!.events().some((e) => e.source === b.url));

    const again = router.events().filter((e) => e.source === a.url);
    expect(again.map((e) => e.id)).toEqual(again.map((e) => eventId(`${uuid}/vc-a`, keyOf(e))));
    expect(router.stderr()).not.toMatch(/ERROR/);
  });
});

describe('two standalone ESXi hosts in one router', () => {
  let a: Simulator;
  let b: Simulator;
  let router: RouterProcess | undefined;

  afterAll(async () => {
    await router?.stop();
    await a?.stop();
    await b?.stop();
  });

  test('no instanceUuid: each event once with its own source, ids from the stream names', async () => {
    buildHarness();
    a = await startSimulator({ esx: true });
    b = await startSimulator({ esx: true });
    expect((await about(a)).InstanceUuid).toBe('');
    await about(b);
    router = await startRouterProcess([
      { ...vcenterEntry(a), name: 'esx-a' },
      { ...vcenterEntry(b), name: 'esx-b' },
      stdoutEntry,
      metricsEntry(),
    ]);
    await waitFor('both hosts followed', async () => (await fetch(`${router!.metricsUrl}/readyz`)).ok);
    const host = 'vm:ha-host_VM0';
    await postEvents(a, [{ class: 'VmPoweredOnEvent', entities: host }]);
    await postEvents(b, [{ class: 'VmPoweredOnEvent', entities: host }]);
    await waitFor('two events', () => router!.events().length === 2);
    const [fromA] = router.events().filter((e) => e.source === a.url);
    const [fromB] = router.events().filter((e) => e.source === b.url);
    expect(fromA.subject).toBe('VmPoweredOnEvent');
    expect(fromB.subject).toBe('VmPoweredOnEvent');
    expect(fromA.data).toEqual((await referenceEvents(a)).get(keyOf(fromA))!.json);
    expect(fromB.data).toEqual((await referenceEvents(b)).get(keyOf(fromB))!.json);
    expect(fromA.id).toBe(eventId('/esx-a', keyOf(fromA)));
    expect(fromB.id).toBe(eventId('/esx-b', keyOf(fromB)));
    expect(fromA.id).not.toBe(fromB.id);
  });
});
