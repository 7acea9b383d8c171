/**
 * End to end: govmomi simulator -> the router (in-process, real stream) ->
 * the aws_event_bridge processor with the real SDK -> the local endpoint,
 * which verifies every SigV4 signature.
 */
import {
  startRouterInProcess,
  metricsEntry,
  vcenterEntry,
  waitFor,
  type InProcessRouter,
} from '../../helpers/e2e';
import { burst, postEvents, startSimulator, type Simulator } from '../../harness/simulator';
import type { EventBridgeEndpoint } from '../../peers/eventbridge-endpoint';
import { SECRET, SEED_PATTERN, entryFor, startEndpoint } from './helpers';

let sim: Simulator;
let ep: EventBridgeEndpoint;
let r: InProcessRouter;

beforeAll(async () => {
  sim = await startSimulator();
  ep = await startEndpoint(SEED_PATTERN);
  r = await startRouterInProcess({
    streams: [vcenterEntry(sim)],
    processors: [entryFor(ep)],
    metrics: metricsEntry(),
  });
  await waitFor('the stream to connect', () => r.router.stream.ready());
});

afterAll(async () => {
  await r?.stop();
  await ep?.close();
  await sim?.stop();
});

interface Detail {
  id: string;
  source: string;
  subject: string;
  time: string;
  data: { Key: number; Vm: { Name: string } | null };
}

const details = () => ep.entries.map((e) => JSON.parse(e.Detail) as Detail);

test("exactly the events the seed's detail.subject pattern matches are sent, each once, as SPEC §5 says", async () => {
  const classes = [
    'VmPoweredOnEvent',
    'VmCreatedEvent',
    'VmPoweredOffEvent',
    'VmReconfiguredEvent',
    'DrsVmPoweredOnEvent',
  ];
  const specs = Array.from({ length: 40 }, (_, i) => ({
    class: classes[i % classes.length],
    entities: 'vm:DC0_H0_VM0',
  }));
  await postEvents(sim, specs);
  const expected = specs.filter((s) => SEED_PATTERN.detail.subject.includes(s.class)).length; // 24
  await waitFor('the matching events at the endpoint', () => ep.entries.length >= expected);
  // The last posted event matches and events keep their order: once it is handled, so are all
  // before it; nothing matched may still be waiting in a batch.
  await waitFor(
    'every matched event to be put',
    async () => (await counter('matched')) === (await counter('sent')),
  );

  expect(ep.entries).toHaveLength(expected);
  const got = details();
  expect(new Set(got.map((d) => d.id)).size).toBe(expected);
  for (const [i, e] of ep.entries.entries()) {
    expect(SEED_PATTERN.detail.subject).toContain(e.DetailType);
    expect(e.DetailType).toBe(got[i].subject);
    expect(e.Source).toBe(sim.url);
    expect(got[i].source).toBe(sim.url);
    expect(e.EventBusName).toBe('default');
    expect(got[i].data.Vm?.Name).toBe('DC0_H0_VM0');
    // The simulator's createdTime to the nanosecond, as govmomi prints it (Go trims trailing
    // zeros, so the digit count varies): not re-rendered through Date, which cuts to ms.
    expect(got[i].time).toBe((got[i].data as unknown as { CreatedTime: string }).CreatedTime);
  }
  expect(got.some((d) => /\.\d{4,9}Z$/.test(d.time))).toBe(true); // sub-millisecond digits survive
  // Event keys ascend: the stream's order is kept.
  const keys = got.map((d) => d.data.Key);
  expect([...keys].sort((a, b) => a - b)).toEqual(keys);
  expect(ep.rejectedSignatures).toBe(0);

  const stats = (await (await fetch(`${r.metricsUrl}/stats`)).json()) as Record<
    string,
    Record<string, unknown>
  >;
  const eb = stats['vmware.event.router.stats'].aws_event_bridge as { invocations: Record<string, number> };
  expect(eb.invocations).toEqual({ VmPoweredOnEvent: 8, VmPoweredOffEvent: 8, DrsVmPoweredOnEvent: 8 });
  expect(r.logs.join('\n')).not.toContain(SECRET);
});

test('a burst of 1,000 matching events is sent in at most 110 PutEvents calls', async () => {
  const before = { entries: ep.entries.length, calls: ep.putEventsCalls.length };
  const res = await burst(sim, 'VmPoweredOnEvent', 1000);
  expect(res.posted).toBe(1000);
  await waitFor('1,000 events at the endpoint', () => ep.entries.length >= before.entries + 1000, 120_000);
  const calls = ep.putEventsCalls.slice(before.calls);
  const entries = ep.entries.slice(before.entries);
  expect(entries).toHaveLength(1000);
  expect(new Set(entries.map((e) => (JSON.parse(e.Detail) as Detail).id)).size).toBe(1000);
  expect(calls.length).toBeLessThanOrEqual(110);
  expect(calls.every((c) => c.outcome === 'ok' && c.entries <= 10)).toBe(true);
  console.log(`e2e burst: 1000 events in ${calls.length} PutEvents calls`);
});

async function counter(name: string): Promise<number> {
  const metric = r.metrics.registry.getSingleMetric(`vmware_event_router_eventbridge_${name}_total`);
  const { values } = await metric!.get();
  return values.reduce((n, v) => n + v.value, 0);
}
