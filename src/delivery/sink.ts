/**
 * What a processor is to the delivery runner: a transport. It connects
 * (`start`), says which deliveries an event needs (`route`), sends a batch of
 * them and reports each one's outcome (`send`), and closes (`stop`). The
 * runner owns everything else: the filter, the in-flight bound, batching,
 * retries with backoff, the stop deadline, and the counts behind `/stats` and
 * `/metrics`.
 */
import type { LogEntry } from '../eventlog/event-log';

/** Why a delivery failed, for the one log line and the counters. */
export interface Failure {
  /** Short machine-readable reason (`HTTP_503`, `ECONNREFUSED`, `entry_error`...), a metric label. */
  reason: string;
  /** The log message, naming the peer and what to check. */
  message: string;
  /** Extra log fields (never secrets). */
  fields?: Record<string, unknown>;
}

export type Outcome =
  | { status: 'delivered' }
  /** Not delivered, may succeed later: the runner retries (after at least `afterMs`). */
  | { status: 'retry'; failure: Failure; afterMs?: number }
  /** Not delivered, and no retry can help (a 400, an entry the peer rejects). */
  | { status: 'failed'; failure: Failure };

/** One delivery: an event for one target of the sink (an OpenFaaS function, the bus...). */
export interface Delivery<T = unknown> {
  readonly entry: LogEntry;
  readonly target: T;
  /** Bytes this delivery adds to a batch (for the sink's batch byte limit). */
  readonly bytes: number;
}

/** What `route` decides for one event. */
export type Route<T> = { targets: Array<{ target: T; bytes?: number }> } | { drop: string };

/** How the runner should batch and bound this sink's deliveries (defaults; options may override). */
export interface SinkPolicy {
  /** Deliveries per `send` call. */
  batchMaxItems: number;
  /** Bytes per `send` call (0: unlimited). */
  batchMaxBytes: number;
  /** How long a partial batch waits for more (ms). */
  batchMaxDelayMs: number;
}

/** The policy of a sink that sends each event on its own (no batching). */
export const ONE_EVENT_PER_SEND: Readonly<SinkPolicy> = Object.freeze({
  batchMaxItems: 1,
  batchMaxBytes: 0,
  batchMaxDelayMs: 0,
});

export interface Sink<T = unknown> {
  readonly provider: string;
  readonly policy: SinkPolicy;
  /** Connect; a rejection is a fatal start error (exit 1). */
  start(): Promise<void>;
  /** Whether the sink can deliver now (feeds `/readyz`). */
  ready(): boolean;
  /** The deliveries this event needs, or why it needs none (counted as dropped with that reason). */
  route(entry: LogEntry): Route<T>;
  /**
   * Send a batch; resolves with one outcome per delivery, in order. Must not
   * reject for a delivery failure (that is an outcome); `signal` aborts when
   * the stop deadline passes.
   */
  send(batch: Array<Delivery<T>>, signal: AbortSignal): Promise<Outcome[]>;
  /** Told about each attempt's outcome (`final`: no retry follows), for the sink's own metrics. */
  observe?(delivery: Delivery<T>, outcome: Outcome, final: boolean): void;
  /**
   * `validate -connect`, for sinks whose `start` does not contact the peer:
   * reach it once without delivering anything; resolves with what answered.
   */
  probe?(): Promise<string>;
  /** Close connections and timers. */
  stop(): Promise<void>;
  /** Details for `/readyz` (e.g. why it is not ready). */
  details?(): Record<string, unknown>;
}
