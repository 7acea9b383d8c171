/**
 * The router's counters. These objects are the single source of
 * truth: `/metrics` renders them in Prometheus text format and `/stats`
 * builds the original router's expvar-shaped JSON from the very same values,
 * so the two endpoints can never disagree.
 *
 * Each router instance owns its own Registry (tests run several routers in
 * one process).
 */
import { collectDefaultMetrics } from './default-metrics';
import { Counter, Gauge, Histogram, Registry } from './registry';

export const METRIC_PREFIX = 'vmware_event_router_';

/**
 * Distinct `subject` label values kept: a webhook client chooses its
 * subjects, and each new one would be a new series in memory and in every
 * scrape. vCenter's event classes in use fit well within it.
 */
export const MAX_SUBJECT_LABELS = 1000;
/** Subjects longer than this are not a label of their own (a class name is far shorter). */
export const MAX_SUBJECT_LABEL_CHARS = 256;
/** The label of every subject beyond the bound. */
export const OTHER_SUBJECTS = '(other)';

export class RouterMetrics {
  readonly registry = new Registry();
  /** The subjects that have a label of their own (the first ones seen). */
  private readonly subjects = new Set<string>();
  readonly startedAt = new Date();

  /** Events read from the stream and handed to the processor. */
  readonly streamEvents: Counter<'provider' | 'stream'>;
  /** Events the stream could not convert or hand over. */
  readonly streamErrors: Counter<'provider' | 'stream'>;
  /** Events whose class the vim25 model does not know (delivered, converted generically). */
  readonly streamUnknownEvents: Counter<'provider' | 'stream' | 'class'>;
  /** Events the router detected as missing from the vCenter's history (never silently). */
  readonly streamGapEvents: Counter<'provider' | 'stream'>;
  /** Event keys the vCenter's collector skipped between events it returned (not visible to the user). */
  readonly streamHiddenEvents: Counter<'provider' | 'stream'>;
  /** Times the watchdog found events the stream had not delivered and delivered them itself. */
  readonly streamWatchdogRecoveries: Counter<'provider' | 'stream'>;
  readonly streamConnected: Gauge<'provider' | 'stream'>;
  /** Events found in the page after a wait that reported no update (a vCenter or proxy dropped it). */
  readonly streamMissedUpdates: Counter<'provider' | 'stream'>;
  /** Restarts whose checkpoint was older than the replay window (older events not delivered). */
  readonly streamCheckpointWindowExceeded: Counter<'provider' | 'stream'>;
  /** Checkpoint writes that failed (a full disk, an unreachable coordination store): the next restart replays more. */
  readonly streamCheckpointWriteErrors: Counter<'provider' | 'stream'>;
  readonly streamReconnects: Counter<'provider' | 'stream' | 'reason'>;
  readonly streamCallErrors: Counter<'provider' | 'stream' | 'method'>;
  readonly streamLastSuccess: Gauge<'provider' | 'stream'>;
  /** WaitForUpdatesEx replies with nothing new long before the wait time, in a run of them (a fault). */
  readonly streamEmptyReplies: Counter<'provider' | 'stream'>;
  /** Requests the webhook stream answered, per HTTP status (400 malformed, 401, 413 too large). */
  readonly webhookRequests: Counter<'stream' | 'code'>;

  /** Successful deliveries per processor and subject: /stats `invocations`. */
  readonly invocations: Counter<'processor' | 'subject'>;
  /** Failed deliveries (after retries) per processor and subject. */
  readonly invocationErrors: Counter<'processor' | 'subject'>;
  /** Events the processor dropped on purpose (no subscriber, pattern mismatch, too large). */
  readonly dropped: Counter<'processor' | 'reason'>;
  /** Event createdTime to the processor's delivery. */
  readonly deliveryLatency: Histogram<'processor'>;
  /**
   * The router's own share of an event's latency: from the arrival of the vCenter reply that
   * carried it to the processor handing it to its peer (the first send of its batch).
   */
  readonly routerLatency: Histogram<'processor'>;
  /** Events a processor gave up on and wrote to its dead-letter file. */
  readonly deadLettered: Counter<'processor'>;
  /** Events a processor's `filter` did not match (never handed to it). */
  readonly filtered: Counter<'processor'>;
  /** Delivery attempts that failed and were retried, per processor and reason. */
  readonly retries: Counter<'processor' | 'reason'>;
  /** Events in the event log, and its bytes. */
  readonly logEvents: Gauge<never>;
  readonly logBytes: Gauge<never>;
  /** Times a stream had to wait because the slowest processor was a full log behind. */
  readonly logFullWaits: Counter<never>;
  /** Events each processor still owes (appended, not yet finished with). */
  readonly processorLag: Gauge<'processor'>;
  /** With a coordination entry: 1 while this replica holds the stream's lease. */
  readonly coordinationLeasesHeld: Gauge<'stream'>;
  /** Leases this replica acquired, released or lost, per stream. */
  readonly coordinationLeaseTransitions: Counter<'stream' | 'event'>;
  /** Failed calls to the coordination store, per operation. */
  readonly coordinationStoreErrors: Counter<'operation'>;

  /** Last successful vCenter call per stream: `provider` and `stream` labels, and the time. */
  private lastSuccessMs = new Map<string, { provider: string; stream: string; ms: number }>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.streamEvents = new Counter({
      name: METRIC_PREFIX + 'stream_events_total',
      help: 'vCenter events read from the stream and handed to the processor',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamErrors = new Counter({
      name: METRIC_PREFIX + 'stream_events_errors_total',
      help: 'vCenter events that failed conversion or delivery',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamUnknownEvents = new Counter({
      name: METRIC_PREFIX + 'stream_unknown_event_classes_total',
      help: 'Events of a class the vim25 model does not know (still delivered)',
      labelNames: ['provider', 'stream', 'class'],
      registers,
    });
    this.streamGapEvents = new Counter({
      name: METRIC_PREFIX + 'stream_events_missed_total',
      help: 'Events the vCenter no longer held when the router read its history (key gaps)',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamHiddenEvents = new Counter({
      name: METRIC_PREFIX + 'stream_events_hidden_total',
      help: "Event keys the vCenter's collector skipped while returning older and newer events: events the service account may not see (not lost)",
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamWatchdogRecoveries = new Counter({
      name: METRIC_PREFIX + 'stream_watchdog_recoveries_total',
      help: "Times the watchdog found the vCenter's newest event undelivered with the stream idle, delivered from the page and re-created the collectors",
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamConnected = new Gauge({
      name: METRIC_PREFIX + 'stream_connected',
      help: '1 when the stream has a logged-in vCenter session and an event collector',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamMissedUpdates = new Counter({
      name: METRIC_PREFIX + 'stream_missed_updates_total',
      help: 'Events found in the event page after a wait that reported no update (the vCenter or a proxy dropped it)',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamCheckpointWindowExceeded = new Counter({
      name: METRIC_PREFIX + 'stream_checkpoint_window_exceeded_total',
      help: 'Starts whose checkpoint was older than replay_window: events before the window were not delivered',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamCheckpointWriteErrors = new Counter({
      name: METRIC_PREFIX + 'stream_checkpoint_write_errors_total',
      help: 'Checkpoint writes that failed (the file, or the lease in the coordination store); retried every checkpoint_interval',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.streamReconnects = new Counter({
      name: METRIC_PREFIX + 'stream_reconnects_total',
      help: 'Times the stream re-established its vCenter session',
      labelNames: ['provider', 'stream', 'reason'],
      registers,
    });
    this.streamCallErrors = new Counter({
      name: METRIC_PREFIX + 'stream_call_errors_total',
      help: 'Failed vCenter API calls by method',
      labelNames: ['provider', 'stream', 'method'],
      registers,
    });
    const lastSuccess = this.lastSuccessMs;
    this.streamLastSuccess = new Gauge({
      name: METRIC_PREFIX + 'stream_seconds_since_last_success',
      help: 'Seconds since the last successful vCenter API call (a stalled stream grows this)',
      labelNames: ['provider', 'stream'],
      registers,
      collect() {
        const now = Date.now();
        for (const { provider, stream, ms } of lastSuccess.values())
          this.set({ provider, stream }, (now - ms) / 1000);
      },
    });
    this.streamEmptyReplies = new Counter({
      name: METRIC_PREFIX + 'stream_empty_replies_total',
      help: 'WaitForUpdatesEx replies with nothing new long before the wait time, in a run of them (the stream backs off)',
      labelNames: ['provider', 'stream'],
      registers,
    });
    this.webhookRequests = new Counter({
      name: METRIC_PREFIX + 'stream_webhook_requests_total',
      help: 'Requests the webhook stream answered, per HTTP status code (202 appended, 400 malformed, 401 unauthenticated, 413 too large)',
      labelNames: ['stream', 'code'],
      registers,
    });
    this.invocations = new Counter({
      name: METRIC_PREFIX + 'processor_invocations_total',
      help: 'Events delivered by the processor, per subject',
      labelNames: ['processor', 'subject'],
      registers,
    });
    this.invocationErrors = new Counter({
      name: METRIC_PREFIX + 'processor_errors_total',
      help: 'Deliveries that failed after retries, per subject',
      labelNames: ['processor', 'subject'],
      registers,
    });
    this.dropped = new Counter({
      name: METRIC_PREFIX + 'processor_dropped_total',
      help: 'Events the processor dropped on purpose, per reason',
      labelNames: ['processor', 'reason'],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: METRIC_PREFIX + 'delivery_latency_seconds',
      help: 'Time from the event createdTime in vCenter to its delivery by the processor',
      labelNames: ['processor'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.routerLatency = new Histogram({
      name: METRIC_PREFIX + 'router_latency_seconds',
      help: "The router's own share of an event's latency: from the arrival of the vCenter reply that carried it to the processor handing it to its peer",
      labelNames: ['processor'],
      buckets: [
        0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25,
        0.5, 1, 2.5, 5, 10, 30,
      ],
      registers,
    });
    this.filtered = new Counter({
      name: METRIC_PREFIX + 'processor_filtered_total',
      help: "Events the processor's filter did not match (not handed to it)",
      labelNames: ['processor'],
      registers,
    });
    this.deadLettered = new Counter({
      name: METRIC_PREFIX + 'processor_dead_lettered_total',
      help: 'Events the processor gave up on and wrote to its dead-letter file',
      labelNames: ['processor'],
      registers,
    });
    this.retries = new Counter({
      name: METRIC_PREFIX + 'processor_retries_total',
      help: 'Delivery attempts that failed transiently and were retried, per reason',
      labelNames: ['processor', 'reason'],
      registers,
    });
    this.logEvents = new Gauge({
      name: METRIC_PREFIX + 'log_events',
      help: 'Events held in the event log (appended, not yet finished by every processor)',
      registers,
    });
    this.logBytes = new Gauge({
      name: METRIC_PREFIX + 'log_bytes',
      help: 'Bytes of CloudEvent JSON held in the event log',
      registers,
    });
    this.logFullWaits = new Counter({
      name: METRIC_PREFIX + 'log_full_waits_total',
      help: 'Times the streams waited because the slowest processor was a full log behind',
      registers,
    });
    this.processorLag = new Gauge({
      name: METRIC_PREFIX + 'processor_lag_events',
      help: 'Events in the log the processor has not finished with yet',
      labelNames: ['processor'],
      registers,
    });
    this.coordinationLeasesHeld = new Gauge({
      name: METRIC_PREFIX + 'coordination_leases_held',
      help: 'With a coordination entry: 1 while this replica holds the lease of the stream, else 0',
      labelNames: ['stream'],
      registers,
    });
    this.coordinationLeaseTransitions = new Counter({
      name: METRIC_PREFIX + 'coordination_lease_transitions_total',
      help: 'Stream leases this replica acquired, released (handed over) or lost (not renewed in time, or taken)',
      labelNames: ['stream', 'event'],
      registers,
    });
    this.coordinationStoreErrors = new Counter({
      name: METRIC_PREFIX + 'coordination_store_errors_total',
      help: 'Calls to the coordination store (Kubernetes API, NATS KV) that failed',
      labelNames: ['operation'],
      registers,
    });
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics(this.registry, METRIC_PREFIX);
    }
  }

  /** Record a successful vCenter call now (feeds the stall detector and its gauge). */
  markStreamSuccess(provider: string, stream: string): void {
    this.lastSuccessMs.set(stream, { provider, stream, ms: Date.now() });
  }

  /** Milliseconds since the last successful vCenter call, or undefined before the first. */
  msSinceStreamSuccess(stream: string): number | undefined {
    const t = this.lastSuccessMs.get(stream);
    return t === undefined ? undefined : Date.now() - t.ms;
  }

  /** The `subject` label for an event's subject: itself, or `OTHER_SUBJECTS` once the bound is reached. */
  subjectLabel(subject: string): string {
    if (this.subjects.has(subject)) return subject;
    if (this.subjects.size >= MAX_SUBJECT_LABELS || subject.length > MAX_SUBJECT_LABEL_CHARS)
      return OTHER_SUBJECTS;
    this.subjects.add(subject);
    return subject;
  }

  /** Record one delivered event: invocation count and latency from the event's creation. */
  recordDelivery(processor: string, subject: string, eventTime: string | undefined): void {
    this.invocations.inc({ processor, subject });
    if (eventTime) {
      const ms = Date.now() - Date.parse(eventTime);
      if (Number.isFinite(ms)) this.deliveryLatency.observe({ processor }, Math.max(0, ms) / 1000);
    }
  }
}

/** Sum of a counter's values grouped by one label. */
export async function valuesByLabel<T extends string>(
  metric: Counter<T>,
  label: NoInfer<T>,
  where: Partial<Record<NoInfer<T>, string>> = {},
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const { values } = await metric.get();
  for (const v of values) {
    const labels: Record<string, string | number | undefined> = v.labels;
    if (Object.entries(where).some(([k, want]) => labels[k] !== want)) continue;
    const key = String(labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/** Total of a counter, optionally filtered by labels. */
export async function total<T extends string>(
  metric: Counter<T>,
  where: Partial<Record<NoInfer<T>, string>> = {},
): Promise<number> {
  let sum = 0;
  const { values } = await metric.get();
  for (const v of values) {
    const labels: Record<string, string | number | undefined> = v.labels;
    if (Object.entries(where).some(([k, want]) => labels[k] !== want)) continue;
    sum += v.value;
  }
  return sum;
}
