/**
 * The `/stats` document, in the shape of the original router's expvar page,
 * built from the same prom-client counters that `/metrics` renders.
 */
import os from 'node:os';
import { total, valuesByLabel, type RouterMetrics } from './metrics';

export interface ComponentInfo {
  provider: string;
  /** What the original showed as `name`: the address, without credentials. */
  name: string;
  started: Date;
}

export interface StatsSources {
  stream: ComponentInfo;
  processor: ComponentInfo;
}

export async function buildStats(
  metrics: RouterMetrics,
  sources: StatsSources,
): Promise<Record<string, unknown>> {
  const { stream, processor } = sources;
  const eventsTotal = await total(metrics.streamEvents, { provider: stream.provider });
  const eventsErr = await total(metrics.streamErrors, { provider: stream.provider });
  const seconds = Math.max((Date.now() - stream.started.getTime()) / 1000, 1e-3);
  const invocations = await valuesByLabel(metrics.invocations, 'subject', { processor: processor.provider });
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
    'vmware.event.router.stats': {
      [stream.provider]: {
        provider_type: 'stream',
        name: stream.name,
        started: stream.started.toISOString(),
        events_total: eventsTotal,
        events_err: eventsErr,
        events_per_sec: Math.round((eventsTotal / seconds) * 100) / 100,
      },
      [processor.provider]: {
        provider_type: 'processor',
        name: processor.name,
        started: processor.started.toISOString(),
        invocations,
      },
    },
  };
}
