/**
 * The EventBridge processor against a local endpoint that speaks the AWS
 * JSON 1.1 protocol and verifies every SigV4 signature, with the real
 * @aws-sdk/client-eventbridge client.
 */
import { cloudEventJson } from '../../../src/events/cloudevent';
import type { RouterEvent } from '../../../src/events/types';
import { total, valuesByLabel } from '../../../src/metrics/metrics';
import type { EventBridgeEndpoint } from '../../peers/eventbridge-endpoint';
import {
  ACCOUNT,
  ARN,
  KEY_ID,
  REGION,
  RULE_NAME,
  SECRET,
  SEED_PATTERN,
  VC_SOURCE,
  makeCtx,
  makeProcessor,
  metricValue,
  startEndpoint,
  type EventBridgeTestProcessor,
  vmEvent,
} from './helpers';

const P = 'vmware_event_router_eventbridge_';

let ep: EventBridgeEndpoint;
let ctx: ReturnType<typeof makeCtx>;
let proc: EventBridgeTestProcessor | undefined;

beforeEach(async () => {
  ep = await startEndpoint();
  ctx = makeCtx();
  proc = undefined;
});

afterEach(async () => {
  await proc?.stop(5000);
  await ep.close();
  // Whatever happened in the test, the secret key never reached the logger.
  expect(ctx.logger.text()).not.toContain(SECRET);
});

async function feed(events: RouterEvent[]): Promise<void> {
  for (const ev of events) await proc!.process(ev);
}

const sentIds = () => ep.entries.map((e) => (JSON.parse(e.Detail) as { id: string }).id);

describe('rule lookup at start', () => {
  test("finds the rule by ARN with paged ListRules (50 a page) and uses the seed's detail.subject pattern unchanged", async () => {
    const many = Array.from({ length: 120 }, (_, i) => ({
      Name: `${RULE_NAME}-${i}`,
      Arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/${RULE_NAME}-${i}`,
      EventPattern: '{"source":["other"]}',
    }));
    ep.setRules('default', [
      ...many,
      { Name: RULE_NAME, Arn: ARN, EventPattern: JSON.stringify(SEED_PATTERN) },
    ]);
    proc = makeProcessor(ep, ctx);
    await proc.start();
    expect(ep.listRulesCalls).toBe(3); // 121 rules share the name prefix: pages of 50, 50, 21
    expect(proc.ready()).toBe(true);
    expect(ep.accessKeysSeen).toEqual(new Set([KEY_ID]));
  });

  test('a rule that is not on the bus is a start error naming the ARN and the bus', async () => {
    ep.setRules('default', [
      { Name: 'unrelated', Arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/unrelated` },
    ]);
    proc = makeProcessor(ep, ctx);
    await expect(proc.start()).rejects.toThrow(
      `rule ${ARN} on event bus "default" (region ${REGION}) not found`,
    );
    expect(proc.ready()).toBe(false);
  });

  test('a rule ARN naming another bus gets a hint', async () => {
    ep.setRules('custom', []);
    proc = makeProcessor(ep, ctx, {
      aws_eventbridge_rule_arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/custom/${RULE_NAME}`,
    });
    await expect(proc.start()).rejects.toThrow(/not found \(the ARN names event bus "custom"/);
  });

  test('a rule without an event pattern is a start error', async () => {
    ep.setRules('default', [{ Name: RULE_NAME, Arn: ARN, ScheduleExpression: 'rate(5 minutes)' }]);
    proc = makeProcessor(ep, ctx);
    await expect(proc.start()).rejects.toThrow(/has no event pattern/);
  });

  test('a pattern the router cannot evaluate is a start error, not a silent pass or drop', async () => {
    ep.setPattern(ARN, { detail: { subject: [{ contains: 'Vm' }] } });
    proc = makeProcessor(ep, ctx);
    await expect(proc.start()).rejects.toThrow(/detail\.subject\[0\]: unknown operator "contains"/);
  });

  test('a transient ListRules failure at start is retried', async () => {
    ep.failListRules = 1;
    proc = makeProcessor(ep, ctx);
    await proc.start();
    expect(ep.listRulesCalls).toBe(2);
  });

  test('a wrong secret key is refused by the endpoint (signatures are verified) and fails the start', async () => {
    proc = makeProcessor(ep, ctx, {}, 'not-the-right-secret-key');
    const err = await proc.start().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/ListRules failed .*InvalidSignatureException/);
    expect(err?.message).not.toContain('not-the-right-secret-key');
    expect(ep.rejectedSignatures).toBeGreaterThan(0);
    expect(ep.accessKeysSeen.size).toBe(0);
  });

  test("without auth the SDK's default credential chain is used (environment here)", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIAFROMENVIRONMENT1';
    process.env.AWS_SECRET_ACCESS_KEY = 'environment-secret';
    ep.credentials.set('AKIAFROMENVIRONMENT1', 'environment-secret');
    try {
      proc = makeProcessor(ep, ctx, {}, null);
      await proc.start();
      expect(ep.accessKeysSeen).toEqual(new Set(['AKIAFROMENVIRONMENT1']));
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});

describe('delivery', () => {
  test('exactly the matching events are sent, each once, with Source, DetailType, Detail and EventBusName', async () => {
    proc = makeProcessor(ep, ctx);
    await proc.start();
    const subjects = [
      'VmPoweredOnEvent',
      'VmCreatedEvent',
      'VmPoweredOffEvent',
      'UserLoginSessionEvent',
      'DrsVmPoweredOnEvent',
    ];
    const events = Array.from({ length: 25 }, (_, i) => vmEvent(subjects[i % subjects.length]));
    await feed(events);
    await proc.stop(5000);

    const matching = events.filter((e) => SEED_PATTERN.detail.subject.includes(e.subject!));
    expect(ep.entries).toHaveLength(matching.length);
    expect(sentIds().sort()).toEqual(matching.map((e) => e.id).sort());
    for (const ev of matching) {
      const got = ep.entries.find((e) => (JSON.parse(e.Detail) as { id: string }).id === ev.id)!;
      expect(got.Source).toBe(VC_SOURCE);
      expect(got.DetailType).toBe(ev.subject);
      expect(got.Detail).toBe(cloudEventJson(ev)); // microseconds in time kept
      expect(got.EventBusName).toBe('default');
    }
    expect(
      await valuesByLabel(ctx.metrics.invocations, 'subject', { processor: 'aws_event_bridge' }),
    ).toEqual({
      VmPoweredOnEvent: 5,
      VmPoweredOffEvent: 5,
      DrsVmPoweredOnEvent: 5,
    });
    expect(
      await total(ctx.metrics.dropped, { processor: 'aws_event_bridge', reason: 'pattern_mismatch' }),
    ).toBe(10);
    expect(await metricValue(ctx, P + 'matched_total')).toBe(15);
    expect(await metricValue(ctx, P + 'sent_total')).toBe(15);
    expect(await metricValue(ctx, P + 'batches_total', { outcome: 'ok' })).toBe(ep.putEventsCalls.length);
    expect(ep.rejectedSignatures).toBe(0);
  });

  test('the whole pattern is evaluated against the envelope EventBridge builds', async () => {
    ep.setPattern(ARN, {
      source: [{ prefix: 'https://vc01.' }],
      account: [ACCOUNT],
      region: [REGION],
      'detail-type': [{ 'anything-but': { prefix: 'User' } }],
      detail: {
        type: ['com.vmware.event.router/event'],
        data: { Vm: { Name: [{ wildcard: 'web-*' }] }, Key: [{ numeric: ['>', 0] }] },
      },
    });
    proc = makeProcessor(ep, ctx);
    await proc.start();
    const yes = vmEvent('VmCreatedEvent');
    const userEvent = vmEvent('UserLoginSessionEvent');
    const otherVm = vmEvent('VmCreatedEvent', { Vm: { Name: 'db-1' } });
    await feed([yes, userEvent, otherVm]);
    await proc.stop(5000);
    expect(sentIds()).toEqual([yes.id]);
  });

  test('a lone event is sent without waiting for a full batch', async () => {
    proc = makeProcessor(ep, ctx);
    await proc.start();
    const ev = vmEvent('VmPoweredOnEvent');
    await proc.process(ev);
    await ep.waitFor(() => ep.entries.length === 1, 'the lone event');
    expect(ep.putEventsCalls).toHaveLength(1);
  });

  test('a burst of 1,000 matching events is sent in at most 110 PutEvents calls, each event once', async () => {
    proc = makeProcessor(ep, ctx);
    await proc.start();
    const events = Array.from({ length: 1000 }, () => vmEvent('VmPoweredOnEvent'));
    await feed(events);
    await proc.stop(10000);
    expect(ep.entries).toHaveLength(1000);
    expect(new Set(sentIds()).size).toBe(1000);
    expect(ep.putEventsCalls.length).toBeLessThanOrEqual(110);
    expect(ep.putEventsCalls.every((c) => c.entries <= 10 && c.outcome === 'ok')).toBe(true);
    expect(await total(ctx.metrics.invocations, { processor: 'aws_event_bridge' })).toBe(1000);
  });

  test('batches stay under 256 KB a call', async () => {
    proc = makeProcessor(ep, ctx);
    await proc.start();
    const big = 'x'.repeat(60 * 1024);
    const events = Array.from({ length: 12 }, () =>
      vmEvent('VmPoweredOnEvent', { FullFormattedMessage: big }),
    );
    await feed(events);
    await proc.stop(5000);
    expect(ep.entries).toHaveLength(12);
    expect(ep.putEventsCalls.every((c) => c.outcome === 'ok' && c.bytes <= 256 * 1024)).toBe(true);
    expect(ep.putEventsCalls.length).toBeGreaterThanOrEqual(3); // 4 entries of ~61 KB fit a call
  });

  test('an event over 256 KB is logged and counted, never sent', async () => {
    proc = makeProcessor(ep, ctx);
    await proc.start();
    const huge = vmEvent('VmPoweredOnEvent', { FullFormattedMessage: 'y'.repeat(300 * 1024) });
    const small = vmEvent('VmPoweredOnEvent');
    await feed([huge, small]);
    await proc.stop(5000);
    expect(sentIds()).toEqual([small.id]);
    expect(await total(ctx.metrics.dropped, { processor: 'aws_event_bridge', reason: 'too_large' })).toBe(1);
    expect(ctx.logger.text()).toContain('too large');
    expect(ep.putEventsCalls.every((c) => c.outcome === 'ok')).toBe(true);
  });
});

test('a slow EventBridge makes the stream wait: at most 4 calls in flight and one batch pending', async () => {
  proc = makeProcessor(ep, ctx);
  await proc.start();
  ep.holdPutEvents = true;
  const events = Array.from({ length: 100 }, () => vmEvent('VmPoweredOnEvent'));
  let accepted = 0;
  const feeding = (async () => {
    for (const ev of events) {
      await proc!.process(ev);
      accepted++;
    }
  })();
  await ep.waitFor(() => ep.heldCalls === 4, 'four PutEvents calls in flight');
  // Let the feeding loop run as far as it can.
  for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
  expect(ep.heldCalls).toBe(4);
  expect(accepted).toBeLessThan(50); // 4 batches of 10 in flight + the batch whose flush waits
  ep.releasePutEvents();
  await feeding;
  await proc.stop(10000);
  expect(accepted).toBe(100);
  expect(new Set(sentIds()).size).toBe(100);
});

describe('retries', () => {
  test('failed entries (FailedEntryCount) are retried; accepted entries are never sent again', async () => {
    const attempts = new Map<string, number>();
    ep.entryFailure = (entry) => {
      const id = (JSON.parse(entry.Detail as string) as { id: string }).id;
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      // every other entry fails its first two attempts
      return Number(id.replace(/[^0-9]/g, '').slice(-1)) % 2 === 0 && n <= 2 ? 'InternalFailure' : undefined;
    };
    proc = makeProcessor(ep, ctx, { retries: 3 });
    await proc.start();
    const events = Array.from({ length: 40 }, () => vmEvent('VmPoweredOnEvent'));
    await feed(events);
    await proc.stop(10000);
    expect(ep.entries).toHaveLength(40);
    expect(new Set(sentIds()).size).toBe(40);
    expect(ep.putEventsCalls.some((c) => c.outcome === 'partial')).toBe(true);
    expect(await metricValue(ctx, P + 'batches_total', { outcome: 'partial' })).toBeGreaterThan(0);
    expect(await metricValue(ctx, P + 'failed_total')).toBe(0);
    expect(await total(ctx.metrics.invocations, { processor: 'aws_event_bridge' })).toBe(40);
  });

  test('an entry error that echoes the secret key is logged without it', async () => {
    ep.entryFailure = () => 'ValidationException';
    ep.entryFailureMessage = (code) => `${code}: request signed with ${SECRET} is not accepted`;
    proc = makeProcessor(ep, ctx);
    await proc.start();
    await feed([vmEvent('VmPoweredOnEvent')]);
    await proc.stop(10000);
    expect(await metricValue(ctx, P + 'failed_total', { reason: 'entry_error' })).toBe(1);
    expect(ctx.logger.text()).toMatch(/PutEvents failed, events not delivered/);
    // afterEach: the secret key never reached the logger.
  });

  test('entries still failing after `retries` are logged and counted per subject', async () => {
    ep.entryFailure = (entry) => (entry.DetailType === 'VmPoweredOffEvent' ? 'InternalFailure' : undefined);
    proc = makeProcessor(ep, ctx, { retries: 2 });
    await proc.start();
    const off = Array.from({ length: 3 }, () => vmEvent('VmPoweredOffEvent'));
    const on = Array.from({ length: 3 }, () => vmEvent('VmPoweredOnEvent'));
    await feed([...off, ...on]);
    await proc.stop(10000);
    expect(sentIds().sort()).toEqual(on.map((e) => e.id).sort());
    // one call of 6 entries, then two retries of the 3 failing ones
    expect(ep.putEventsCalls.map((c) => c.entries)).toEqual([6, 3, 3]);
    expect(
      await valuesByLabel(ctx.metrics.invocationErrors, 'subject', { processor: 'aws_event_bridge' }),
    ).toEqual({
      VmPoweredOffEvent: 3,
    });
    expect(await metricValue(ctx, P + 'failed_total', { reason: 'entry_error' })).toBe(3);
    expect(ctx.logger.text()).toMatch(/PutEvents failed, events not delivered/);
  });

  test('throttled calls are retried with backoff and counted', async () => {
    ep.throttlePutEvents = 2;
    proc = makeProcessor(ep, ctx, { retries: 3 });
    await proc.start();
    const events = Array.from({ length: 10 }, () => vmEvent('VmPoweredOnEvent'));
    await feed(events);
    await proc.stop(10000);
    expect(new Set(sentIds()).size).toBe(10);
    expect(ep.entries).toHaveLength(10);
    expect(await metricValue(ctx, P + 'throttled_total')).toBe(2);
    expect(await metricValue(ctx, P + 'failed_total')).toBe(0);
  });

  test('calls throttled beyond `retries` end in the failure counters', async () => {
    ep.throttlePutEvents = Infinity;
    proc = makeProcessor(ep, ctx, { retries: 2 });
    await proc.start();
    await feed(Array.from({ length: 4 }, () => vmEvent('VmPoweredOnEvent')));
    await proc.stop(10000);
    expect(ep.entries).toHaveLength(0);
    expect(ep.putEventsCalls.map((c) => c.outcome)).toEqual(['throttled', 'throttled', 'throttled']);
    expect(await metricValue(ctx, P + 'throttled_total')).toBe(3);
    expect(await metricValue(ctx, P + 'failed_total', { reason: 'throttled' })).toBe(4);
    expect(await total(ctx.metrics.invocationErrors, { processor: 'aws_event_bridge' })).toBe(4);
  });
});

describe('rule sync', () => {
  test('a changed pattern takes effect at the next sync; a failing sync keeps the last pattern', async () => {
    proc = makeProcessor(ep, ctx, { sync_interval: 1 });
    await proc.start();
    await feed([vmEvent('VmPoweredOnEvent'), vmEvent('VmCreatedEvent')]);
    await ep.waitFor(() => ep.entries.length === 1, 'the first event');
    expect(ep.entries[0].DetailType).toBe('VmPoweredOnEvent');

    ep.setPattern(ARN, { 'detail-type': ['VmCreatedEvent'] });
    const before = ep.listRulesCalls;
    // The second sync after the change starts after the first one (which saw the change) has finished.
    await ep.waitFor(() => ep.listRulesCalls >= before + 2, 'two syncs');
    await feed([vmEvent('VmPoweredOnEvent'), vmEvent('VmCreatedEvent')]);
    await ep.waitFor(() => ep.entries.length === 2, 'the event of the new pattern');
    expect(ep.entries[1].DetailType).toBe('VmCreatedEvent');

    ep.failListRules = Infinity;
    const failedFrom = ep.listRulesCalls;
    await ep.waitFor(() => ep.listRulesCalls >= failedFrom + 2, 'two failing syncs');
    await feed([vmEvent('VmPoweredOnEvent'), vmEvent('VmCreatedEvent')]);
    await ep.waitFor(() => ep.entries.length === 3, 'an event of the kept pattern');
    expect(ep.entries[2].DetailType).toBe('VmCreatedEvent');
    expect(await metricValue(ctx, P + 'rule_sync_failures_total')).toBeGreaterThanOrEqual(1);
    expect(ctx.logger.text()).toContain('sync failed, keeping the last pattern');
    expect(await metricValue(ctx, P + 'rule_sync_age_seconds')).toBeGreaterThanOrEqual(0);

    await proc.stop(5000);
    expect(ep.entries).toHaveLength(3);
  });

  test('a sync that finds an unusable pattern keeps the last one', async () => {
    proc = makeProcessor(ep, ctx, { sync_interval: 1 });
    await proc.start();
    ep.setPattern(ARN, { detail: { subject: [{ 'no-such-operator': 1 }] } });
    const before = ep.listRulesCalls;
    await ep.waitFor(() => ep.listRulesCalls >= before + 2, 'two syncs');
    await feed([vmEvent('VmPoweredOnEvent')]);
    await proc.stop(5000);
    expect(ep.entries).toHaveLength(1);
    expect(await metricValue(ctx, P + 'rule_sync_failures_total')).toBeGreaterThanOrEqual(1);
  });
});
