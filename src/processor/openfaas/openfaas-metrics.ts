/**
 * The OpenFaaS processor's own Prometheus metrics, on the router's registry
 * (the shared per-subject counters live in RouterMetrics).
 */
import { METRIC_PREFIX } from '../../metrics/metrics';
import { Counter, Gauge, Histogram, type Registry } from '../../metrics/registry';

export const OPENFAAS_PREFIX = METRIC_PREFIX + 'openfaas_';

/** Reuse a metric already registered under that name (a second processor on the same registry). */
function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export interface OpenFaasMetricSources {
  /** Milliseconds since the last successful topic map build, or undefined before the first. */
  topicMapAgeMs(): number | undefined;
  inFlight(): number;
}

export class OpenFaasMetrics {
  /** Invocations per function (`NAME.NS`) and outcome: success, failure (after retries), retry. */
  readonly functionInvocations: Counter<'function' | 'outcome'>;
  /** Duration of each invocation attempt that got an answer or failed, per function and outcome. */
  readonly invocationDuration: Histogram<'function' | 'outcome'>;
  readonly topicMapRebuilds: Counter<never>;
  readonly topicMapRebuildFailures: Counter<'reason'>;
  readonly topicMapAge: Gauge<never>;
  readonly topicMapSubscribedFunctions: Gauge<never>;
  readonly topicMapSubjects: Gauge<never>;
  readonly inFlight: Gauge<never>;

  constructor(registry: Registry, sources: OpenFaasMetricSources) {
    const registers = [registry];
    this.functionInvocations = once(
      registry,
      OPENFAAS_PREFIX + 'function_invocations_total',
      () =>
        new Counter({
          name: OPENFAAS_PREFIX + 'function_invocations_total',
          help: 'OpenFaaS function invocations per function (NAME.NAMESPACE) and outcome (success, failure, retry)',
          labelNames: ['function', 'outcome'],
          registers,
        }),
    );
    this.invocationDuration = once(
      registry,
      OPENFAAS_PREFIX + 'invocation_duration_seconds',
      () =>
        new Histogram({
          name: OPENFAAS_PREFIX + 'invocation_duration_seconds',
          help: 'Duration of one OpenFaaS invocation attempt, per function and outcome',
          labelNames: ['function', 'outcome'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers,
        }),
    );
    this.topicMapRebuilds = once(
      registry,
      OPENFAAS_PREFIX + 'topic_map_rebuilds_total',
      () =>
        new Counter({
          name: OPENFAAS_PREFIX + 'topic_map_rebuilds_total',
          help: 'Successful rebuilds of the topic map from the OpenFaaS gateway',
          registers,
        }),
    );
    this.topicMapRebuildFailures = once(
      registry,
      OPENFAAS_PREFIX + 'topic_map_rebuild_failures_total',
      () =>
        new Counter({
          name: OPENFAAS_PREFIX + 'topic_map_rebuild_failures_total',
          help: 'Failed topic map rebuilds (the last good map is kept), per reason',
          labelNames: ['reason'],
          registers,
        }),
    );
    this.topicMapAge = once(
      registry,
      OPENFAAS_PREFIX + 'topic_map_age_seconds',
      () =>
        new Gauge({
          name: OPENFAAS_PREFIX + 'topic_map_age_seconds',
          help: 'Seconds since the topic map was last built successfully (-1 before the first build)',
          registers,
          collect() {
            const ms = sources.topicMapAgeMs();
            this.set(ms === undefined ? -1 : ms / 1000);
          },
        }),
    );
    this.topicMapSubscribedFunctions = once(
      registry,
      OPENFAAS_PREFIX + 'topic_map_functions',
      () =>
        new Gauge({
          name: OPENFAAS_PREFIX + 'topic_map_functions',
          help: 'Functions with a topic annotation in the current topic map',
          registers,
        }),
    );
    this.topicMapSubjects = once(
      registry,
      OPENFAAS_PREFIX + 'topic_map_subjects',
      () =>
        new Gauge({
          name: OPENFAAS_PREFIX + 'topic_map_subjects',
          help: 'Distinct event subjects with at least one subscribed function',
          registers,
        }),
    );
    this.inFlight = once(
      registry,
      OPENFAAS_PREFIX + 'invocations_in_flight',
      () =>
        new Gauge({
          name: OPENFAAS_PREFIX + 'invocations_in_flight',
          help: 'OpenFaaS invocations currently in flight (the stream waits when the bound is reached)',
          registers,
          collect() {
            this.set(sources.inFlight());
          },
        }),
    );
  }
}
