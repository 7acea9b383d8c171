/**
 * A small Prometheus metrics registry: counters, gauges and histograms with
 * labels, rendered in the text exposition format 0.0.4. It keeps the part of
 * prom-client's API the router uses (same constructor options, `inc`, `set`,
 * `observe`, `get`, a per-metric `collect` hook, `getSingleMetric`) and its
 * output (metric blocks in registration order, a histogram's `le` label
 * first), at a fraction of its memory: prom-client loads some 88 modules.
 */

/** Label values by label name; a label left out is not rendered. */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** One rendered sample of a metric, as `get()` returns it. */
export interface MetricSample {
  labels: Record<string, string | number>;
  value: number;
  /** A histogram's series: `<name>_bucket`, `_sum` or `_count`. */
  metricName?: string;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  type: MetricType;
  values: MetricSample[];
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricConfig<T extends string, Self> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** The registries that render the metric (none: it is only read with `get()`). */
  registers?: Registry[];
  /** Called (with `this` the metric) before each read, to set values that are sampled. */
  collect?: (this: Self) => void | Promise<void>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A sample value as Prometheus parses it: plain JavaScript numbers, and `+Inf`, `-Inf`, `NaN`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** HELP text escaping: backslash and newline. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label value escaping: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="1",b="2"}`, or nothing without labels. */
function formatLabels(pairs: Array<[string, string | number]>): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(String(v))}"`).join(',')}}`;
}

interface Series<V> {
  labels: Record<string, string | number>;
  value: V;
}

abstract class Metric<T extends string, V> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  collect?: () => void | Promise<void>;
  /** One entry per label combination, keyed by the values in `labelNames` order. */
  protected series = new Map<string, Series<V>>();

  constructor(config: MetricConfig<T, unknown>) {
    if (!METRIC_NAME.test(config.name)) throw new Error(`invalid metric name "${config.name}"`);
    if (!config.help) throw new Error(`metric ${config.name} has no help text`);
    for (const l of config.labelNames ?? [])
      if (!LABEL_NAME.test(l)) throw new Error(`metric ${config.name}: invalid label name "${l}"`);
    this.name = config.name;
    this.help = config.help;
    this.labelNames = [...(config.labelNames ?? [])];
    this.collect = config.collect as (() => void | Promise<void>) | undefined;
  }

  /** Registration comes last, once the subclass has its fields. */
  protected register(registers: Registry[] | undefined): void {
    for (const r of registers ?? []) r.registerMetric(this as unknown as AnyMetric);
  }

  /** The series of these labels, created with `initial` when new. */
  protected seriesOf(labels: LabelValues<T>, initial: () => V): Series<V> {
    const values: Array<string | number | undefined> = [];
    for (const name of Object.keys(labels))
      if (!(this.labelNames as readonly string[]).includes(name))
        throw new Error(
          `metric ${this.name}: label "${name}" is not one of ${JSON.stringify(this.labelNames)}`,
        );
    for (const name of this.labelNames) values.push(labels[name]);
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      // Labels in declaration order, whatever the caller's order: one rendering per series.
      const own: Record<string, string | number> = {};
      for (const name of this.labelNames) if (labels[name] !== undefined) own[name] = labels[name];
      s = { labels: own, value: initial() };
      this.series.set(key, s);
    }
    return s;
  }

  /** Forget every series (an unlabelled metric restarts at zero). */
  reset(): void {
    this.series.clear();
  }

  /** The metric's samples, after its `collect` hook. */
  async get(): Promise<MetricSnapshot> {
    if (this.collect) await this.collect();
    return { name: this.name, help: this.help, type: this.type, values: this.samples() };
  }

  protected abstract samples(): MetricSample[];

  /** The metric in the exposition format: HELP, TYPE, then one line per sample (no final newline). */
  async render(): Promise<string> {
    const { values } = await this.get();
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const v of values)
      lines.push(
        `${v.metricName ?? this.name}${formatLabels(Object.entries(v.labels))} ${formatValue(v.value)}`,
      );
    return lines.join('\n');
  }
}

/** Splits the `(labels, value)` / `(value)` call forms. */
function args<T extends string>(
  labelsOrValue: LabelValues<T> | number | undefined,
  value: number | undefined,
): [LabelValues<T>, number | undefined] {
  return typeof labelsOrValue === 'object' ? [labelsOrValue, value] : [{}, labelsOrValue];
}

abstract class ScalarMetric<T extends string> extends Metric<T, number> {
  constructor(config: MetricConfig<T, unknown>) {
    super(config);
    this.reset();
  }

  override reset(): void {
    super.reset();
    // An unlabelled counter or gauge exists from the start, at zero.
    if (this.labelNames.length === 0) this.seriesOf({}, () => 0);
  }

  protected samples(): MetricSample[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }
}

export class Counter<T extends string = string> extends ScalarMetric<T> {
  readonly type = 'counter';

  constructor(config: MetricConfig<T, Counter<T>>) {
    super(config as MetricConfig<T, unknown>);
    this.register(config.registers);
  }

  /** Add `value` (default 1; never negative) to the series of `labels`. */
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, maybeValue?: number): void {
    const [labels, value = 1] = args(labelsOrValue, maybeValue);
    if (!Number.isFinite(value)) throw new TypeError(`metric ${this.name}: ${value} is not a finite number`);
    if (value < 0) throw new Error(`metric ${this.name}: a counter cannot decrease (${value})`);
    this.seriesOf(labels, () => 0).value += value;
  }
}

export class Gauge<T extends string = string> extends ScalarMetric<T> {
  readonly type = 'gauge';

  constructor(config: MetricConfig<T, Gauge<T>>) {
    super(config as MetricConfig<T, unknown>);
    this.register(config.registers);
  }

  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  set(labelsOrValue: LabelValues<T> | number, maybeValue?: number): void {
    const [labels, value] = args(labelsOrValue, maybeValue);
    if (typeof value !== 'number') throw new TypeError(`metric ${this.name}: ${value} is not a number`);
    this.seriesOf(labels, () => 0).value = value;
  }

  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, maybeValue?: number): void {
    const [labels, value = 1] = args(labelsOrValue, maybeValue);
    this.seriesOf(labels, () => 0).value += value;
  }

  dec(value?: number): void;
  dec(labels: LabelValues<T>, value?: number): void;
  dec(labelsOrValue?: LabelValues<T> | number, maybeValue?: number): void {
    const [labels, value = 1] = args(labelsOrValue, maybeValue);
    this.seriesOf(labels, () => 0).value -= value;
  }
}

interface HistogramValue {
  /** Observations per bucket (not cumulative), one per upper bound. */
  counts: number[];
  sum: number;
  count: number;
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram<T extends string = string> extends Metric<T, HistogramValue> {
  readonly type = 'histogram';
  /** The buckets' upper bounds, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];

  constructor(config: MetricConfig<T, Histogram<T>> & { buckets?: readonly number[] }) {
    super(config as MetricConfig<T, unknown>);
    if ((config.labelNames as readonly string[] | undefined)?.includes('le'))
      throw new Error(`metric ${config.name}: "le" is the bucket label`);
    this.buckets = [...(config.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
    this.reset();
    this.register(config.registers);
  }

  private empty(): HistogramValue {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  observe(labelsOrValue: LabelValues<T> | number, maybeValue?: number): void {
    const [labels, value] = args(labelsOrValue, maybeValue);
    if (value === undefined || !Number.isFinite(value))
      throw new TypeError(`metric ${this.name}: ${value} is not a finite number`);
    const h = this.seriesOf(labels, () => this.empty()).value;
    const i = this.buckets.findIndex((le) => value <= le);
    if (i >= 0) h.counts[i]++;
    h.sum += value;
    h.count++;
  }

  override reset(): void {
    super.reset();
    // An unlabelled histogram exists from the start, empty.
    if (this.labelNames.length === 0) this.seriesOf({}, () => this.empty());
  }

  /** Per series: a cumulative `_bucket` per bound (`le` first, as prom-client), `+Inf`, `_sum`, `_count`. */
  protected samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const { labels, value: h } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += h.counts[i];
        out.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: h.count });
      out.push({ metricName: `${this.name}_sum`, labels, value: h.sum });
      out.push({ metricName: `${this.name}_count`, labels, value: h.count });
    }
    return out;
  }
}

export type AnyMetric = Counter | Gauge | Histogram;

export class Registry {
  static readonly PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly byName = new Map<string, AnyMetric>();

  /** Add a metric; a second, different metric of the same name is refused. */
  registerMetric(metric: AnyMetric): void {
    const existing = this.byName.get(metric.name);
    if (existing && existing !== metric)
      throw new Error(`a metric named ${metric.name} is already registered`);
    this.byName.set(metric.name, metric);
  }

  getSingleMetric(name: string): AnyMetric | undefined {
    return this.byName.get(name);
  }

  /** The metrics, in registration order. */
  getMetricsAsArray(): AnyMetric[] {
    return [...this.byName.values()];
  }

  async getSingleMetricAsString(name: string): Promise<string> {
    const metric = this.byName.get(name);
    if (!metric) throw new Error(`no metric named ${name}`);
    return metric.render();
  }

  /**
   * Every metric in the text exposition format, blank-line separated. Read in
   * registration order, one after the other: a metric whose `collect` sets a
   * group of metrics (the default ones) is registered before the others.
   */
  async metrics(): Promise<string> {
    const blocks: string[] = [];
    for (const m of this.byName.values()) blocks.push(await m.render());
    return `${blocks.join('\n\n')}\n`;
  }
}
