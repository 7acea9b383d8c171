/**
 * The bench's figures (bench/report.ts): one quantile rule for every sample
 * figure, the lost/duplicated/latency analysis of the peer's records, the
 * router's own-share histogram, and the report's tables and notes.
 */
import {
  analyse,
  benchmarksDoc,
  figures,
  histogramQuantile,
  NOTES_MARKER,
  parseShare,
  quantile,
  report,
  rssStats,
  shareAdd,
  shareDelta,
  type ArrivalRecord,
  type BenchResult,
  type ClientPhase,
  type Phase,
  type Run,
} from '../../../bench/report';

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('quantile (nearest-rank)', () => {
  test('is the smallest sample with at least q of the samples at or below it', () => {
    expect(quantile(oneTo(100), 0.99)).toBe(99);
    expect(quantile(oneTo(100), 0.5)).toBe(50);
    expect(quantile(oneTo(1000), 0.99)).toBe(990);
    expect(quantile(oneTo(10), 0.99)).toBe(10);
    expect(quantile(oneTo(5), 0.5)).toBe(3);
    // an even count: the lower of the two middle samples, never their mean
    expect(quantile([10, 20, 30, 40], 0.5)).toBe(20);
    expect(quantile([7], 0.01)).toBe(7);
    expect(quantile(oneTo(100), 1)).toBe(100);
  });

  test('of no sample is NaN (shown as n/a)', () => {
    expect(quantile([], 0.5)).toBeNaN();
  });

  test('medians of memory samples use the same rule', () => {
    expect(rssStats([40, 10, 30, 20])).toEqual({ min: 10, median: 20, max: 40, n: 4 });
    expect(rssStats([]).n).toBe(0);
  });
});

describe('analyse (what one client delivered in a phase)', () => {
  test('lost, duplicated and out of order are counted over the phase keys only', () => {
    const records: ArrivalRecord[] = [
      [10, 0, 5], // before the phase
      [11, 100, 110],
      [13, 100, 130],
      [12, 100, 120], // out of order
      [13, 100, 140], // duplicate: its first arrival counts
      [20, 100, 999], // after the phase
    ];
    const a = analyse(records, [[10, 14]]);
    expect(a).toMatchObject({ expected: 4, delivered: 3, lost: 1, duplicated: 1, outOfOrder: 1 });
    expect([a.min, a.p50, a.p99, a.max]).toEqual([10, 20, 30, 30]);
  });

  test('repetitions pool their key ranges', () => {
    const records: ArrivalRecord[] = [
      [1, 0, 1],
      [2, 0, 2],
      [6, 0, 3],
    ];
    expect(
      analyse(records, [
        [0, 2],
        [5, 7],
      ]),
    ).toMatchObject({ expected: 4, delivered: 3, lost: 1 });
  });

  test('latency after the wake-up is measured from the newest event of each batch of arrivals', () => {
    // two batches (arrivals 500 ms apart): created 0 and 10 arrive at 100 and 101 (90 and 91 ms after the
    // batch's newest event); created 400 arrives at 600 (200 ms)
    const records: ArrivalRecord[] = [
      [1, 0, 100],
      [2, 10, 101],
      [3, 400, 600],
    ];
    const a = analyse(records, [[0, 3]], 50);
    expect(a.batches).toBe(2);
    expect([a.wakeP50, a.wakeP99]).toEqual([91, 200]);
  });
});

describe("the router's own share (/metrics histogram)", () => {
  const scrape = (count: number, le1: number, le5: number) =>
    [
      '# TYPE vmware_event_router_router_latency_seconds histogram',
      `vmware_event_router_router_latency_seconds_bucket{le="0.001",processor="a"} ${le1}`,
      `vmware_event_router_router_latency_seconds_bucket{le="0.005",processor="a"} ${le5}`,
      `vmware_event_router_router_latency_seconds_bucket{le="+Inf",processor="a"} ${count}`,
      `vmware_event_router_router_latency_seconds_sum{processor="a"} ${count * 0.002}`,
      `vmware_event_router_router_latency_seconds_count{processor="a"} ${count}`,
      'vmware_event_router_other_total 7',
    ].join('\n');

  test('is summed, differenced per phase and interpolated inside its bucket', () => {
    const before = parseShare(scrape(10, 10, 10));
    const after = parseShare(scrape(110, 60, 110));
    const phase = shareDelta(before, after);
    expect(phase.count).toBe(100);
    expect(phase.buckets).toEqual([
      [0.001, 50],
      [0.005, 100],
      [Infinity, 100],
    ]);
    expect(histogramQuantile(phase, 0.5)).toBeCloseTo(1, 6);
    expect(histogramQuantile(phase, 0.75)).toBeCloseTo(3, 6);
    expect(shareAdd(phase, phase).count).toBe(200);
    expect(histogramQuantile(undefined, 0.5)).toBeNaN();
  });
});

function client(over: Partial<ClientPhase> = {}): ClientPhase {
  return {
    batches: 1,
    wakeP50: 1,
    wakeP99: 2,
    expected: 1000,
    delivered: 1000,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    min: 1,
    p50: 5,
    p99: 9,
    max: 12,
    p99Each: [9],
    cpuSeconds: 1,
    cpuPer1000: 1,
    cpuPer1000Posted: 1,
    rss: { max: 80 },
    ...over,
  };
}

function phase(name: string, ours: Partial<ClientPhase> = {}): Phase {
  return {
    name,
    repeat: 1,
    posted: { posted: 1000, seconds: 2 },
    k0: 0,
    k1: 1000,
    ranges: [[0, 1000]],
    drain: 'complete',
    seconds: 3,
    share: { n: 1000, mean: 1, p50: 0.5, p99: 2 },
    ours: client(ours),
    ref: client({ p50: 10, p99: 20, cpuPer1000: 4, cpuSeconds: 4 }),
  };
}

function run(ours: Partial<ClientPhase> = {}): Run {
  const rss = { min: 40, median: 50, max: 60, n: 60 };
  return {
    simulator: { bin: 'vcsim-tick20ms', tickMs: 20, targets: true },
    protocol: 'soap',
    loadAtStart: [1, 1, 1],
    loadAtEnd: [2, 2, 2],
    idle: { ours: rss, ref: rss, cpuOurs: 0.1, cpuRef: 0.1 },
    peakAll: { ours: rss, ref: rss },
    phases: [phase('steady 100/s × 10 s', ours), phase('burst 1,000'), phase('burst 10,000')],
    routerCode: 0,
    refCode: 0,
    diedEarly: { ours: false, ref: false },
    routerErrors: [],
    refErrors: 0,
    refFinal: '{"posted":1000}',
  };
}

function result(r: Run): BenchResult {
  return {
    when: '2026-01-01T00:00:00.000Z',
    machine: {
      nproc: '2',
      free: 'Mem: 4Gi',
      cpu: 'test',
      node: 'v24',
      go: 'go1.22',
      kernel: '6',
      govmomi: '0.24',
    },
    quick: false,
    loadAtStart: [1, 1, 1],
    loadAtEnd: [1, 1, 1],
    routerNodeArgs: [],
    runs: [r],
    conversion: {
      events: 1000,
      bytes: 2048,
      classes: { VmMessageEvent: 1000 },
      results: {
        'parseXml + convertEvent + toCloudEvent + cloudEventJson': 20_000,
        'parseXmlFast + convertEvent + toCloudEvent + cloudEventJson': 30_000,
      },
      best: {
        'parseXml + convertEvent + toCloudEvent + cloudEventJson': 21_000,
        'parseXmlFast + convertEvent + toCloudEvent + cloudEventJson': 31_000,
      },
      rounds: 5,
      loadavg: 1,
    },
    seconds: 240,
  };
}

describe('the report', () => {
  test('a lost or duplicated event is a missed target; latency is judged against the reference', () => {
    const rows = figures(run({ lost: 2, duplicated: 1 }));
    expect(rows.find((r) => r.metric.startsWith('steady 100/s × 10 s: lost'))).toMatchObject({
      ours: '2 / 1',
      ref: '0 / 0',
      verdict: '**missed**',
    });
    expect(rows.find((r) => r.metric === 'steady: latency p99 (ms)')).toMatchObject({
      ours: '9.0',
      ref: '20.0',
      ratioStr: '0.45',
      verdict: 'met',
    });
  });

  test('on a simulator without targets there are no latency verdicts', () => {
    const r = run();
    r.simulator = { bin: 'vcsim', tickMs: 250, targets: false };
    expect(figures(r).find((x) => x.metric === 'steady: latency p99 (ms)')).toMatchObject({
      target: '—',
      verdict: '',
    });
  });

  test('names the quantile rule, and keeps the hand-written notes when regenerated', () => {
    const doc = report(result(run()));
    expect(doc).toContain('nearest-rank');
    expect(doc).toContain(
      '| conversion, parseXml path (events/s, one core) | ≥ 10,000 | 20000 | — |  | met |',
    );
    const notes = `${NOTES_MARKER}\n\n## Notes\n\nkept by hand\n`;
    expect(benchmarksDoc(result(run()), `# old figures\n\n${notes}`)).toBe(doc + '\n' + notes);
    expect(benchmarksDoc(result(run()), '')).toBe(`${doc}\n${NOTES_MARKER}\n\n## Notes\n\n(none yet)\n`);
  });
});
