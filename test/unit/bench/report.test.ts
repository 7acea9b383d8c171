/**
 * The bench's figures (bench/report.ts): one quantile rule for every sample
 * figure, the lost/duplicated/latency analysis of the peer's records, the
 * router's own-share histogram, and the report's tables and notes.
 */
import {
  analyse,
  benchmarksDoc,
  figures,
  fleetDelivery,
  fleetRows,
  histogramQuantile,
  nodeLineRows,
  NOTES_MARKER,
  parseShare,
  quantile,
  report,
  rssStats,
  runByRun,
  shareAdd,
  shareDelta,
  startupRows,
  targetRows,
  watchdogRows,
  watchdogShare,
  type ArrivalRecord,
  type BenchResult,
  type ClientPhase,
  type FleetResult,
  type Phase,
  type Run,
  type WatchdogCost,
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
    p50Each: [5],
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
      node: 'v20.0.0',
      routerNode: 'v24.0.0',
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

function fleet(over: Partial<FleetResult> = {}): FleetResult {
  return {
    vcenters: 50,
    eventsEach: 20,
    simStartSeconds: 12,
    readySeconds: 4,
    posted: 1000,
    delivered: 1000,
    lost: 0,
    duplicated: 0,
    unexpected: 0,
    p50: 20,
    p99: 80,
    drain: 'complete',
    drainSeconds: 9,
    cpuSeconds: 3,
    rssIdle: { min: 100, median: 105, max: 108, n: 60 },
    rssPeak: 130,
    rssHwm: 131,
    simRssMb: 1000,
    routerCode: 0,
    ...over,
  };
}

const nodeLine = {
  line: '22',
  node: 'v22.1.0',
  idle: { min: 60, median: 63, max: 66, n: 60 },
  peak1k: 101,
  lost: 0,
  duplicated: 0,
  drain: 'complete',
};

const watchdog = (over: Partial<WatchdogCost> = {}): WatchdogCost => ({
  streams: 5,
  intervalSeconds: 1,
  windowSeconds: 60,
  reads: 300,
  readsOff: 0,
  cpuOn: 2.0,
  cpuOff: 1.55,
  recoveries: 0,
  ...over,
});

describe('many vCenters', () => {
  const a = 'http://127.0.0.1:1001/sdk';
  const b = 'http://127.0.0.1:1002/sdk';

  test('the same key from two vCenters is two events; a second arrival from one is a duplicate', () => {
    const records: ArrivalRecord[] = [
      [7, 0, 10, a],
      [7, 0, 20, b],
      [8, 0, 30, a],
      [8, 0, 40, a], // duplicate
      [9, 0, 50, 'http://127.0.0.1:9999/sdk'], // from no vCenter of the part
    ];
    expect(fleetDelivery(records, [a, b], [2, 2])).toEqual({
      posted: 4,
      delivered: 3,
      lost: 1,
      duplicated: 1,
      unexpected: 1,
      p50: 20,
      p99: 30,
    });
  });

  test('sources match by host and port, whatever credentials the address carries', () => {
    const records: ArrivalRecord[] = [[1, 0, 5, 'http://127.0.0.1:1001/sdk']];
    expect(fleetDelivery(records, ['http://user:pass@127.0.0.1:1001/sdk'], [1])).toMatchObject({
      delivered: 1,
      lost: 0,
      unexpected: 0,
    });
  });

  test('more keys from a vCenter than it was posted are unexpected, not delivered twice', () => {
    const records: ArrivalRecord[] = [
      [1, 0, 5, a],
      [2, 0, 6, a],
    ];
    expect(fleetDelivery(records, [a], [1])).toMatchObject({ delivered: 2, lost: 0, unexpected: 1 });
  });

  test('idle RSS is judged against 110 MB, and every event must arrive once', () => {
    expect(fleetRows(fleet())[1]).toMatchObject({ target: '≤ 110', value: '105.0', verdict: 'met' });
    expect(fleetRows(fleet({ rssIdle: { min: 1, median: 111, max: 1, n: 1 } }))[1].verdict).toBe(
      '**missed**',
    );
    expect(fleetRows(fleet({ duplicated: 1 }))[0]).toMatchObject({
      value: '0 / 1 / 0 (1000 of 1000 delivered; complete)',
      verdict: '**missed**',
    });
    expect(fleetRows(fleet({ posted: 0, delivered: 0 }))[0].verdict).toBe('**missed**');
  });
});

describe('the watchdog cost', () => {
  test('is the CPU difference of the two routers per read, extrapolated to one read a minute', () => {
    const { perReadMs, corePercent } = watchdogShare(watchdog());
    expect(perReadMs).toBeCloseTo(1.5, 9);
    expect(corePercent).toBeCloseTo(0.0025, 9);
    expect(watchdogRows(watchdog())[3]).toMatchObject({ target: '< 1 %', value: '0.0025', verdict: 'met' });
  });

  test('above 1 % of a core at one read a minute is missed', () => {
    // 700 ms per read: 1.17 % of one core at one read a minute
    expect(watchdogRows(watchdog({ reads: 1, cpuOn: 0.7, cpuOff: 0 }))[3].verdict).toBe('**missed**');
  });

  test('without reads, or with reads where the watchdog is off, there is no verdict to give', () => {
    expect(watchdogShare(watchdog({ reads: 0 })).perReadMs).toBeNaN();
    expect(watchdogRows(watchdog({ reads: 0 }))[3].verdict).toBe('**missed**');
    expect(watchdogRows(watchdog({ readsOff: 3 }))[3].verdict).toBe('**missed**');
  });

  test('a recovery while idle is missed', () => {
    expect(watchdogRows(watchdog({ recoveries: 1 }))[4].verdict).toBe('**missed**');
  });
});

describe('the report of the router on the runtime the image ships', () => {
  test('names the Node.js the router ran on, beside the one of the driver', () => {
    expect(report(result(run()))).toContain('Router on Node.js v24.0.0 (`npx -p node@24`');
    expect(report(result(run()))).toContain('the bench driver: v20.0.0');
  });

  test('steady latency at the reference is met (at or below)', () => {
    const rows = figures(run({ p50: 10, p99: 20 }));
    expect(rows.find((r) => r.metric === 'steady: latency p50 (ms)')).toMatchObject({
      target: '≤ reference',
      verdict: 'met',
    });
    expect(figures(run({ p99: 21 })).find((r) => r.metric === 'steady: latency p99 (ms)')?.verdict).toBe(
      '**missed**',
    );
  });

  test('each steady run and each 1,000 burst gets its own row, ours beside the reference', () => {
    const r = run();
    r.phases[0].repeat = 3;
    r.phases[0].ours.p50Each = [16, 16, 19];
    r.phases[0].ref.p50Each = [15, 15, 16];
    r.phases[0].ours.p99Each = [31, 28, 55];
    r.phases[0].ref.p99Each = [32, 27, 31];
    r.phases[1].repeat = 3;
    r.phases[1].ours.p99Each = [325, 316, 642];
    r.phases[1].ref.p99Each = [444, 450, 413];
    const lines = runByRun(r).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe('| 1 | 16 / 15 | 31 / 32 | 325 / 444 |');
    expect(lines[4]).toBe('| 3 | 19 / 16 | 55 / 31 | 642 / 413 |');
    expect(runByRun(run())).toBe('');
  });

  test('the targets table gathers the judged figures, the fleet and the watchdog', () => {
    const r = result(run());
    r.fleet = fleet();
    r.watchdog = watchdog();
    r.nodeLine = nodeLine;
    const rows = targetRows(r);
    expect(rows.map((x) => x.metric)).toEqual([
      'steady: latency p50 (ms)',
      'steady: latency p99 (ms)',
      'burst 1,000: latency p99 (ms)',
      'burst 10,000: latency p99 (ms)',
      'RSS idle (MB)',
      'RSS peak, burst 1,000 (MB)',
      'all phases: CPU s per 1,000 delivered',
      '50 vCenters × 20 events: lost / duplicated / unexpected',
      'RSS idle after the events, 50 vCenters (MB)',
      'Node.js v22.1.0: RSS idle (MB)',
      'Node.js v22.1.0: RSS peak, burst 1,000 (MB)',
      'one read a minute (the default), per stream (% of one core)',
    ]);
    expect(rows[4]).toMatchObject({ target: '≤ 64', value: '50.0 (reference 50.0)', verdict: 'met' });
  });

  test('a part that failed is a missed target, with its reason', () => {
    const r = result(run());
    r.fleet = { error: 'fleet: time limit of 180 s reached' };
    expect(targetRows(r).at(-1)).toMatchObject({
      value: 'fleet: time limit of 180 s reached',
      verdict: '**missed**',
    });
    expect(report(r)).toContain('**The part failed:** fleet: time limit of 180 s reached');
  });

  test('start to /readyz: the median and each start', () => {
    expect(startupRows({ ms: [812.4, 640.2, 700.9] })[0]).toMatchObject({
      metric: 'start to /readyz 200 (ms), 3 starts, median [each]',
      value: '701 [812, 640, 701]',
    });
  });
});

describe('the other Node.js line', () => {
  test('is judged on the same memory targets, and must not lose an event', () => {
    expect(nodeLineRows(nodeLine).map((x) => [x.metric, x.target, x.value, x.verdict])).toEqual([
      ['Node.js v22.1.0: RSS idle (MB)', '≤ 64', '63.0', 'met'],
      ['Node.js v22.1.0: RSS peak, burst 1,000 (MB)', '≤ 100', '101.0', '**missed**'],
      ['Node.js v22.1.0: burst 1,000: lost / duplicated', '0 / 0', '0 / 0 (complete)', 'met'],
    ]);
    expect(nodeLineRows({ ...nodeLine, lost: 1 })[2].verdict).toBe('**missed**');
  });
});
