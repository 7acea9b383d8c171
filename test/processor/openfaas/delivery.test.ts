/**
 * OpenFaaS processor against the test gateway: who gets which event, how.
 */
import { cloudEventJson } from '../../../src/events/cloudevent';
import type { RouterEvent } from '../../../src/events/types';
import { total, valuesByLabel } from '../../../src/metrics/metrics';
import { parseTopics } from '../../../src/processor/openfaas/topic-map';
import { DEFAULT_NAMESPACE, OpenFaasGateway } from '../../peers/openfaas-gateway';
import { event, makeContext, makeProcessor, type OpenFaasTestProcessor, type TestContext } from './helpers';

const BACKUP_FAILED = 'com.vmware.applmgmt.backup.job.failed.event';

function deployFleet(gw: OpenFaasGateway): void {
  gw.deploy({ name: 'power-on', annotations: { topic: 'VmPoweredOnEvent' } });
  // Several topics, with spaces around the commas.
  gw.deploy({ name: 'power-any', annotations: { topic: ' VmPoweredOnEvent ,  VmPoweredOffEvent,' } });
  gw.deploy({ name: 'no-topic', annotations: { 'com.openfaas.scale.min': '1' } });
  gw.deploy({ name: 'no-annotations', annotations: null });
  // The same function name in a second namespace, with another subscription.
  gw.deploy({
    name: 'power-on',
    namespace: 'tenant-b',
    annotations: { topic: 'VmPoweredOffEvent,' + BACKUP_FAILED },
  });
}

function eventsForFleet(): RouterEvent[] {
  return [
    event('VmPoweredOnEvent'),
    event('VmPoweredOffEvent'),
    event('VmPoweredOnEvent'),
    event('VmCreatedEvent'), // no subscriber
    event('EventEx', { eventTypeId: BACKUP_FAILED }),
    event('VmPoweredOnEvent'),
    event('VmRemovedEvent'), // no subscriber
    event('VmPoweredOffEvent'),
  ];
}

/** Event ids each function received (accepted calls only), by `NAME.NS`. */
function receivedIds(gw: OpenFaasGateway): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const inv of gw.delivered()) {
    const k = `${inv.name}.${inv.namespace}`;
    (out[k] ??= []).push((inv.body as { id: string }).id);
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

function idsOf(events: RouterEvent[], ...subjects: string[]): string[] {
  return events
    .filter((e) => subjects.includes(e.subject ?? ''))
    .map((e) => e.id)
    .sort();
}

describe('topic annotation parsing', () => {
  it('splits on commas, trims spaces, ignores empty and repeated items', () => {
    expect(parseTopics(' VmPoweredOnEvent ,VmPoweredOffEvent,, VmPoweredOnEvent ')).toEqual([
      'VmPoweredOnEvent',
      'VmPoweredOffEvent',
    ]);
    expect(parseTopics('')).toEqual([]);
    expect(parseTopics(undefined)).toEqual([]);
  });
});

describe.each([
  ['sync', false],
  ['async', true],
])('OpenFaaS processor, %s mode', (_mode, isAsync) => {
  let gw: OpenFaasGateway;
  let tc: TestContext;
  let proc: OpenFaasTestProcessor;

  beforeEach(async () => {
    gw = await OpenFaasGateway.start();
    deployFleet(gw);
    tc = makeContext();
    proc = makeProcessor(gw, tc, { async: String(isAsync) });
  });

  afterEach(async () => {
    await proc.stop(5000);
    await gw.close();
    expect(tc.lines.join('\n')).not.toContain(gw.credentials.password);
  });

  it('invokes exactly the subscribed functions, as NAME.NAMESPACE, with the structured CloudEvent', async () => {
    expect(proc.ready()).toBe(false);
    await proc.start();
    expect(proc.ready()).toBe(true);

    const events = eventsForFleet();
    for (const ev of events) await proc.process(ev);
    await proc.stop(10_000);

    expect(receivedIds(gw)).toEqual({
      [`power-on.${DEFAULT_NAMESPACE}`]: idsOf(events, 'VmPoweredOnEvent'),
      [`power-any.${DEFAULT_NAMESPACE}`]: idsOf(events, 'VmPoweredOnEvent', 'VmPoweredOffEvent'),
      'power-on.tenant-b': idsOf(events, 'VmPoweredOffEvent', BACKUP_FAILED),
    });
    // Nothing else was called, and nothing failed.
    expect(gw.invocations).toHaveLength(gw.delivered().length);

    const byId = new Map(events.map((e) => [e.id, e]));
    for (const inv of gw.invocations) {
      const ev = byId.get((inv.body as { id: string }).id)!;
      expect(inv.async).toBe(isAsync);
      expect(inv.path).toBe(`/${isAsync ? 'async-function' : 'function'}/${inv.name}.${inv.namespace}`);
      expect(inv.headers['content-type']).toBe('application/json');
      expect(inv.headers['x-topic']).toBe(ev.subject);
      // The body is exactly the structured-mode JSON (time keeps its microseconds).
      expect(inv.rawBody).toBe(cloudEventJson(ev));
      expect((inv.body as { time: string }).time).toBe('2024-05-06T07:08:09.123456Z');
      // The admin credentials only go to /system/*, never to functions.
      expect(inv.headers.authorization).toBeUndefined();
      expect(inv.outcome).toBe(isAsync ? 202 : 200);
    }

    // Events without subscribers are counted and dropped.
    expect(await total(tc.metrics.dropped, { processor: 'openfaas', reason: 'no_subscriber' })).toBe(2);
    // Per-subject invocations (the /stats figures) equal what the gateway received.
    expect(await valuesByLabel(tc.metrics.invocations, 'subject', { processor: 'openfaas' })).toEqual(
      gw.deliveredPerTopic(),
    );
    expect(gw.deliveredPerTopic()).toEqual({ VmPoweredOnEvent: 6, VmPoweredOffEvent: 4, [BACKUP_FAILED]: 1 });
    expect(await total(tc.metrics.invocationErrors)).toBe(0);

    // Prometheus: per function and outcome, latency histogram, topic map figures.
    const text = await tc.metrics.registry.metrics();
    expect(text).toContain(
      `vmware_event_router_openfaas_function_invocations_total{function="power-any.${DEFAULT_NAMESPACE}",outcome="success"} 5`,
    );
    expect(text).toContain(
      'vmware_event_router_openfaas_invocation_duration_seconds_count{function="power-on.tenant-b",outcome="success"} 3',
    );
    expect(text).toMatch(/vmware_event_router_openfaas_topic_map_age_seconds \d/);
    expect(text).toContain('vmware_event_router_openfaas_topic_map_functions 3');
  });
});

describe('OpenFaaS gateway without /system/namespaces', () => {
  it('reads /system/functions and invokes functions by bare name', async () => {
    const gw = await OpenFaasGateway.start({ namespaces: false });
    gw.deploy({ name: 'echo', annotations: { topic: 'VmPoweredOnEvent, VmPoweredOffEvent' } });
    gw.deploy({ name: 'quiet' });
    const tc = makeContext();
    const proc = makeProcessor(gw, tc);
    try {
      await proc.start();
      expect(proc.ready()).toBe(true);
      await proc.process(event('VmPoweredOnEvent'));
      await proc.process(event('VmPoweredOffEvent'));
      await proc.process(event('VmCreatedEvent'));
      await proc.stop(10_000);
      expect(gw.invocations.map((i) => i.path)).toEqual(['/function/echo', '/function/echo']);
      expect(gw.systemRequests.map((r) => r.path)).toEqual(['/system/namespaces', '/system/functions']);
      expect(await total(tc.metrics.dropped, { reason: 'no_subscriber' })).toBe(1);
    } finally {
      await proc.stop(1000);
      await gw.close();
    }
  });
});
