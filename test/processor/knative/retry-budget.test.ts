/**
 * The retry budget end to end: the compiled router on the govmomi simulator,
 * Knative processors with their default retry options (no `retries`), and
 * CloudEvents receivers that are unwell for a while.
 *
 * - a receiver answering 503 to one POST in three gets every event once, in
 *   both encodings;
 * - a receiver down for 30 s (its port closed, then open again) gets every
 *   event sent meanwhile, once;
 * - a receiver down for longer than a short `retry_max_duration`: the events
 *   are failed, counted and dead-lettered, and the processor delivers the
 *   next ones once the receiver is back.
 *
 * Each processor reads one event class (its filter), so the three scenarios
 * share one router without touching each other.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigEntry } from '../../../src/config/types';
import { postEvents } from '../../harness/simulator';
import { startStack, waitFor, type Stack } from '../../helpers/e2e';
import { metricValues } from '../../helpers/sink-contract';
import { CloudEventsReceiver } from '../../peers/cloudevents-receiver';

const PREFIX = 'vmware_event_router_';
/** How long the receiver of the outage scenario stays down: a broker restart. */
const OUTAGE_MS = 30_000;
/** The short budget of the third scenario (seconds). */
const SHORT_BUDGET_S = 5;

const FLAKY = 'VmPoweredOnEvent';
const OUTAGE = 'VmPoweredOffEvent';
const PAST_BUDGET = 'VmSuspendedEvent';

function knative(
  name: string,
  url: string,
  subject: string,
  options: ConfigEntry['options'] = {},
): ConfigEntry {
  return {
    type: 'processor',
    provider: 'knative',
    name,
    address: url,
    filter: { subject: [subject] },
    options,
  };
}

const posts = (subject: string, n: number) =>
  Array.from({ length: n }, () => ({ class: subject, entities: 'vm:DC0_H0_VM0' }));

/** Ids of the events of `subject` the receiver accepted. */
const idsOf = (r: CloudEventsReceiver, subject: string): string[] =>
  r.received.filter((e) => e.event.subject === subject).map((e) => e.event.id);

describe('a sink that is briefly unwell loses no event', () => {
  let stack: Stack;
  let structured: CloudEventsReceiver;
  let binary: CloudEventsReceiver;
  let outage: CloudEventsReceiver;
  let pastBudget: CloudEventsReceiver;
  let deadLetters: string;

  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${stack.router.metricsUrl}/metrics`)).text();
    return metricValues(text, PREFIX + name).get(labels) ?? 0;
  };
  const delivered = (processor: string, subject: string) =>
    metric('processor_invocations_total', `processor="${processor}",subject="${subject}"`);
  const failed = (processor: string, subject: string) =>
    metric('processor_errors_total', `processor="${processor}",subject="${subject}"`);

  beforeAll(async () => {
    structured = await CloudEventsReceiver.start();
    binary = await CloudEventsReceiver.start();
    outage = await CloudEventsReceiver.start();
    pastBudget = await CloudEventsReceiver.start();
    structured.failEvery = 3;
    binary.failEvery = 3;
    deadLetters = path.join(mkdtempSync(path.join(os.tmpdir(), 'ver-retry-')), 'dead-letters.jsonl');
    stack = await startStack({
      processors: [
        knative('kn-flaky-structured', structured.url, FLAKY),
        knative('kn-flaky-binary', binary.url, FLAKY, { encoding: 'binary' }),
        knative('kn-outage', outage.url, OUTAGE),
        knative('kn-past-budget', pastBudget.url, PAST_BUDGET, {
          retry_max_duration: String(SHORT_BUDGET_S),
          dead_letter_file: deadLetters,
        }),
      ],
    });
  });

  afterAll(async () => {
    await stack?.stop();
    for (const r of [structured, binary, outage, pastBudget]) await r?.close();
  });

  test('a receiver answering 503 to one POST in three gets every event once, in both encodings', async () => {
    const count = 60;
    await postEvents(stack.sim, posts(FLAKY, count));
    for (const [processor, receiver] of [
      ['kn-flaky-structured', structured],
      ['kn-flaky-binary', binary],
    ] as const) {
      // Settled: each event either delivered or failed.
      await waitFor(
        `${processor}: every event settled`,
        async () => (await delivered(processor, FLAKY)) + (await failed(processor, FLAKY)) === count,
        60_000,
      );
      expect(await failed(processor, FLAKY)).toBe(0);
      const ids = idsOf(receiver, FLAKY);
      expect(ids).toHaveLength(count);
      expect(new Set(ids).size).toBe(count);
      expect(receiver.requests.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    }
  });

  test('a receiver down for 30 s gets every event sent meanwhile, once', async () => {
    const port = outage.port;
    await outage.close();
    const down = Date.now();
    const count = 20;
    await postEvents(stack.sim, posts(OUTAGE, count));
    const retries = () => metric('processor_retries_total', `processor="kn-outage",reason="ECONNREFUSED"`);
    await waitFor('the processor retrying the closed port', async () => (await retries()) > 0);
    // The outage itself: the receiver stays down for as long as a broker restart takes.
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));
    expect(await failed('kn-outage', OUTAGE)).toBe(0);
    outage = await CloudEventsReceiver.start(port);
    await waitFor(
      'every event delivered once the receiver is back',
      async () => (await delivered('kn-outage', OUTAGE)) === count,
      60_000,
    );
    const ids = idsOf(outage, OUTAGE);
    expect(ids).toHaveLength(count);
    expect(new Set(ids).size).toBe(count);
    expect(await failed('kn-outage', OUTAGE)).toBe(0);
  });

  test('down past retry_max_duration: failed, counted, dead-lettered, and the next events are delivered', async () => {
    const port = pastBudget.port;
    await pastBudget.close();
    const count = 3;
    await postEvents(stack.sim, posts(PAST_BUDGET, count));
    const deadLettered = () => metric('processor_dead_lettered_total', `processor="kn-past-budget"`);
    await waitFor('the events dead-lettered', async () => (await deadLettered()) === count, 60_000);
    expect(await failed('kn-past-budget', PAST_BUDGET)).toBe(count);
    expect(await delivered('kn-past-budget', PAST_BUDGET)).toBe(0);
    const letters = readFileSync(deadLetters, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; attempts: number; event: { subject: string } });
    expect(letters).toHaveLength(count);
    for (const letter of letters) {
      expect(letter.reason).toBe('ECONNREFUSED');
      expect(letter.event.subject).toBe(PAST_BUDGET);
      expect(letter.attempts).toBeGreaterThan(1);
    }
    // The one line per event an operator sees, naming the limit that ended the retries.
    const given = stack.router
      .stderr()
      .split('\n')
      .filter((l) => l.includes(`giving up, retry_max_duration ${SHORT_BUDGET_S}s used up`));
    expect(given).toHaveLength(count);
    expect(given[0]).toMatch(
      /ERROR Knative destination http:\/\/127\.0\.0\.1:\d+\/default\/default did not take/,
    );
    expect(given[0]).toMatch(/retried_for_s=\d/);

    // Delivery goes on: the receiver is back, the next events arrive.
    pastBudget = await CloudEventsReceiver.start(port);
    await postEvents(stack.sim, posts(PAST_BUDGET, 2));
    await waitFor(
      'the next events delivered',
      async () => (await delivered('kn-past-budget', PAST_BUDGET)) === 2,
      60_000,
    );
    expect(idsOf(pastBudget, PAST_BUDGET)).toHaveLength(2);
    expect(await failed('kn-past-budget', PAST_BUDGET)).toBe(count);
  });
});
