/**
 * The metrics registry renders the Prometheus text exposition format 0.0.4 that
 * Prometheus, promtool and the bench's scrape parser read: HELP and TYPE lines,
 * escaped label values, labels in declaration order, cumulative histogram buckets.
 */
import { Counter, Gauge, Histogram, Registry, formatValue } from '../../../src/metrics/registry';

const render = (r: Registry) => r.metrics();

describe('counters and gauges', () => {
  test('an unlabelled metric is rendered at zero from the start, with its HELP and TYPE', async () => {
    const r = new Registry();
    new Counter({ name: 'jobs_total', help: 'Jobs done', registers: [r] });
    new Gauge({ name: 'queue', help: 'Jobs waiting', registers: [r] });
    expect(await render(r)).toBe(
      [
        '# HELP jobs_total Jobs done',
        '# TYPE jobs_total counter',
        'jobs_total 0',
        '',
        '# HELP queue Jobs waiting',
        '# TYPE queue gauge',
        'queue 0',
        '',
      ].join('\n'),
    );
  });

  test('a labelled metric has no series until one is counted', async () => {
    const r = new Registry();
    new Counter({ name: 'sent_total', help: 'Sent', labelNames: ['peer'], registers: [r] });
    expect(await render(r)).toBe('# HELP sent_total Sent\n# TYPE sent_total counter\n');
  });

  test('inc adds 1 or the amount per label set; a counter refuses to decrease', async () => {
    const r = new Registry();
    const c = new Counter({ name: 'sent_total', help: 'Sent', labelNames: ['peer'], registers: [r] });
    c.inc({ peer: 'a' });
    c.inc({ peer: 'a' }, 2.5);
    c.inc({ peer: 'b' }, 0);
    expect(await render(r)).toContain('sent_total{peer="a"} 3.5\nsent_total{peer="b"} 0\n');
    expect(() => c.inc({ peer: 'a' }, -1)).toThrow(/cannot decrease/);
    expect(() => c.inc({ peer: 'a' }, Infinity)).toThrow(/not a finite number/);
  });

  test('a label the metric does not declare is refused, naming the declared ones', () => {
    const c = new Counter({ name: 'sent_total', help: 'Sent', labelNames: ['peer'] });
    expect(() => c.inc({ host: 'x' } as never)).toThrow(/label "host" is not one of \["peer"\]/);
  });

  test('labels are rendered in declaration order, whatever order the caller gives them in', async () => {
    const r = new Registry();
    const c = new Counter({
      name: 'x_total',
      help: 'X',
      labelNames: ['processor', 'subject'],
      registers: [r],
    });
    c.inc({ subject: 's', processor: 'p' });
    c.inc({ processor: 'p', subject: 's' });
    expect(await render(r)).toContain('\nx_total{processor="p",subject="s"} 2\n');
  });

  test('label values escape backslash, double quote and newline; HELP escapes backslash and newline', async () => {
    const r = new Registry();
    const c = new Counter({ name: 'x_total', help: 'a \\ b\nc "d"', labelNames: ['v'], registers: [r] });
    c.inc({ v: 'C:\\dir "x"\nnext' });
    expect(await render(r)).toBe(
      [
        '# HELP x_total a \\\\ b\\nc "d"',
        '# TYPE x_total counter',
        'x_total{v="C:\\\\dir \\"x\\"\\nnext"} 1',
        '',
      ].join('\n'),
    );
  });

  test('gauges set, inc and dec; numbers render as Prometheus parses them', async () => {
    const r = new Registry();
    const g = new Gauge({ name: 'g', help: 'G', labelNames: ['k'], registers: [r] });
    g.set({ k: 'int' }, 42);
    g.set({ k: 'frac' }, 0.25);
    g.set({ k: 'pinf' }, Infinity);
    g.set({ k: 'ninf' }, -Infinity);
    g.set({ k: 'nan' }, NaN);
    g.inc({ k: 'count' }, 5);
    g.dec({ k: 'count' });
    expect(await render(r)).toContain(
      [
        'g{k="int"} 42',
        'g{k="frac"} 0.25',
        'g{k="pinf"} +Inf',
        'g{k="ninf"} -Inf',
        'g{k="nan"} NaN',
        'g{k="count"} 4',
      ].join('\n'),
    );
    expect([formatValue(1e21), formatValue(-0.5), formatValue(3)]).toEqual(['1e+21', '-0.5', '3']);
  });

  test('collect runs before each read, with the metric as this', async () => {
    const r = new Registry();
    let depth = 3;
    new Gauge({
      name: 'depth',
      help: 'Depth',
      registers: [r],
      collect() {
        this.set(depth);
      },
    });
    expect(await r.getSingleMetricAsString('depth')).toBe('# HELP depth Depth\n# TYPE depth gauge\ndepth 3');
    depth = 7;
    expect(await render(r)).toContain('\ndepth 7\n');
  });

  test('get() returns the samples the rendering shows (what /stats reads)', async () => {
    const c = new Counter({ name: 'x_total', help: 'X', labelNames: ['a'] });
    c.inc({ a: '1' }, 2);
    expect(await c.get()).toEqual({
      name: 'x_total',
      help: 'X',
      type: 'counter',
      values: [{ labels: { a: '1' }, value: 2 }],
    });
  });
});

describe('histograms', () => {
  test('buckets are cumulative with le first, then +Inf, _sum and _count per label set', async () => {
    const r = new Registry();
    const h = new Histogram({
      name: 'wait_seconds',
      help: 'Wait',
      labelNames: ['processor'],
      buckets: [0.1, 1, 10],
      registers: [r],
    });
    h.observe({ processor: 'p' }, 0.05);
    h.observe({ processor: 'p' }, 1); // a value on a bound counts in that bucket
    h.observe({ processor: 'p' }, 0.5);
    h.observe({ processor: 'p' }, 99); // beyond every bound: +Inf only
    h.observe({ processor: 'q' }, 2);
    expect(await render(r)).toBe(
      [
        '# HELP wait_seconds Wait',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{le="0.1",processor="p"} 1',
        'wait_seconds_bucket{le="1",processor="p"} 3',
        'wait_seconds_bucket{le="10",processor="p"} 3',
        'wait_seconds_bucket{le="+Inf",processor="p"} 4',
        'wait_seconds_sum{processor="p"} 100.55',
        'wait_seconds_count{processor="p"} 4',
        'wait_seconds_bucket{le="0.1",processor="q"} 0',
        'wait_seconds_bucket{le="1",processor="q"} 0',
        'wait_seconds_bucket{le="10",processor="q"} 1',
        'wait_seconds_bucket{le="+Inf",processor="q"} 1',
        'wait_seconds_sum{processor="q"} 2',
        'wait_seconds_count{processor="q"} 1',
        '',
      ].join('\n'),
    );
  });

  test('an unlabelled histogram is rendered empty from the start; le is reserved', async () => {
    const r = new Registry();
    new Histogram({ name: 'h', help: 'H', buckets: [1], registers: [r] });
    expect(await render(r)).toContain('h_bucket{le="1"} 0\nh_bucket{le="+Inf"} 0\nh_sum 0\nh_count 0\n');
    expect(() => new Histogram({ name: 'h2', help: 'H', labelNames: ['le'] })).toThrow(
      /"le" is the bucket label/,
    );
    expect(() => new Histogram({ name: 'h3', help: 'H' }).observe(NaN)).toThrow(/not a finite number/);
  });
});

describe('the registry', () => {
  test('renders metrics in registration order, blank-line separated, with the 0.0.4 content type', async () => {
    const r = new Registry();
    const b = new Counter({ name: 'b_total', help: 'B', registers: [r] });
    const a = new Counter({ name: 'a_total', help: 'A', registers: [r] });
    expect(r.getMetricsAsArray()).toEqual([b, a]);
    expect((await render(r)).indexOf('b_total')).toBeLessThan((await render(r)).indexOf('a_total'));
    expect(r.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  test('a second metric of the same name is refused; getSingleMetric returns the registered one', () => {
    const r = new Registry();
    const c = new Counter({ name: 'x_total', help: 'X', registers: [r] });
    expect(r.getSingleMetric('x_total')).toBe(c);
    expect(() => new Gauge({ name: 'x_total', help: 'X', registers: [r] })).toThrow(/already registered/);
  });

  test('bad names are refused', () => {
    expect(() => new Counter({ name: 'bad-name', help: 'X' })).toThrow(/invalid metric name "bad-name"/);
    expect(() => new Counter({ name: 'ok', help: 'X', labelNames: ['bad-label'] })).toThrow(
      /invalid label name "bad-label"/,
    );
    expect(() => new Counter({ name: 'ok', help: '' })).toThrow(/no help text/);
  });
});
