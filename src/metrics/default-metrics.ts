/**
 * The process and Node.js metrics, with the names, help texts, types and
 * labels of prom-client's default metrics (the dashboard, the alert rules and
 * users' own queries read them): CPU, start time, memory, file descriptors,
 * event loop lag, active handles, requests and resources, heap and heap
 * spaces, the Node.js version and garbage collection time.
 *
 * As in prom-client, the first metric of a group reads the source once (in
 * its `collect`) and sets the group; the registry reads metrics in
 * registration order, so the group is set before its other members render.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Counter, Gauge, Histogram, type Registry } from './registry';

/** The process start, in whole seconds since the epoch (prom-client's rounding). */
const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** How often the event loop delay is sampled, in milliseconds (prom-client's default). */
const EVENT_LOOP_RESOLUTION_MS = 10;

const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

/** Node's private handle and request lists (still present in Node 24; skipped when gone). */
interface NodeInternals {
  _getActiveHandles?: () => unknown[];
  _getActiveRequests?: () => unknown[];
}

/** Count of each value (a resource type, a handle's class name). */
function countBy(items: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

function classNames(objects: unknown[]): string[] {
  return objects
    .map((o) => (o as { constructor?: { name?: string } } | null)?.constructor?.name)
    .filter((n): n is string => n !== undefined);
}

/** Set a gauge to one series per type, the types that went away removed. */
function setByType(gauge: Gauge<'type'>, counts: Map<string, number>): void {
  gauge.reset();
  for (const [type, n] of counts) gauge.set({ type }, n);
}

/** `VmRSS`, `VmSize`, `VmData` of /proc/self/status, in bytes. */
function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmRSS|VmSize|VmData):\s*(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

/** The open files limit of /proc/self/limits, or undefined without procfs. */
function maxOpenFiles(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    return line ? Number(line.split(/  +/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

function cpuMetrics(registers: Registry[], prefix: string): void {
  let last = process.cpuUsage();
  const user = new Counter({
    name: prefix + 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const userSeconds = (now.user - last.user) / 1e6;
      const systemSeconds = (now.system - last.system) / 1e6;
      last = now;
      user.inc(userSeconds);
      system.inc(systemSeconds);
      both.inc(userSeconds + systemSeconds);
    },
  });
  const system = new Counter({
    name: prefix + 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers,
  });
  const both = new Counter({
    name: prefix + 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
  });
}

function memoryMetrics(registers: Registry[], prefix: string): void {
  const linux = process.platform === 'linux';
  const rss = new Gauge({
    name: prefix + 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      if (!linux) {
        rss.set(process.memoryUsage.rss());
        return;
      }
      try {
        const status = procStatus();
        rss.set(status.VmRSS);
        virtual?.set(status.VmSize);
        heap?.set(status.VmData);
      } catch {
        // /proc unreadable (a hardened sandbox): the last values stay.
      }
    },
  });
  const virtual = linux
    ? new Gauge({
        name: prefix + 'process_virtual_memory_bytes',
        help: 'Virtual memory size in bytes.',
        registers,
      })
    : undefined;
  const heap = linux
    ? new Gauge({ name: prefix + 'process_heap_bytes', help: 'Process heap size in bytes.', registers })
    : undefined;
}

function fileDescriptorMetrics(registers: Registry[], prefix: string): void {
  if (process.platform === 'linux')
    new Gauge({
      name: prefix + 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers,
      collect() {
        try {
          // Less the descriptor readdirSync itself opened (closed by now).
          this.set(readdirSync('/proc/self/fd').length - 1);
        } catch {
          // /proc unreadable: the last value stays.
        }
      },
    });
  const max = maxOpenFiles();
  if (max !== undefined)
    new Gauge({
      name: prefix + 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      registers,
      collect() {
        this.set(max);
      },
    });
}

function eventLoopMetrics(registers: Registry[], prefix: string): void {
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  delay.enable();
  const gauge = (suffix: string, help: string) =>
    new Gauge({ name: `${prefix}nodejs_eventloop_lag_${suffix}seconds`, help, registers });
  const lag = new Gauge({
    name: prefix + 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers,
    collect() {
      // The time to the next turn of the loop; it shows in the next scrape, as in prom-client.
      const start = process.hrtime.bigint();
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
      min.set(delay.min / 1e9);
      max.set(delay.max / 1e9);
      mean.set(delay.mean / 1e9);
      stddev.set(delay.stddev / 1e9);
      p50.set(delay.percentile(50) / 1e9);
      p90.set(delay.percentile(90) / 1e9);
      p99.set(delay.percentile(99) / 1e9);
      delay.reset();
    },
  });
  const min = gauge('min_', 'The minimum recorded event loop delay.');
  const max = gauge('max_', 'The maximum recorded event loop delay.');
  const mean = gauge('mean_', 'The mean of the recorded event loop delays.');
  const stddev = gauge('stddev_', 'The standard deviation of the recorded event loop delays.');
  const p50 = gauge('p50_', 'The 50th percentile of the recorded event loop delays.');
  const p90 = gauge('p90_', 'The 90th percentile of the recorded event loop delays.');
  const p99 = gauge('p99_', 'The 99th percentile of the recorded event loop delays.');
}

function activityMetrics(registers: Registry[], prefix: string): void {
  new Gauge({
    name: prefix + 'nodejs_active_resources',
    help: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
    labelNames: ['type'],
    registers,
    collect() {
      setByType(this, countBy(process.getActiveResourcesInfo()));
    },
  });
  new Gauge({
    name: prefix + 'nodejs_active_resources_total',
    help: 'Total number of active resources.',
    registers,
    collect() {
      this.set(process.getActiveResourcesInfo().length);
    },
  });
  const internals = process as unknown as NodeInternals;
  const libuvLists = [
    { plural: 'handles', singular: 'handle', list: internals._getActiveHandles },
    { plural: 'requests', singular: 'request', list: internals._getActiveRequests },
  ];
  for (const { plural, singular, list } of libuvLists) {
    if (typeof list !== 'function') continue;
    const read = (): unknown[] => list.call(process);
    new Gauge({
      name: `${prefix}nodejs_active_${plural}`,
      help: `Number of active libuv ${plural} grouped by ${singular} type. Every ${singular} type is C++ class name.`,
      labelNames: ['type'],
      registers,
      collect() {
        setByType(this, countBy(classNames(read())));
      },
    });
    new Gauge({
      name: `${prefix}nodejs_active_${plural}_total`,
      help: `Total number of active ${plural}.`,
      registers,
      collect() {
        this.set(read().length);
      },
    });
  }
}

function heapMetrics(registers: Registry[], prefix: string): void {
  const total = new Gauge({
    name: prefix + 'nodejs_heap_size_total_bytes',
    help: 'Process heap size from Node.js in bytes.',
    registers,
    collect() {
      const mem = process.memoryUsage();
      total.set(mem.heapTotal);
      used.set(mem.heapUsed);
      external.set(mem.external);
    },
  });
  const used = new Gauge({
    name: prefix + 'nodejs_heap_size_used_bytes',
    help: 'Process heap size used from Node.js in bytes.',
    registers,
  });
  const external = new Gauge({
    name: prefix + 'nodejs_external_memory_bytes',
    help: 'Node.js external memory size in bytes.',
    registers,
  });

  const space = (kind: 'total' | 'used' | 'available') =>
    new Gauge({
      name: `${prefix}nodejs_heap_space_size_${kind}_bytes`,
      help: `Process heap space size ${kind} from Node.js in bytes.`,
      labelNames: ['space'],
      registers,
    });
  const spaceTotal = space('total');
  const spaceUsed = space('used');
  const spaceAvailable = space('available');
  spaceTotal.collect = () => {
    for (const s of v8.getHeapSpaceStatistics()) {
      // `old_space` is reported as `old`, as prom-client does.
      const labels = { space: s.space_name.slice(0, s.space_name.indexOf('_space')) };
      spaceTotal.set(labels, s.space_size);
      spaceUsed.set(labels, s.space_used_size);
      spaceAvailable.set(labels, s.space_available_size);
    }
  };
}

function versionMetric(registers: Registry[], prefix: string): void {
  const [major, minor, patch] = process.version.slice(1).split('.').map(Number);
  new Gauge({
    name: prefix + 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'],
    registers,
    collect() {
      this.set({ version: process.version, major, minor, patch }, 1);
    },
  });
}

function gcMetric(registers: Registry[], prefix: string): void {
  const kinds: Record<number, string> = {
    [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const histogram = new Histogram({
    name: prefix + 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_BUCKETS,
    registers,
  });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // A GC entry's kind is in `detail` (Node's types leave `detail` out).
      const kind = kinds[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1];
      histogram.observe(kind === undefined ? {} : { kind }, entry.duration / 1000);
    }
  }).observe({ entryTypes: ['gc'] });
}

/**
 * Register the process and Node.js metrics on `registry` (in prom-client's
 * order, the order /metrics shows), their names prefixed with `prefix`. The
 * event loop monitor and the GC observer run from then on, for the life of
 * the process.
 */
export function collectDefaultMetrics(registry: Registry, prefix = ''): void {
  const registers = [registry];
  cpuMetrics(registers, prefix);
  new Gauge({
    name: prefix + 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
    collect() {
      this.set(START_SECONDS);
    },
  });
  memoryMetrics(registers, prefix);
  fileDescriptorMetrics(registers, prefix);
  eventLoopMetrics(registers, prefix);
  activityMetrics(registers, prefix);
  heapMetrics(registers, prefix);
  versionMetric(registers, prefix);
  gcMetric(registers, prefix);
}
