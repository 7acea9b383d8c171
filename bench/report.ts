/**
 * The bench's figures and its report: quantiles, the latency analysis of what
 * the peer recorded, the router's own-share histogram, the tables and the
 * text of docs/benchmarks.md. Pure functions of the measured data (no
 * process, no file, no clock), so the unit tests pin every rule; the .mjs
 * drivers load the compiled module from dist/bench/report.js.
 */
import { NODE_FLAGS } from '../src/cli/node-flags';

/** How the bench starts our router: with the flags the image gives node. */
const routerCommand = ['node', ...NODE_FLAGS, 'dist/src/cli/main.js'].join(' ');

/**
 * Nearest-rank quantile of ascending `sorted` samples (0 < q <= 1): the
 * smallest sample with at least q of all samples at or below it, i.e.
 * sorted[ceil(q·n) − 1]. Always one of the samples, never an interpolation;
 * q = 0.5 is the lower median of an even count. Every sample figure of the
 * bench (p50, p99, the median RSS, the median conversion round) uses it.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** `values` in ascending order (a copy). */
export function ascending(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

// ------------------------------------------------------------------ latency at the peer

/** What the peer recorded for one arrival: the event's key, its createdTime and the arrival (ms). */
export type ArrivalRecord = readonly [key: number, createdMs: number, arrivalMs: number, source?: string];
/** Keys (k0, k1] of one repetition of a phase. */
export type KeyRange = readonly [k0: number, k1: number];

export interface Delivery {
  /** Wake-ups of the simulator seen as separate batches of arrivals. */
  batches: number;
  /** Latency after the wake-up that released the event (arrival − newest createdTime of its batch). */
  wakeP50: number;
  wakeP99: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Lost, duplicated and latency (arrival − createdTime) of one client's
 * arrivals whose keys fall in `ranges`. Lost = keys in the ranges never
 * received; duplicated = extra arrivals of a key. The simulator wakes its
 * WaitForUpdatesEx every tick, so events arrive in batches: arrivals more
 * than `batchGapMs` apart belong to different wake-ups, and the "after
 * wake-up" latency is measured from the newest createdTime of the batch
 * (the part a follower adds once the simulator answers).
 */
export function analyse(
  records: readonly ArrivalRecord[],
  ranges: readonly KeyRange[],
  batchGapMs = 50,
): Delivery {
  const inRange = (key: number) => ranges.some(([k0, k1]) => key > k0 && key <= k1);
  const expected = ranges.reduce((n, [k0, k1]) => n + (k1 - k0), 0);
  const latency = new Map<number, number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let lastKey = -Infinity;
  const firsts: ArrivalRecord[] = [];
  for (const record of records) {
    const [key, created, arrival] = record;
    if (!inRange(key)) continue;
    if (latency.has(key)) {
      duplicated++;
      continue;
    }
    if (key < lastKey) outOfOrder++;
    lastKey = key;
    latency.set(key, arrival - created);
    firsts.push(record);
  }
  const lat = ascending(latency.values());
  firsts.sort((a, b) => a[2] - b[2]);
  const afterWake: number[] = [];
  let batches = 0;
  for (let i = 0; i < firsts.length;) {
    let j = i + 1;
    while (j < firsts.length && firsts[j][2] - firsts[j - 1][2] <= batchGapMs) j++;
    let newest = -Infinity;
    for (let x = i; x < j; x++) newest = Math.max(newest, firsts[x][1]);
    for (let x = i; x < j; x++) afterWake.push(Math.max(0, firsts[x][2] - newest));
    batches++;
    i = j;
  }
  afterWake.sort((a, b) => a - b);
  return {
    batches,
    wakeP50: quantile(afterWake, 0.5),
    wakeP99: quantile(afterWake, 0.99),
    expected,
    delivered: latency.size,
    lost: expected - latency.size,
    duplicated,
    outOfOrder,
    min: lat.length ? lat[0] : NaN,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    max: lat.length ? lat[lat.length - 1] : NaN,
  };
}

// ------------------------------------------------------------------ the router's own share (/metrics)

export const SHARE_METRIC = 'vmware_event_router_router_latency_seconds';

/** A Prometheus histogram summed over its label sets: cumulative counts per upper bound (seconds). */
export interface Histogram {
  buckets: Array<[le: number, count: number]>;
  count: number;
  sum: number;
}

/** The router's `router_latency_seconds` histogram in a /metrics text, summed over processors. */
export function parseShare(metricsText: string): Histogram {
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(SHARE_METRIC)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    const le = /le="([^"]+)"/.exec(line);
    if (line.startsWith(SHARE_METRIC + '_bucket') && le) {
      const k = le[1] === '+Inf' ? Infinity : Number(le[1]);
      buckets.set(k, (buckets.get(k) ?? 0) + v);
    } else if (line.startsWith(SHARE_METRIC + '_count')) count += v;
    else if (line.startsWith(SHARE_METRIC + '_sum')) sum += v;
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), count, sum };
}

/** b − a, bucket by bucket (what a phase added). */
export function shareDelta(a: Histogram, b: Histogram): Histogram {
  const before = new Map(a.buckets);
  return {
    buckets: b.buckets.map(([le, n]) => [le, n - (before.get(le) ?? 0)]),
    count: b.count - a.count,
    sum: b.sum - a.sum,
  };
}

export function shareAdd(a: Histogram | undefined, b: Histogram): Histogram {
  if (!a) return b;
  const m = new Map(a.buckets);
  return {
    buckets: b.buckets.map(([le, n]) => [le, n + (m.get(le) ?? 0)]),
    count: a.count + b.count,
    sum: a.sum + b.sum,
  };
}

/**
 * The q-quantile (0..1) of a histogram in ms, interpolated linearly inside
 * its bucket as Prometheus' histogram_quantile does. A histogram keeps no
 * samples, so nearest-rank cannot apply: this rule is for the router's own
 * share only, and the report says so.
 */
export function histogramQuantile(h: Histogram | undefined, q: number): number {
  if (!h || h.count <= 0) return NaN;
  const rank = q * h.count;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of h.buckets) {
    if (n >= rank) {
      if (le === Infinity) return prevLe * 1000;
      return (prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN)) * 1000;
    }
    prevLe = le;
    prevN = n;
  }
  return NaN;
}

export interface ShareStats {
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

export function shareStats(h: Histogram | undefined): ShareStats {
  return {
    n: h?.count ?? 0,
    mean: h && h.count > 0 ? (h.sum / h.count) * 1000 : NaN,
    p50: histogramQuantile(h, 0.5),
    p99: histogramQuantile(h, 0.99),
  };
}

// ------------------------------------------------------------------ the measured data

export interface RssStats {
  min: number;
  median: number;
  max: number;
  n: number;
}

/** {min, median, max} of memory samples (MB). */
export function rssStats(samplesMb: Iterable<number>): RssStats {
  const v = ascending(samplesMb);
  if (v.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
  return { min: v[0], median: quantile(v, 0.5), max: v[v.length - 1], n: v.length };
}

export interface ClientPhase extends Delivery {
  /** p50 and p99 of each repetition on its own. */
  p50Each: number[];
  p99Each: number[];
  cpuSeconds: number;
  cpuPer1000: number;
  cpuPer1000Posted: number;
  rss: { max: number };
}

export interface Phase {
  name: string;
  repeat: number;
  posted: { posted: number; seconds: number };
  k0: number;
  k1: number;
  ranges: KeyRange[];
  drain: string;
  seconds: number;
  share: ShareStats;
  warning?: string;
  ours: ClientPhase;
  ref: ClientPhase;
}

export interface Simulator {
  bin: string;
  tickMs: number;
  /** The targets are judged on this simulator. */
  targets: boolean;
}

export interface Run {
  simulator: Simulator;
  protocol: string;
  viJsonCalls?: { vijson_calls: number; soap_calls: number };
  loadAtStart: number[];
  loadAtEnd: number[];
  idle: { ours: RssStats; ref: RssStats; cpuOurs: number; cpuRef: number };
  peakAll: { ours: RssStats; ref: RssStats };
  phases: Phase[];
  routerCode: number | null;
  refCode: number | null;
  diedEarly: { ours: boolean; ref: boolean };
  routerErrors: string[];
  refErrors: number;
  refFinal: string;
}

export interface Conversion {
  events: number;
  bytes: number;
  classes: Record<string, number>;
  /** Median round per pipeline (events/s). */
  results: Record<string, number>;
  best: Record<string, number>;
  rounds: number;
  loadavg: number;
  vijson?: { events: number; sameData: number };
}

export interface Machine {
  nproc: string;
  free: string;
  cpu: string;
  /** The Node.js of the bench driver (the machine's `node`). */
  node: string;
  /** The Node.js the router ran on (the line the image ships). */
  routerNode: string;
  go: string;
  kernel: string;
  govmomi: string;
}

/** A part of the bench that failed or ran past its time limit. */
export interface PartError {
  error: string;
}

/** Time from spawning the router to /readyz 200, per start (ms). */
export interface Startup {
  ms: number[];
}

/**
 * Two idle routers side by side, one with watchdog_interval `intervalSeconds`,
 * one with the watchdog off, for the same window (bench/watchdog-cost.mjs).
 */
export interface WatchdogCost {
  streams: number;
  intervalSeconds: number;
  windowSeconds: number;
  /** latestEvent reads of the router with the watchdog, in the window. */
  reads: number;
  /** latestEvent reads of the router without it (must be 0). */
  readsOff: number;
  cpuOn: number;
  cpuOff: number;
  /** Watchdog recoveries in the window (an idle stream that is not behind: 0). */
  recoveries: number;
}

/** One router following `vcenters` simulators (bench/fleet.mjs). */
export interface FleetResult extends FleetDelivery {
  vcenters: number;
  eventsEach: number;
  simStartSeconds: number;
  /** Spawn of the router to /readyz 200 with every stream connected. */
  readySeconds: number;
  drain: string;
  drainSeconds: number;
  /** Router CPU over posting and delivery. */
  cpuSeconds: number;
  /** After the events: median of 3 s. */
  rssIdle: RssStats;
  /** The largest VmRSS sample of the part, and VmHWM at its end. */
  rssPeak: number;
  rssHwm: number;
  /** All simulators together (VmRSS at the end). */
  simRssMb: number;
  routerCode: number | null;
}

/** Our router alone on another Node.js line (bench/node-line.mjs). */
export interface NodeLineRun {
  line: string;
  node: string;
  idle: RssStats;
  /** The largest RSS sample during the 1,000-event burst. */
  peak1k: number;
  lost: number;
  duplicated: number;
  drain: string;
}

export interface BenchResult {
  when: string;
  machine: Machine;
  quick: boolean;
  loadAtStart: number[];
  loadAtEnd: number[];
  routerNodeArgs: string[];
  runs: Run[];
  conversion: Conversion;
  startup?: Startup | PartError;
  watchdog?: WatchdogCost | PartError;
  nodeLine?: NodeLineRun | PartError;
  fleet?: FleetResult | PartError;
  seconds: number;
}

const failed = <T extends object>(p: T | PartError | undefined): p is PartError =>
  p !== undefined && 'error' in p;

// ------------------------------------------------------------------ many vCenters

/** What one router delivered from many vCenters, each with its own key space. */
export interface FleetDelivery {
  posted: number;
  /** Distinct (vCenter, key) pairs received. */
  delivered: number;
  lost: number;
  duplicated: number;
  /** Arrivals from no vCenter of the part, or keys beyond what a vCenter was posted. */
  unexpected: number;
  /** Latency (arrival − createdTime) of the first arrival of each event (ms). */
  p50: number;
  p99: number;
}

/**
 * Lost, duplicated and latency of the events of many vCenters: `records` as
 * the peer keeps them (their source is the stream's address), `addresses`
 * the vCenters' addresses, `posted[i]` the events posted to `addresses[i]`
 * (the only events of the subscribed class there). Sources are matched by
 * host and port (the CloudEvent source carries no credentials).
 */
export function fleetDelivery(
  records: readonly ArrivalRecord[],
  addresses: readonly string[],
  posted: readonly number[],
): FleetDelivery {
  const hostOf = (address: string) => {
    try {
      return new URL(address).host;
    } catch {
      return address;
    }
  };
  const index = new Map(addresses.map((a, i) => [hostOf(a), i]));
  const keys = addresses.map(() => new Set<number>());
  const latency: number[] = [];
  let duplicated = 0;
  let unexpected = 0;
  for (const [key, created, arrival, source] of records) {
    const i = source === undefined ? undefined : index.get(hostOf(source));
    if (i === undefined) {
      unexpected++;
    } else if (keys[i].has(key)) {
      duplicated++;
    } else {
      keys[i].add(key);
      latency.push(arrival - created);
    }
  }
  let lost = 0;
  keys.forEach((k, i) => {
    lost += Math.max(0, posted[i] - k.size);
    unexpected += Math.max(0, k.size - posted[i]);
  });
  const lat = ascending(latency);
  return {
    posted: posted.reduce((a, n) => a + n, 0),
    delivered: keys.reduce((a, k) => a + k.size, 0),
    lost,
    duplicated,
    unexpected,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
  };
}

// ------------------------------------------------------------------ tables

export const CLASS = 'VmMessageEvent';

// Each judged against the reference measured in the same run, on the simulator with the 20 ms tick.
export const TARGETS = {
  rssIdle: 64,
  rssPeak1k: 100,
  cpuRatio: 0.6,
  conversion: 10_000,
  /** One router following 50 vCenters, idle after their events (MB). */
  rssFleetIdle: 110,
  /** The watchdog at one read a minute, per stream (% of one core). */
  watchdogCorePercent: 1,
};

export function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(digits) : 'n/a';
}

function passFail(ok: boolean): string {
  return ok ? 'met' : '**missed**';
}

/** CPU seconds per 1,000 events delivered over all phases of a run. */
function cpuAll(run: Run, client: 'ours' | 'ref'): number {
  let cpu = 0;
  let n = 0;
  for (const p of run.phases) {
    cpu += p[client].cpuSeconds;
    n += p[client].delivered;
  }
  return n ? (cpu * 1000) / n : NaN;
}

export interface Row {
  metric: string;
  target: string;
  ours: string;
  ref: string;
  ratioStr: string;
  verdict: string;
}

/** Rows of one simulator's run; verdicts only where the simulator carries the targets. */
export function figures(run: Run): Row[] {
  const judge = run.simulator.targets && run.protocol !== 'vi_json';
  const v = (ok: boolean) => (judge ? passFail(ok) : '');
  const t = (x: string) => (judge ? x : '—');
  const [steady, b1k, b10k] = run.phases;
  const rows: Row[] = [];
  const row = (
    metric: string,
    target: string,
    ours: string,
    ref: string,
    ratioStr: string,
    verdict: string,
  ) => rows.push({ metric, target, ours, ref, ratioStr, verdict });
  for (const p of run.phases) {
    row(
      `${p.name}${p.repeat > 1 ? ` (× ${p.repeat})` : ''}: lost / duplicated`,
      '0 / 0',
      `${p.ours.lost} / ${p.ours.duplicated}`,
      `${p.ref.lost} / ${p.ref.duplicated}`,
      '',
      passFail(p.ours.lost === 0 && p.ours.duplicated === 0),
    );
  }
  row(
    'steady: latency min (ms)',
    '—',
    fmt(steady.ours.min),
    fmt(steady.ref.min),
    ratio(steady.ours.min, steady.ref.min),
    '',
  );
  for (const [q, key] of [
    ['p50', 'wakeP50'],
    ['p99', 'wakeP99'],
  ] as const) {
    row(
      `steady: latency after the simulator's ${run.simulator.tickMs} ms wake-up, ${q} (ms)`,
      '—',
      fmt(steady.ours[key]),
      fmt(steady.ref[key]),
      ratio(steady.ours[key], steady.ref[key]),
      '',
    );
  }
  for (const q of ['p50', 'p99'] as const) {
    row(
      `steady: latency ${q} (ms)${steady.repeat > 1 ? ` (${steady.repeat} runs pooled)` : ''}`,
      t('≤ reference'),
      fmt(steady.ours[q]),
      fmt(steady.ref[q]),
      ratio(steady.ours[q], steady.ref[q]),
      v(steady.ours[q] <= steady.ref[q]),
    );
  }
  row(
    'steady: latency max (ms)',
    '—',
    fmt(steady.ours.max),
    fmt(steady.ref.max),
    ratio(steady.ours.max, steady.ref.max),
    '',
  );
  for (const p of [b1k, b10k]) {
    const pname = p.repeat > 1 ? `${p.name} (${p.repeat} runs pooled)` : p.name;
    row(`${pname}: latency p50 (ms)`, '—', fmt(p.ours.p50), fmt(p.ref.p50), ratio(p.ours.p50, p.ref.p50), '');
    row(
      `${pname}: latency p99 (ms)`,
      t('≤ reference'),
      fmt(p.ours.p99),
      fmt(p.ref.p99),
      ratio(p.ours.p99, p.ref.p99),
      v(p.ours.p99 <= p.ref.p99),
    );
    row(`${pname}: latency max (ms)`, '—', fmt(p.ours.max), fmt(p.ref.max), ratio(p.ours.max, p.ref.max), '');
  }
  for (const p of run.phases) {
    row(
      `${p.name}: router's own share p50 / p99 (ms) [n]`,
      '—',
      `${fmt(p.share.p50, 2)} / ${fmt(p.share.p99, 2)} [${p.share.n}]`,
      '—',
      '',
      '',
    );
  }
  row(
    'RSS idle (MB)',
    t(`≤ ${TARGETS.rssIdle}`),
    fmt(run.idle.ours.median),
    fmt(run.idle.ref.median),
    ratio(run.idle.ours.median, run.idle.ref.median),
    v(run.idle.ours.median <= TARGETS.rssIdle),
  );
  row(
    `RSS peak, ${b1k.name} (MB)`,
    t(`≤ ${TARGETS.rssPeak1k}`),
    fmt(b1k.ours.rss.max),
    fmt(b1k.ref.rss.max),
    ratio(b1k.ours.rss.max, b1k.ref.rss.max),
    v(b1k.ours.rss.max <= TARGETS.rssPeak1k),
  );
  row(
    `RSS peak, ${b10k.name} (MB)`,
    '—',
    fmt(b10k.ours.rss.max),
    fmt(b10k.ref.rss.max),
    ratio(b10k.ours.rss.max, b10k.ref.rss.max),
    '',
  );
  row(
    'RSS peak, whole run (MB)',
    '—',
    fmt(run.peakAll.ours.max),
    fmt(run.peakAll.ref.max),
    ratio(run.peakAll.ours.max, run.peakAll.ref.max),
    '',
  );
  for (const p of run.phases) {
    row(
      `${p.name}: CPU s per 1,000 delivered`,
      '—',
      fmt(p.ours.cpuPer1000, 3),
      fmt(p.ref.cpuPer1000, 3),
      ratio(p.ours.cpuPer1000, p.ref.cpuPer1000),
      '',
    );
  }
  const ours = cpuAll(run, 'ours');
  const ref = cpuAll(run, 'ref');
  row(
    'all phases: CPU s per 1,000 delivered',
    t(`≤ ${TARGETS.cpuRatio} × reference`),
    fmt(ours, 3),
    fmt(ref, 3),
    ratio(ours, ref),
    v(ours <= TARGETS.cpuRatio * ref),
  );
  return rows;
}

const SOAP_PIPELINE = 'parseXml + convertEvent + toCloudEvent + cloudEventJson';
const SOAP_FAST_PIPELINE = 'parseXmlFast + convertEvent + toCloudEvent + cloudEventJson';
const VIJSON_PIPELINE = 'VI/JSON: parseViJson + convertJsonEvent + toCloudEvent + cloudEventJson';

export function conversionRows(r: BenchResult): Row[] {
  const conv = r.conversion.results[SOAP_PIPELINE];
  const convFast = r.conversion.results[SOAP_FAST_PIPELINE];
  const rows: Row[] = [
    {
      metric: 'conversion, parseXml path (events/s, one core)',
      target: '≥ 10,000',
      ours: String(conv),
      ref: '—',
      ratioStr: '',
      verdict: passFail(conv >= TARGETS.conversion),
    },
    {
      metric: "conversion, parseXmlFast path (the router's) (events/s)",
      target: '≥ 10,000',
      ours: String(convFast),
      ref: '—',
      ratioStr: '',
      verdict: passFail(convFast >= TARGETS.conversion),
    },
  ];
  // The VI/JSON pipeline on the same page: at least 1.5 × the router's SOAP path.
  const vj = r.conversion.vijson;
  const convJson = r.conversion.results[VIJSON_PIPELINE];
  if (vj && convJson !== undefined)
    rows.push({
      metric: `conversion, VI/JSON path (events/s, one core; same page, ${vj.sameData}/${vj.events} events with equal data)`,
      target: '≥ 1.5 × parseXmlFast path',
      ours: String(convJson),
      ref: '—',
      ratioStr: ratio(convJson, convFast),
      verdict: passFail(convJson >= 1.5 * convFast && vj.sameData === vj.events),
    });
  return rows;
}

/** A figure of a part where our router runs alone (no reference beside it). */
export interface PartRow {
  metric: string;
  target: string;
  value: string;
  verdict: string;
}

export function partTable(rows: readonly PartRow[]): string {
  const out = ['| metric | target | value | verdict |', '|---|---|---|---|'];
  for (const x of rows) out.push(`| ${x.metric} | ${x.target} | ${x.value} | ${x.verdict} |`);
  return out.join('\n');
}

/** The figures of the fleet part: every event once, and the router's memory. */
export function fleetRows(f: FleetResult): PartRow[] {
  return [
    {
      metric: `${f.vcenters} vCenters × ${f.eventsEach} events: lost / duplicated / unexpected`,
      target: '0 / 0 / 0',
      value: `${f.lost} / ${f.duplicated} / ${f.unexpected} (${f.delivered} of ${f.posted} delivered; ${f.drain})`,
      verdict: passFail(f.lost === 0 && f.duplicated === 0 && f.unexpected === 0 && f.posted > 0),
    },
    {
      metric: `RSS idle after the events, ${f.vcenters} vCenters (MB)`,
      target: `≤ ${TARGETS.rssFleetIdle}`,
      value: fmt(f.rssIdle.median),
      verdict: passFail(f.rssIdle.median <= TARGETS.rssFleetIdle),
    },
    {
      metric: 'RSS peak, largest sample / VmHWM (MB)',
      target: '—',
      value: `${fmt(f.rssPeak)} / ${fmt(f.rssHwm)}`,
      verdict: '',
    },
    {
      metric: 'latency p50 / p99 (ms)',
      target: '—',
      value: `${fmt(f.p50)} / ${fmt(f.p99)}`,
      verdict: '',
    },
    {
      metric: 'router CPU over posting and delivery (s)',
      target: '—',
      value: `${fmt(f.cpuSeconds, 2)} (${fmt(f.drainSeconds)} s)`,
      verdict: '',
    },
    {
      metric: 'start to /readyz 200 with every stream connected (s)',
      target: '—',
      value: fmt(f.readySeconds),
      verdict: '',
    },
    {
      metric: `${f.vcenters} simulators started in parallel (s) / their RSS together (MB)`,
      target: '—',
      value: `${fmt(f.simStartSeconds)} / ${fmt(f.simRssMb, 0)}`,
      verdict: '',
    },
  ];
}

/**
 * CPU ms per watchdog read (the difference of the two routers over the reads),
 * and what one read a minute costs a stream, in % of one core.
 */
export function watchdogShare(w: WatchdogCost): { perReadMs: number; corePercent: number } {
  const perReadMs = w.reads > 0 ? ((w.cpuOn - w.cpuOff) * 1000) / w.reads : NaN;
  return { perReadMs, corePercent: (perReadMs / 60_000) * 100 };
}

export function watchdogRows(w: WatchdogCost): PartRow[] {
  const { perReadMs, corePercent } = watchdogShare(w);
  // The cost is only known when the reads happened, and only in the router that has the watchdog on.
  const counted = w.reads > 0 && w.readsOff === 0;
  return [
    {
      metric: `latestEvent reads in ${w.windowSeconds} s, ${w.streams} streams, interval ${w.intervalSeconds} s (watchdog off: reads)`,
      target: '—',
      value: `${w.reads} (${w.readsOff})`,
      verdict: '',
    },
    {
      metric: 'router CPU in the window, watchdog on / off (s)',
      target: '—',
      value: `${fmt(w.cpuOn, 2)} / ${fmt(w.cpuOff, 2)}`,
      verdict: '',
    },
    { metric: 'CPU per watchdog read (ms)', target: '—', value: fmt(perReadMs, 2), verdict: '' },
    {
      metric: 'one read a minute (the default), per stream (% of one core)',
      target: `< ${TARGETS.watchdogCorePercent} %`,
      value: fmt(corePercent, 4),
      verdict: passFail(counted && corePercent < TARGETS.watchdogCorePercent),
    },
    {
      metric: 'watchdog recoveries in the window (idle streams, not behind)',
      target: '0',
      value: String(w.recoveries),
      verdict: passFail(w.recoveries === 0),
    },
  ];
}

export function nodeLineRows(n: NodeLineRun): PartRow[] {
  return [
    {
      metric: `Node.js ${n.node}: RSS idle (MB)`,
      target: `≤ ${TARGETS.rssIdle}`,
      value: fmt(n.idle.median),
      verdict: passFail(n.idle.median <= TARGETS.rssIdle),
    },
    {
      metric: `Node.js ${n.node}: RSS peak, burst 1,000 (MB)`,
      target: `≤ ${TARGETS.rssPeak1k}`,
      value: fmt(n.peak1k),
      verdict: passFail(n.peak1k <= TARGETS.rssPeak1k),
    },
    {
      metric: `Node.js ${n.node}: burst 1,000: lost / duplicated`,
      target: '0 / 0',
      value: `${n.lost} / ${n.duplicated} (${n.drain})`,
      verdict: passFail(n.lost === 0 && n.duplicated === 0),
    },
  ];
}

export function startupRows(st: Startup): PartRow[] {
  return [
    {
      metric: `start to /readyz 200 (ms), ${st.ms.length} start${st.ms.length > 1 ? 's' : ''}, median [each]`,
      target: '—',
      value: `${fmt(quantile(ascending(st.ms), 0.5), 0)} [${st.ms.map((x) => fmt(x, 0)).join(', ')}]`,
      verdict: '',
    },
  ];
}

/** The run judged on the targets: the SOAP run on the simulator that carries them. */
function judgedRun(r: BenchResult): Run | undefined {
  return r.runs.find((x) => x.simulator.targets && x.protocol !== 'vi_json');
}

/** Every target of the router's memory, CPU and latency, with its verdict, in one table. */
export function targetRows(r: BenchResult): PartRow[] {
  const run = judgedRun(r);
  const rows: PartRow[] = (run ? figures(run) : [])
    .filter((x) => x.verdict !== '' && !x.metric.includes('lost / duplicated'))
    .map((x) => ({
      metric: x.metric,
      target: x.target,
      value: `${x.ours} (reference ${x.ref})`,
      verdict: x.verdict,
    }));
  const fleet = r.fleet;
  if (fleet && !failed(fleet)) rows.push(...fleetRows(fleet).filter((x) => x.verdict !== ''));
  else if (fleet)
    rows.push({ metric: 'many vCenters', target: '', value: fleet.error, verdict: '**missed**' });
  const line = r.nodeLine;
  if (line && !failed(line)) rows.push(...nodeLineRows(line).filter((x) => x.metric.includes('RSS')));
  else if (line) rows.push({ metric: 'Node.js 22', target: '', value: line.error, verdict: '**missed**' });
  const wd = r.watchdog;
  if (wd && !failed(wd)) rows.push(...watchdogRows(wd).filter((x) => x.target.startsWith('<')));
  else if (wd) rows.push({ metric: 'watchdog cost', target: '', value: wd.error, verdict: '**missed**' });
  return rows;
}

/** Each run of the repeated phases on its own: steady p50/p99, burst p99. */
export function runByRun(run: Run): string {
  const [steady, b1k] = run.phases;
  const n = Math.max(steady.repeat, b1k.repeat);
  if (n <= 1) return '';
  const pair = (a: number[], b: number[], i: number) =>
    i < a.length ? `${fmt(a[i], 0)} / ${fmt(b[i], 0)}` : '—';
  const lines = Array.from(
    { length: n },
    (_, i) =>
      `| ${i + 1} | ${pair(steady.ours.p50Each, steady.ref.p50Each, i)} | ${pair(steady.ours.p99Each, steady.ref.p99Each, i)} | ${pair(b1k.ours.p99Each, b1k.ref.p99Each, i)} |`,
  );
  return `| run | ${steady.name}: p50 ms, ours / ref | p99 ms, ours / ref | ${b1k.name}: p99 ms, ours / ref |
|---|---|---|---|
${lines.join('\n')}`;
}

export function table(rows: readonly Row[]): string {
  const out = ['| metric | target | ours | reference | ours/ref | verdict |', '|---|---|---|---|---|---|'];
  for (const x of rows)
    out.push(`| ${x.metric} | ${x.target} | ${x.ours} | ${x.ref} | ${x.ratioStr} | ${x.verdict} |`);
  return out.join('\n');
}

function phaseTable(run: Run): string {
  const phaseLines = run.phases.map(
    (p) =>
      `| ${p.name} | ${p.repeat} | ${p.posted.posted} | ${fmt(p.posted.seconds, 2)} | ${Math.round(p.posted.posted / p.posted.seconds)} | ${p.ranges.map(([a, b]) => `${a + 1}..${b}`).join(', ')} | ${p.ours.delivered} | ${p.ref.delivered} | ${p.ours.p99Each.map((x) => fmt(x, 0)).join(', ')} / ${p.ref.p99Each.map((x) => fmt(x, 0)).join(', ')} | ${p.ours.outOfOrder} / ${p.ref.outOfOrder} | ${fmt(p.ours.rss.max)} / ${fmt(p.ref.rss.max)} | ${p.drain}${p.warning ? ` (${p.warning})` : ''} |`,
  );
  return `| phase | runs | posted | post s | post events/s | keys | ours delivered | ref delivered | p99 per run ms, ours / ref | out of order ours / ref | peak RSS MB ours / ref | drain |
|---|---|---|---|---|---|---|---|---|---|---|---|
${phaseLines.join('\n')}`;
}

/** The latency of the vi_json path beside the SOAP path and the reference, from the runs on one simulator. */
function viJsonBeside(r: BenchResult): string {
  const json = r.runs.find((x) => x.protocol === 'vi_json');
  const soap = json && r.runs.find((x) => x.protocol !== 'vi_json' && x.simulator.bin === json.simulator.bin);
  if (!json || !soap) return '';
  const lines: string[] = [];
  for (const pj of json.phases) {
    const ps = soap.phases.find((p) => p.name === pj.name);
    if (!ps) continue;
    for (const key of ['p50', 'p99', 'max'] as const)
      lines.push(
        `| ${pj.name}: latency ${key} (ms) | ${fmt(ps.ours[key])} | ${fmt(pj.ours[key])} | ${fmt(ps.ref[key])} / ${fmt(pj.ref[key])} | ${ratio(pj.ours[key], ps.ours[key])} |`,
      );
    lines.push(
      `| ${pj.name}: lost / duplicated | ${ps.ours.lost} / ${ps.ours.duplicated} | ${pj.ours.lost} / ${pj.ours.duplicated} | ${ps.ref.lost} / ${ps.ref.duplicated} , ${pj.ref.lost} / ${pj.ref.duplicated} | |`,
      `| ${pj.name}: CPU s per 1,000 delivered | ${fmt(ps.ours.cpuPer1000, 3)} | ${fmt(pj.ours.cpuPer1000, 3)} | ${fmt(ps.ref.cpuPer1000, 3)} / ${fmt(pj.ref.cpuPer1000, 3)} | ${ratio(pj.ours.cpuPer1000, ps.ours.cpuPer1000)} |`,
    );
  }
  return `## VI/JSON beside SOAP (on \`${json.simulator.bin}\`)

Ours over SOAP and ours over VI/JSON (through the harness peer) in two consecutive parts of this run on the
same simulator, each beside the reference (govmomi over SOAP) measured at the same time.

| metric | ours, SOAP | ours, VI/JSON | reference (SOAP part / VI/JSON part) | VI/JSON ÷ SOAP |
|---|---|---|---|---|
${lines.join('\n')}
`;
}

const loads = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' / ');

function runSection(run: Run): string {
  const sm = run.simulator;
  const json = run.protocol === 'vi_json';
  return `## On \`${sm.bin}\` (WaitForUpdates tick ${sm.tickMs} ms${sm.bin === 'vcsim' ? ", Debian's simulator as built" : ', the TEST VARIANT'})${json ? ', ours over VI/JSON' : ''}
${json ? `\nOur router follows the simulator through the VI/JSON harness peer (\`test/harness/bin/vijson\`, stream option \`protocol: vi_json\`); vctool and the reference stay on SOAP. The peer counted ${run.viJsonCalls?.vijson_calls} VI/JSON calls and ${run.viJsonCalls?.soap_calls} SOAP calls from the router. The peer adds a hop (JSON → SOAP to the simulator → JSON) that a vCenter does not have. No verdicts here: see the SOAP run above for the targets, and "VI/JSON beside SOAP" below.\n` : ''}
Load average (1/5/15 min) at the start of this part: ${loads(run.loadAtStart)}, at its end: ${loads(run.loadAtEnd)}.
${json ? '' : sm.targets ? 'The targets are judged here, each against the reference measured in this same run.' : "Shown for comparison (the 250 ms tick hides most of a follower's own latency); no verdicts."}

${table(figures(run))}
${runByRun(run) ? `\n### Run by run on \`${sm.bin}\`\n\n${runByRun(run)}\n` : ''}
### Phases on \`${sm.bin}\`

${phaseTable(run)}

- Idle CPU over 3 s: ours ${fmt(run.idle.cpuOurs, 2)} s, reference ${fmt(run.idle.cpuRef, 2)} s.
- ${run.diedEarly.ours || run.diedEarly.ref ? `**Exited before the end of the run: ours ${run.diedEarly.ours}, reference ${run.diedEarly.ref}.** ` : 'Both ran to the end. '}Shutdown (SIGTERM): router exit code ${run.routerCode}, reference exit code ${run.refCode}. Reference: ${run.refFinal}; POST errors: ${run.refErrors}.
- Router warnings/errors logged: ${run.routerErrors.length ? run.routerErrors.map((l) => '`' + l.slice(0, 200).replace(/`/g, "'") + '`').join('; ') : 'none'}.
`;
}

export const NOTES_MARKER =
  '<!-- notes: everything below is kept when bench/run.mjs regenerates this file -->';

/** docs/benchmarks.md: the generated part from `r`, then the hand-written notes of `previous` (after NOTES_MARKER). */
export function benchmarksDoc(r: BenchResult, previous: string): string {
  const at = previous.indexOf(NOTES_MARKER);
  return report(r) + '\n' + (at >= 0 ? previous.slice(at) : `${NOTES_MARKER}\n\n## Notes\n\n(none yet)\n`);
}

/** The generated part of docs/benchmarks.md. */
export function report(r: BenchResult): string {
  const m = r.machine;
  const classes = Object.entries(r.conversion.classes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `# Benchmarks

Latest figures of \`npm run bench\` (scripts/bench.sh → bench/run.mjs), ${r.when}.
Regenerated by every full run; do not edit by hand.

## Command

\`\`\`sh
npm ci          # once, from a fresh clone (Go + Debian govmomi are installed by scripts/build-harness.sh when root)
npm run bench   # builds dist/ and test/harness/bin/, runs bench/run.mjs, writes this file (~${Math.ceil(r.seconds / 60)} min)
\`\`\`

## Machine

- CPU: ${m.cpu}, \`nproc\` = ${m.nproc}
- Router on Node.js ${m.routerNode} (\`npx -p node@24\`, the line the image ships; the bench driver: ${m.node}), ${m.go}, govmomi (Debian) ${m.govmomi}, Linux ${m.kernel}
- \`free -h\`:

\`\`\`
${m.free}
\`\`\`

Load average (1/5/15 min) at the start: ${loads(r.loadAtStart)}, at the end: ${loads(r.loadAtEnd)}
(the machine is shared with other jobs; figures move by ±30 % from run to run when it is busy).
${r.routerNodeArgs.length ? `Router node flags: \`${r.routerNodeArgs.join(' ')}\`.` : ''}

Everything ran on this machine at once, on 127.0.0.1: the govmomi simulator (vcsim), the poster
(vctool), the peer, our router and the reference, so they share the ${m.nproc} cores.

## Targets (router on Node.js ${m.routerNode}, on \`vcsim-tick20ms\`)

Each against the reference measured in the same run where it has one; the details are in the sections below.

${partTable(targetRows(r))}

## What runs

- **Simulators**, one after the other, each with its own peer, router and reference:
  \`test/harness/bin/vcsim-tick20ms\`, the harness's TEST VARIANT (Debian's govmomi 0.24 with only the
  WaitForUpdates tick changed from 250 ms to 20 ms, like newer govmomi simulators: a waiting
  \`WaitForUpdatesEx\` answers within ~20 ms of an event, as a vCenter does), then
  \`test/harness/bin/vcsim\` (Debian's govmomi 0.24 as built: 250 ms tick). Both keep only the newest
  1,000 events.
- **Peer** (\`bench/peer.mjs\`): a test OpenFaaS gateway (\`/system/namespaces\`, \`/system/functions\`,
  \`POST /function/NAME.NS\`, basic auth on \`/system/*\`). It records for every invocation the event's
  \`data.Key\`, \`data.CreatedTime\` and the arrival time (when the request body is complete).
  **Latency = arrival − createdTime**, both from this machine's clock.
- **Ours**: \`${routerCommand} -config …\`, \`openfaas\` processor, \`async: false\` (sync),
  reaching function \`router-bench\` through its \`topic\` annotation (\`${CLASS}\`).
- **Reference** (\`test/harness/go/reffollower\`): govmomi \`event.NewManager(c).Events(ctx, [rootFolder], 1, true, false, handler)\`
  (the original router's page size 1 and tail), builds the same CloudEvent (id, source, specversion,
  type, subject, time, \`data = json.Marshal(event)\`, datacontenttype) and POSTs each event to
  \`/function/ref-bench.openfaas-fn\`, one request at a time (the original's OpenFaaS sync path).
- Both are started at the same time against the same simulator and receive the same events.
- Events: \`${CLASS}\` with the entity arguments of a VM, posted by \`vctool\` (one session):
  steady = one \`PostEvent\` every 10 ms for 10 s, three times (1 s apart) on the simulator that carries
  the targets (latencies pooled for the verdict, each run in "Run by run"); bursts = \`vctool burst -concurrency 8\`, as fast as the simulator
  takes them; the 1,000-event burst runs 3 times (1 s apart) and its latencies are pooled, as the
  machine is shared and one run is noisy (each run's p99 is in "Run by run" and the phases table). A phase's events are the keys between the newest key before and after it, so
  **lost = posted − distinct keys received**, **duplicated = extra arrivals of a key**.
- **Quantiles** (p50, p99, medians) are nearest-rank: pXX is the smallest measured value with at
  least XX % of the values at or below it (one of the samples, never interpolated); \`bench/sinks.mjs\`
  uses the same rule (\`bench/report.ts\`).
- RSS: \`/proc/PID/status\` VmRSS every 50 ms; idle = median over 3 s with no events after start-up
  and a 20-event warm-up; peak = maximum during the phase. CPU: \`/proc/PID/stat\` utime+stime
  delta over the phase (posting + drain) ÷ events the client delivered.
- Conversion: ${r.conversion.events} events captured from the simulator as a real
  \`RetrievePropertiesEx\` reply of a 1,000-event \`latestPage\` (${(r.conversion.bytes / 1024).toFixed(0)} KiB; ${classes}),
  parsed and converted in one process on one core by \`bench/convert.mjs\` with the compiled router code:
  \`parseXml\`/\`parseXmlFast\` → \`convertEvent\` → \`toCloudEvent\` → \`cloudEventJson\`.

- **Router's own share** (\`vmware_event_router_router_latency_seconds{processor}\`, scraped from
  \`/metrics\` before and after each phase): from the arrival of the vCenter reply that carried an event
  (its bytes complete, before parsing) to the processor handing the event to its peer (the first
  send of its batch). p50/p99 are interpolated inside the histogram's buckets.

${r.runs.map(runSection).join('\n')}
${viJsonBeside(r)}
## Conversion

${table(conversionRows(r))}

### Conversion (events/s, one core)

${r.conversion.rounds} interleaved rounds per pipeline; median and best round (load average during the run: ${fmt(r.conversion.loadavg, 2)}).

| pipeline | events/s (median) | best round |
|---|---|---|
${Object.entries(r.conversion.results)
  .map(
    ([k, v]) => `| ${k} | ${v.toLocaleString('en-US')} | ${r.conversion.best[k].toLocaleString('en-US')} |`,
  )
  .join('\n')}

${partsSections(r)}
### Other

- Whole run: ${fmt(r.seconds, 0)} s.
`;
}

function partSection<T extends object>(
  title: string,
  how: string,
  part: T | PartError | undefined,
  rows: (p: T) => PartRow[],
): string {
  if (part === undefined) return '';
  const body = failed(part) ? `**The part failed:** ${part.error}` : partTable(rows(part));
  return `## ${title}\n\n${how}\n\n${body}\n\n`;
}

/** The parts where our router runs alone: start-up, the watchdog's cost, many vCenters. */
function partsSections(r: BenchResult): string {
  const wd = r.watchdog && !failed(r.watchdog) ? r.watchdog : undefined;
  return (
    partSection(
      'Start to /readyz',
      'Our router alone against a fresh local simulator (one vCenter stream, the OpenFaaS processor, the metrics ' +
        `server on): from spawning \`${routerCommand}\` to the first \`/readyz\` answering 200, polled every ` +
        '10 ms; the starts follow one another.',
      r.startup,
      startupRows,
    ) +
    partSection(
      'Watchdog cost',
      'Two idle routers side by side for the same window against one simulator, ' +
        `${wd ? wd.streams : 'N'} vCenter streams each, \`call_timeout: 2\` (WaitForUpdatesEx waits 1 s, so a stream ` +
        'passes its watchdog check about once a second): one with `watchdog_interval: 1`, one with `0` (off). Each ' +
        'stream reaches the simulator through `test/peers/faulty-vcenter-proxy.ts`, which answers ' +
        "`EventManager.latestEvent` with the simulator's newest event as a vCenter does (the simulator leaves it " +
        'unset), behind a counter of the latestEvent reads (`bench/watchdog-cost.mjs`). CPU per read = (CPU of the ' +
        'router with the watchdog − CPU of the one without) ÷ reads (`/proc/PID/stat`, 10 ms ticks); one read a ' +
        'minute (the default interval) costs a stream that ÷ 60 s. A difference below the noise of the shared ' +
        'machine can come out negative.',
      r.watchdog,
      watchdogRows,
    ) +
    partSection(
      'Our router on Node.js 22',
      'The other maintained Node.js line (`npx -p node@22`), the memory targets judged as above: our router alone on a ' +
        'fresh `vcsim-tick20ms` with the OpenFaaS processor, a 20-event warm-up, idle RSS = median of 3 s, then one ' +
        '1,000-event burst (`bench/node-line.mjs`).',
      r.nodeLine,
      nodeLineRows,
    ) +
    partSection(
      'One router, many vCenters',
      'ONE router with one `vmware_vcenter` stream per simulator (`vcsim-tick20ms`, all started in parallel) and the ' +
        'OpenFaaS processor to the peer; then `vctool burst` posts the same number of events to each simulator, ' +
        'eight simulators at a time (`bench/fleet.mjs`). Events are told apart by vCenter (the CloudEvent source) ' +
        'and key. RSS idle = median of 3 s, 1 s after the last event arrived; peak = the largest 50 ms sample of ' +
        'the part, and VmHWM. No reference runs here.',
      r.fleet,
      fleetRows,
    )
  );
}

/** What the driver prints at the end: each run's table and the conversion table. */
export function summary(r: BenchResult): string {
  return (
    r.runs
      .map(
        (run) =>
          `\n${run.simulator.bin} (tick ${run.simulator.tickMs} ms)${run.protocol === 'vi_json' ? ', ours over VI/JSON' : ''}\n${table(figures(run))}\n`,
      )
      .join('') +
    '\n' +
    table(conversionRows(r)) +
    '\n\n' +
    partTable(targetRows(r)) +
    '\n'
  );
}
