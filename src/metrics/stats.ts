/**
 * The `/stats` document, in the shape of the original router's expvar page,
 * built from the same counters that `/metrics` renders.
 */
import os from 'node:os';
import { total, valuesByLabel, type RouterMetrics } from './metrics';

export interface ComponentInfo {
  provider: string;
  /** The metrics label: the entry's name, or its provider. */
  label: string;
  /** Processors: whether a filter is configured (its count is shown). */
  filtered?: boolean;
  /** What the original showed as `name`: the address, without credentials. */
  name: string;
  started: Date;
}

export interface StatsSources {
  streams: ComponentInfo[];
  processors: ComponentInfo[];
}

/**
 * The /stats key of each component: its provider, as the original's page had
 * it, unless two of the same provider are configured; then their names.
 */
function keyOf(c: ComponentInfo, all: ComponentInfo[]): string {
  const shared = all.filter((o) => o.provider === c.provider).length > 1;
  return shared ? c.label : c.provider;
}

export async function buildStats(
  metrics: RouterMetrics,
  sources: StatsSources,
): Promise<Record<string, unknown>> {
  const stats: Record<string, unknown> = {};
  for (const stream of sources.streams) {
    const labels = { provider: stream.provider, stream: stream.label };
    const eventsTotal = await total(metrics.streamEvents, labels);
    const eventsErr = await total(metrics.streamErrors, labels);
    const seconds = Math.max((Date.now() - stream.started.getTime()) / 1000, 1e-3);
    stats[keyOf(stream, sources.streams)] = {
      provider_type: 'stream',
      name: stream.name,
      started: stream.started.toISOString(),
      events_total: eventsTotal,
      events_err: eventsErr,
      events_per_sec: Math.round((eventsTotal / seconds) * 100) / 100,
    };
  }
  for (const processor of sources.processors) {
    const where = { processor: processor.label };
    stats[keyOf(processor, sources.processors)] = {
      provider_type: 'processor',
      name: processor.name,
      started: processor.started.toISOString(),
      invocations: await valuesByLabel(metrics.invocations, 'subject', where),
      // Deliveries given up after retries, per subject (as /metrics counts them), once there are any.
      ...((await total(metrics.invocationErrors, where)) > 0
        ? { failures: await valuesByLabel(metrics.invocationErrors, 'subject', where) }
        : {}),
      // Beyond the original's shape only where the original had no such feature.
      ...(processor.filtered ? { filtered: await total(metrics.filtered, where) } : {}),
    };
  }
  const mem = process.memoryUsage();
  return {
    cmdline: process.argv,
    memstats: {
      Alloc: mem.heapUsed,
      TotalAlloc: mem.heapTotal,
      Sys: mem.rss,
      HeapAlloc: mem.heapUsed,
      HeapSys: mem.heapTotal,
      External: mem.external,
      ArrayBuffers: mem.arrayBuffers,
    },
    'system.allLoad': os.loadavg()[0],
    'system.numberOfSeconds': Math.floor(process.uptime()),
    'system.programName': 'vmware-event-router',
    'vmware.event.router.stats': stats,
  };
}
