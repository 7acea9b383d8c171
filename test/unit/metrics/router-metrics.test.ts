/**
 * The router's /metrics document: the process and Node.js metrics the dashboard, the alert
 * rules and users' queries read (prom-client's names, types and labels), promtool's verdict on
 * the whole document, and /stats reading the very counters /metrics renders.
 */
import { RouterMetrics } from '../../../src/metrics/metrics';
import { buildStats } from '../../../src/metrics/stats';
import { promtool } from '../../monitoring/promql';

const P = 'vmware_event_router_';

/** Metric name → TYPE, from a rendered document. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** The value of the one sample of `series` (name and labels as rendered). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  if (!line) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('process and Node.js metrics', () => {
  const metrics = new RouterMetrics();
  let text: string;
  beforeAll(async () => {
    text = await metrics.registry.metrics();
  });

  test("are prom-client's default metrics, with the router's prefix, names and types", () => {
    const own = [...types(text)].filter(([name]) => /^vmware_event_router_(process|nodejs)_/.test(name));
    expect(Object.fromEntries(own.map(([n, t]) => [n.slice(P.length), t]))).toEqual({
      process_cpu_user_seconds_total: 'counter',
      process_cpu_system_seconds_total: 'counter',
      process_cpu_seconds_total: 'counter',
      process_start_time_seconds: 'gauge',
      process_resident_memory_bytes: 'gauge',
      process_virtual_memory_bytes: 'gauge',
      process_heap_bytes: 'gauge',
      process_open_fds: 'gauge',
      process_max_fds: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_min_seconds: 'gauge',
      nodejs_eventloop_lag_max_seconds: 'gauge',
      nodejs_eventloop_lag_mean_seconds: 'gauge',
      nodejs_eventloop_lag_stddev_seconds: 'gauge',
      nodejs_eventloop_lag_p50_seconds: 'gauge',
      nodejs_eventloop_lag_p90_seconds: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      nodejs_active_resources: 'gauge',
      nodejs_active_resources_total: 'gauge',
      nodejs_active_handles: 'gauge',
      nodejs_active_handles_total: 'gauge',
      nodejs_active_requests: 'gauge',
      nodejs_active_requests_total: 'gauge',
      nodejs_heap_size_total_bytes: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_external_memory_bytes: 'gauge',
      nodejs_heap_space_size_total_bytes: 'gauge',
      nodejs_heap_space_size_used_bytes: 'gauge',
      nodejs_heap_space_size_available_bytes: 'gauge',
      nodejs_version_info: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
    });
  });

  test('report this process: memory, start time, file descriptors, heap, version', () => {
    expect(sample(text, `${P}process_resident_memory_bytes`)).toBeGreaterThan(0);
    const started = Date.now() / 1000 - process.uptime();
    // Whole seconds, as prom-client rounds them.
    expect(Math.abs(sample(text, `${P}process_start_time_seconds`) - started)).toBeLessThanOrEqual(1);
    expect(Number.isInteger(sample(text, `${P}process_start_time_seconds`))).toBe(true);
    expect(sample(text, `${P}process_open_fds`)).toBeGreaterThan(0);
    expect(sample(text, `${P}process_max_fds`)).toBeGreaterThanOrEqual(sample(text, `${P}process_open_fds`));
    expect(sample(text, `${P}nodejs_heap_size_used_bytes`)).toBeGreaterThan(0);
    expect(sample(text, `${P}nodejs_eventloop_lag_p99_seconds`)).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(new RegExp(`^${P}nodejs_heap_space_size_used_bytes\\{space="old"\\} \\d+$`, 'm'));
    const [major, minor, patch] = process.versions.node.split('.');
    expect(text).toContain(
      `${P}nodejs_version_info{version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"} 1\n`,
    );
  });

  test('CPU seconds only grow from one scrape to the next', async () => {
    const before = sample(text, `${P}process_cpu_seconds_total`);
    for (let i = 0; i < 1e6; i++) Math.sqrt(i);
    const after = sample(await metrics.registry.metrics(), `${P}process_cpu_seconds_total`);
    expect(after).toBeGreaterThanOrEqual(before);
  });
});

test('promtool accepts /metrics; its only lint findings are the gauge names inherited from prom-client', async () => {
  const metrics = new RouterMetrics();
  metrics.invocations.inc({ processor: 'openfaas "prod"', subject: 'Vm\\Powered\nOn' });
  metrics.deliveryLatency.observe({ processor: 'stdout' }, 0.2);
  metrics.routerLatency.observe({ processor: 'stdout' }, 100);
  metrics.streamConnected.set({ provider: 'vmware_vcenter', stream: 'vc' }, 1);
  metrics.markStreamSuccess('vmware_vcenter', 'vc');
  const { status, output } = promtool(['check', 'metrics'], await metrics.registry.metrics());
  // Exit 3 is "lint problems" (a parse error is 1): dashboards and users query these names.
  const inherited = ['active_handles_total', 'active_requests_total', 'active_resources_total'].map(
    (n) => `${P}nodejs_${n} non-counter metrics should not have "_total" suffix`,
  );
  expect({ status, findings: output.trim().split('\n').sort() }).toEqual({ status: 3, findings: inherited });
});

test('/stats reads the counters /metrics renders (one source of truth)', async () => {
  const metrics = new RouterMetrics({ defaultMetrics: false });
  metrics.recordDelivery('stdout', 'VmPoweredOnEvent', undefined);
  metrics.recordDelivery('stdout', 'VmPoweredOnEvent', undefined);
  metrics.streamEvents.inc({ provider: 'vmware_vcenter', stream: 'vmware_vcenter' }, 2);
  const started = new Date();
  const stats = await buildStats(metrics, {
    streams: [{ provider: 'vmware_vcenter', label: 'vmware_vcenter', name: 'https://vc', started }],
    processors: [{ provider: 'stdout', label: 'stdout', name: 'stdout', started }],
  });
  const own = stats['vmware.event.router.stats'] as Record<string, Record<string, unknown>>;
  expect(own.stdout.invocations).toEqual({ VmPoweredOnEvent: 2 });
  expect(own.vmware_vcenter.events_total).toBe(2);
  const text = await metrics.registry.metrics();
  expect(text).toContain(
    `${P}processor_invocations_total{processor="stdout",subject="VmPoweredOnEvent"} 2\n`,
  );
  expect(text).toContain(`${P}stream_events_total{provider="vmware_vcenter",stream="vmware_vcenter"} 2\n`);
});
