/**
 * A slow function must not hold up the others, nor make the router buffer
 * without limit: invocations share one in-flight bound, and the stream waits
 * when it is reached. Assertions are on counts and order, never on timings.
 */
import { total } from '../../../src/metrics/metrics';
import { OpenFaasGateway } from '../../peers/openfaas-gateway';
import { waitFor } from '../../helpers/wait';
import { event, makeContext, makeProcessor, type OpenFaasTestProcessor, type TestContext } from './helpers';

let gw: OpenFaasGateway;
let tc: TestContext;
let proc: OpenFaasTestProcessor;

beforeEach(async () => {
  gw = await OpenFaasGateway.start();
  tc = makeContext();
});

afterEach(async () => {
  await proc.stop(10_000);
  await gw.close();
  expect(tc.lines.join('\n')).not.toContain(gw.credentials.password);
});

const idOf = (body: unknown): string => (body as { id: string }).id;

it('a function taking 2 s per call does not delay a fast function', async () => {
  gw.deploy({ name: 'slow', annotations: { topic: 'VmPoweredOnEvent' }, latencyMs: 2000 });
  gw.deploy({ name: 'fast', annotations: { topic: 'VmPoweredOnEvent,VmPoweredOffEvent' } });
  proc = makeProcessor(gw, tc, { max_in_flight: 8 });
  await proc.start();

  const first = event('VmPoweredOnEvent');
  const rest = Array.from({ length: 5 }, () => event('VmPoweredOffEvent'));
  // The stream hands over the event both functions want, then five more for the fast one.
  for (const ev of [first, ...rest]) await proc.process(ev);
  // Every event was accepted while the slow call had not answered...
  expect(gw.delivered('slow')).toHaveLength(0);

  // ...and the fast function answered all six, the shared event included, before the slow one replied.
  await waitFor('the fast function handled all six events', () => gw.delivered('fast').length === 6, 30_000);
  expect(gw.invocationsOf('slow').map((i) => i.outcome)).toEqual(['pending']);
  expect(gw.delivered('fast').map((i) => idOf(i.body))).toEqual([first, ...rest].map((e) => e.id));

  await proc.stop(10_000);
  expect(gw.delivered('slow').map((i) => idOf(i.body))).toEqual([first.id]);
  expect(await total(tc.metrics.invocations)).toBe(7);
});

it('2,000 events waiting on a slow function: the stream waits at the in-flight bound instead of buffering', async () => {
  const BOUND = 16;
  const N = 2000;
  gw.deploy({ name: 'slow', annotations: { topic: 'VmPoweredOnEvent' }, latencyMs: 2000 });
  proc = makeProcessor(gw, tc, { max_in_flight: BOUND });
  await proc.start();
  expect(proc.inFlight.max).toBe(BOUND);

  const events = Array.from({ length: N }, () => event('VmPoweredOnEvent'));
  const streamIndex = new Map(events.map((e, i) => [e.id, i]));
  let accepted = 0;
  const violations: string[] = [];
  // Accepted but not yet answered by the gateway can never exceed the bound: that is all the router holds.
  const check = (): void => {
    const held = accepted - gw.delivered('slow').length;
    if (held > BOUND) violations.push(`${held} events accepted but not delivered`);
    if (proc.inFlight.size > BOUND) violations.push(`${proc.inFlight.size} in flight`);
  };
  const sampler = setInterval(check, 2);

  const stream = (async () => {
    for (const ev of events) {
      await proc.process(ev);
      accepted++;
      check();
    }
  })();

  // First wave: the bound is full of 2-second calls and the stream is waiting.
  await waitFor(
    `${BOUND} calls are open at the gateway`,
    () => gw.concurrency('slow').open === BOUND,
    30_000,
  );
  expect(proc.inFlight.size).toBe(BOUND);
  expect(accepted).toBe(BOUND);
  expect(gw.invocationsOf('slow')).toHaveLength(BOUND);
  expect(new Set(gw.invocationsOf('slow').map((i) => idOf(i.body)))).toEqual(
    new Set(events.slice(0, BOUND).map((e) => e.id)),
  );

  // Let the remaining events through quickly (calls already running keep their 2 s).
  gw.configure('slow', 'openfaas-fn', { latencyMs: 0 });
  await stream;
  await proc.stop(30_000);
  clearInterval(sampler);
  check();

  expect(violations).toEqual([]);
  const received = gw.invocationsOf('slow');
  // Each event exactly once, all accepted.
  expect(received).toHaveLength(N);
  expect(gw.delivered('slow')).toHaveLength(N);
  expect(new Set(received.map((i) => idOf(i.body))).size).toBe(N);
  // The gateway never had more than the bound open at once.
  expect(gw.concurrency('slow').peak).toBe(BOUND);
  expect(Math.max(...received.map((i) => i.openAtReceipt))).toBeLessThan(BOUND);
  // Receipt order follows the stream's order, within the in-flight window.
  received.forEach((inv, pos) => {
    expect(Math.abs(streamIndex.get(idOf(inv.body))! - pos)).toBeLessThan(BOUND);
  });
  expect(await total(tc.metrics.invocations, { subject: 'VmPoweredOnEvent' })).toBe(N);
});
