/**
 * OpenFaaS processor when the gateway changes, fails, goes away or rejects
 * the credentials.
 */
import { total } from '../../../src/metrics/metrics';
import { DEFAULT_NAMESPACE, OpenFaasGateway } from '../../peers/openfaas-gateway';
import { waitFor } from '../../helpers/wait';
import {
  errorLines,
  event,
  makeContext,
  makeProcessor,
  type OpenFaasTestProcessor,
  type TestContext,
} from './helpers';

const NS = DEFAULT_NAMESPACE;

let gw: OpenFaasGateway;
let tc: TestContext;
let proc: OpenFaasTestProcessor | undefined;

beforeEach(async () => {
  gw = await OpenFaasGateway.start({ password: 'gw-admin-pw-5e3c1' });
  tc = makeContext();
});

afterEach(async () => {
  await proc?.stop(5000);
  proc = undefined;
  await gw.close();
  // Never a password in a log line (nothing is registered for redaction here).
  expect(tc.lines.join('\n')).not.toContain('gw-admin-pw-5e3c1');
  expect(tc.lines.join('\n')).not.toContain('wrong-pw-77d1');
});

const rebuilds = async (): Promise<number> =>
  (await tc.metrics.registry.getSingleMetricAsString('vmware_event_router_openfaas_topic_map_rebuilds_total'))
    .split('\n')
    .filter((l) => l.startsWith('vmware_event_router_openfaas_topic_map_rebuilds_total '))
    .map((l) => Number(l.split(' ')[1]))[0] ?? 0;

const rebuildFailures = async (reason: string): Promise<number> => {
  const text = await tc.metrics.registry.getSingleMetricAsString(
    'vmware_event_router_openfaas_topic_map_rebuild_failures_total',
  );
  const line = text.split('\n').find((l) => l.includes(`reason="${reason}"`));
  return line ? Number(line.split(' ').pop()) : 0;
};

/** Wait until a rebuild that started after this call has completed successfully. */
async function nextRebuild(): Promise<void> {
  const before = await rebuilds();
  // Two completions: the one possibly in progress now, then one that began after.
  await waitFor('two more topic map rebuilds', async () => (await rebuilds()) >= before + 2, 30_000);
}

it('picks up a re-annotated and a newly deployed function at the next rebuild', async () => {
  gw.deploy({ name: 'notify', annotations: { topic: 'VmPoweredOnEvent' } });
  proc = makeProcessor(gw, tc, { topic_refresh_interval: 1 });
  await proc.start();

  await proc.process(event('VmPoweredOffEvent'));
  expect(await total(tc.metrics.dropped, { reason: 'no_subscriber' })).toBe(1);

  gw.annotate('notify', NS, { topic: 'VmPoweredOnEvent, VmPoweredOffEvent' });
  gw.deploy({ name: 'audit', namespace: 'audit-fns', annotations: { topic: 'VmPoweredOffEvent' } });
  await nextRebuild();

  const off = event('VmPoweredOffEvent');
  await proc.process(off);
  await proc.stop(10_000);
  expect(gw.delivered().map((i) => `${i.name}.${i.namespace}`)).toEqual(
    expect.arrayContaining([`notify.${NS}`, 'audit.audit-fns']),
  );
  expect(gw.delivered().every((i) => (i.body as { id: string }).id === off.id)).toBe(true);
  expect(gw.delivered()).toHaveLength(2);
  expect(tc.lines.some((l) => l.includes('OpenFaaS topic map changed'))).toBe(true);
});

it('keeps running while the gateway is down, counts failures, delivers again when it is back', async () => {
  gw.deploy({ name: 'notify', annotations: { topic: 'VmPoweredOnEvent' } });
  proc = makeProcessor(gw, tc, { topic_refresh_interval: 1, retries: 1 });
  await proc.start();
  await proc.process(event('VmPoweredOnEvent'));
  await waitFor('first delivery', () => gw.delivered().length === 1, 30_000);

  await gw.down();
  const lost = event('VmPoweredOnEvent');
  await proc.process(lost);
  await waitFor(
    'the invocation failure is counted',
    async () => (await total(tc.metrics.invocationErrors)) === 1,
    30_000,
  );
  await waitFor(
    'a failed rebuild is counted',
    async () => (await rebuildFailures('unreachable')) >= 1,
    30_000,
  );
  // The last good map is kept: still ready, and the event was tried, not dropped.
  expect(proc.ready()).toBe(true);
  expect(await total(tc.metrics.dropped)).toBe(0);
  expect(errorLines(tc.lines, `OpenFaaS gateway ${gw.url} is unreachable`)).not.toHaveLength(0);
  const failure = errorLines(tc.lines, 'invocation failed', `function=notify.${NS}`);
  expect(failure).toHaveLength(1);
  expect(failure[0]).toContain('topic=VmPoweredOnEvent');
  expect(failure[0]).toContain('status=ECONNREFUSED');
  expect(failure[0]).toContain(`event_id=${lost.id}`);
  expect(failure[0]).toContain('attempts=2');

  await gw.up();
  await nextRebuild();
  const back = event('VmPoweredOnEvent');
  await proc.process(back);
  await proc.stop(10_000);
  expect(gw.delivered().map((i) => (i.body as { id: string }).id)).toHaveLength(2);
  expect((gw.delivered()[1].body as { id: string }).id).toBe(back.id);
  expect(await total(tc.metrics.invocations)).toBe(2);
  expect(
    tc.lines.some((l) => l.includes('OpenFaaS topic map rebuilt') && l.includes('after_failures=')),
  ).toBe(true);
});

it('starts while the gateway is down, is not ready, then builds the map once the gateway is up', async () => {
  gw.deploy({ name: 'notify', annotations: { topic: 'VmPoweredOnEvent' } });
  await gw.down();
  proc = makeProcessor(gw, tc, { topic_refresh_interval: 1 });
  await proc.start(); // does not reject
  expect(proc.ready()).toBe(false);
  await proc.process(event('VmPoweredOnEvent'));
  expect(await total(tc.metrics.dropped, { reason: 'no_topic_map' })).toBe(1);
  expect(errorLines(tc.lines, `OpenFaaS gateway ${gw.url} is unreachable`)).not.toHaveLength(0);

  await gw.up();
  await waitFor('the processor is ready', () => proc!.ready(), 30_000);
  await proc.process(event('VmPoweredOnEvent'));
  await proc.stop(10_000);
  expect(gw.delivered()).toHaveLength(1);
});

it('wrong credentials: a clear error naming the gateway (not the password), and it keeps retrying', async () => {
  gw.deploy({ name: 'notify', annotations: { topic: 'VmPoweredOnEvent' } });
  proc = makeProcessor(
    gw,
    tc,
    { topic_refresh_interval: 1 },
    { username: 'admin', password: 'wrong-pw-77d1' },
  );
  await proc.start(); // does not fail the router
  expect(proc.ready()).toBe(false);
  expect(errorLines(tc.lines, `OpenFaaS gateway ${gw.url} rejected the credentials (401)`)).toHaveLength(1);

  await waitFor(
    'three rejected topic map attempts',
    async () => (await rebuildFailures('unauthorized')) >= 3,
    30_000,
  );
  expect(gw.systemRequests.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(3);
  expect(errorLines(tc.lines, 'rejected the credentials (401)').length).toBeGreaterThanOrEqual(3);
  expect(proc.ready()).toBe(false);

  // The operator fixes the gateway side: the retries pick it up.
  gw.setCredentials('admin', 'wrong-pw-77d1');
  await waitFor('the processor is ready', () => proc!.ready(), 30_000);
  await proc.process(event('VmPoweredOnEvent'));
  await proc.stop(10_000);
  expect(gw.delivered()).toHaveLength(1);
});

it('sync: retries 503, 429, 500 and connection resets, then succeeds once; a 4xx is not retried', async () => {
  const topic = { topic: 'VmPoweredOnEvent' };
  gw.deploy({ name: 'flaky-503', annotations: topic, failFirst: { count: 2, failure: 503 } });
  gw.deploy({ name: 'flaky-reset', annotations: topic, failFirst: { count: 2, failure: 'reset' } });
  gw.deploy({ name: 'flaky-429', annotations: topic, failFirst: { count: 1, failure: 429 } });
  gw.deploy({ name: 'broken', annotations: topic, status: 500 });
  gw.deploy({ name: 'overloaded', annotations: topic, status: 502 });
  gw.deploy({ name: 'refusing', annotations: topic, status: 400 });
  gw.deploy({ name: 'healthy', annotations: topic });
  proc = makeProcessor(gw, tc, { retries: 3 });
  await proc.start();

  const ev = event('VmPoweredOnEvent');
  await proc.process(ev);
  await proc.stop(30_000);

  const attempts = (name: string): Array<number | string> => gw.invocationsOf(name).map((i) => i.outcome);
  expect(attempts('flaky-503')).toEqual([503, 503, 200]);
  expect(attempts('flaky-reset')).toEqual(['reset', 'reset', 200]);
  expect(attempts('flaky-429')).toEqual([429, 200]);
  expect(attempts('broken')).toEqual([500, 500, 500, 500]); // 1 + 3 retries, then given up
  expect(attempts('overloaded')).toEqual([502, 502, 502, 502]);
  expect(attempts('refusing')).toEqual([400]); // not transient: no retry
  expect(attempts('healthy')).toEqual([200]);

  // No duplicates: each function ran the event at most once.
  for (const inv of gw.delivered()) expect((inv.body as { id: string }).id).toBe(ev.id);
  expect(gw.delivered()).toHaveLength(4);
  expect(await total(tc.metrics.invocations, { subject: 'VmPoweredOnEvent' })).toBe(4);
  expect(await total(tc.metrics.invocationErrors, { subject: 'VmPoweredOnEvent' })).toBe(3);

  const refusing = errorLines(tc.lines, `function=refusing.${NS}`);
  expect(refusing).toHaveLength(1);
  expect(refusing[0]).toContain('topic=VmPoweredOnEvent');
  expect(refusing[0]).toContain('status=400');
  expect(refusing[0]).toContain(`event_id=${ev.id}`);
  expect(errorLines(tc.lines, `function=overloaded.${NS}`, 'status=502', 'attempts=4')).toHaveLength(1);
  expect(
    errorLines(tc.lines, `function=broken.${NS}`, 'giving up, retries 3 used up', 'attempts=4'),
  ).toHaveLength(1);

  const text = await tc.metrics.registry.metrics();
  expect(text).toContain(
    `vmware_event_router_openfaas_function_invocations_total{function="flaky-503.${NS}",outcome="retry"} 2`,
  );
  expect(text).toContain(
    `vmware_event_router_openfaas_function_invocations_total{function="refusing.${NS}",outcome="failure"} 1`,
  );
});

it('async: a rejected invocation is logged with function, topic, status and event id, and counted', async () => {
  gw.deploy({ name: 'refusing', annotations: { topic: 'VmPoweredOnEvent' }, status: 400 });
  gw.deploy({ name: 'queued', annotations: { topic: 'VmPoweredOnEvent' } });
  proc = makeProcessor(gw, tc, { async: 'true' });
  await proc.start();
  const ev = event('VmPoweredOnEvent');
  await proc.process(ev);
  await proc.stop(10_000);
  expect(gw.invocationsOf('refusing').map((i) => i.outcome)).toEqual([400]);
  expect(gw.invocationsOf('queued').map((i) => i.outcome)).toEqual([202]);
  const line = errorLines(
    tc.lines,
    `function=refusing.${NS}`,
    'status=400',
    `event_id=${ev.id}`,
    'mode=async',
  );
  expect(line).toHaveLength(1);
  expect(await total(tc.metrics.invocationErrors)).toBe(1);
  expect(await total(tc.metrics.invocations)).toBe(1);
});

it('sync: a function slower than the timeout is abandoned, logged and counted, not retried', async () => {
  gw.deploy({ name: 'sleepy', annotations: { topic: 'VmPoweredOnEvent' }, latencyMs: 1500 });
  proc = makeProcessor(gw, tc, { timeout: 1, retries: 3 });
  await proc.start();
  await proc.process(event('VmPoweredOnEvent'));
  await proc.stop(10_000);
  expect(gw.invocationsOf('sleepy')).toHaveLength(1);
  expect(errorLines(tc.lines, `OpenFaaS function sleepy.${NS} did not answer within 1s`)).toHaveLength(1);
  expect(await total(tc.metrics.invocationErrors)).toBe(1);
});
