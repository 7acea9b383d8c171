/**
 * The delivery runner: one per processor, the same code for every sink.
 *
 * It reads the event log from the processor's own position, applies the
 * processor's `filter`, asks the sink which deliveries each event needs,
 * batches them (the sink's count, bytes and delay policy), keeps at most
 * `max_in_flight` sends running, retries transient failures with one jittered
 * backoff (a peer's Retry-After is honoured) for as long as the retry budget
 * lasts (src/delivery/retry-budget.ts), and counts every outcome behind
 * `/stats` and `/metrics`. It commits an event to the log once all of its
 * deliveries are settled (delivered, dropped, or failed after retries), in
 * the log's order, which is each stream's key order: that is the
 * acknowledgement checkpoints build on.
 *
 * Stopping has one deadline for everything: the pending batch, waiting for a
 * free slot, sends in flight and retry waits. When it passes, what is still
 * running is aborted.
 */
import { setMaxListeners } from 'node:events';
import type { ComponentContext } from '../components/component';
import type { Consumer, LogEntry } from '../eventlog/event-log';
import { cloudEventObject } from '../events/cloudevent';
import type { Logger } from '../log/logger';
import type { EventMatcher } from '../pattern';
import { sleep } from '../util/backoff';
import type { DeadLetterFile } from './dead-letter';
import { InFlight } from './in-flight';
import { giveUpText, nextAttempt, type GiveUpReason, type RetryLimits } from './retry-budget';
import type { Delivery, Failure, Outcome, Sink } from './sink';

export interface RunnerOptions {
  /** The processor's name: the `processor` label of its metrics. */
  name: string;
  /** Sends in flight before the runner waits. */
  maxInFlight: number;
  /** How long, and how often, a transient failure is retried before the delivery counts as failed. */
  retry: RetryLimits;
  /** Only events this pattern matches reach the sink. */
  filter?: EventMatcher;
  /** Where events the sink gave up on are written (then they count as acknowledged). */
  deadLetter?: DeadLetterFile;
}

/** Per event: deliveries not settled yet, and who to tell when none are left. */
interface Tracked {
  remaining: number;
  done?: () => void;
}

/**
 * The CloudEvent as a filter pattern sees it, extension attributes included:
 * a filter ported from a Knative Trigger names them (`eventclass` of the
 * vsphere_source format, a webhook event's own extensions).
 */
function filterView(entry: LogEntry): Record<string, unknown> {
  return cloudEventObject(entry.event);
}

export class DeliveryRunner<T = unknown> {
  readonly inFlight: InFlight;
  private readonly log: Logger;
  private pending: Array<Delivery<T>> = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly tracked = new Map<LogEntry, Tracked>();
  private stopping = false;
  /** Aborts sends and retry waits when the stop deadline passes. */
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private consumer: Consumer | undefined;
  private expired = false;
  /** Deliveries since the start: settled as delivered, and given up after retries (the last one's failure). */
  private deliveredCount = 0;
  private failedCount = 0;
  private lastFailure: Failure | undefined;

  constructor(
    readonly sink: Sink<T>,
    readonly options: RunnerOptions,
    private readonly ctx: ComponentContext,
  ) {
    this.inFlight = new InFlight(Math.max(1, Math.floor(options.maxInFlight)));
    // Every send in flight and every retry wait listens on the stop signal: up to max_in_flight at once.
    setMaxListeners(0, this.abort.signal);
    this.log = ctx.logger.child({ component: 'delivery', processor: options.name });
  }

  get name(): string {
    return this.options.name;
  }

  /** The cap on retries, when the entry set one (else only the time budget ends them). */
  get retries(): number | undefined {
    return this.options.retry.maxRetries;
  }

  async start(): Promise<void> {
    await this.sink.start();
  }

  ready(): boolean {
    return !this.stopping && this.sink.ready();
  }

  /**
   * For /readyz's details: a processor that has failed every delivery since the start (a
   * destination nothing listens on) says so, with the last failure; it stays ready (the peer
   * may come back), but an operator sees at once that nothing got through.
   */
  deliveryDetails(): Record<string, unknown> {
    if (this.failedCount === 0 || this.deliveredCount > 0) return {};
    const error = this.lastFailure?.fields?.error;
    return {
      failing_since_start: true,
      failed_deliveries: this.failedCount,
      last_failure: this.lastFailure?.message,
      ...(typeof error === 'string' ? { last_error: error } : {}),
    };
  }

  /**
   * Read `consumer` until the log closes or the runner stops, committing each
   * event once it is settled. Resolves when reading has ended.
   */
  run(consumer: Consumer): Promise<void> {
    // Events settle out of order (concurrent sends); the log position moves over a settled prefix.
    const order: LogEntry[] = [];
    const settled = new Set<LogEntry>();
    const advance = (): void => {
      let moved = false;
      while (order.length > 0 && settled.has(order[0])) {
        settled.delete(order.shift()!);
        moved = true;
      }
      if (moved) consumer.commit(order.length > 0 ? order[0].seq : consumer.readPosition);
    };
    this.consumer = consumer;
    this.loop = (async () => {
      while (!this.stopping) {
        const entry = await consumer.next();
        if (!entry || this.stopping) break;
        order.push(entry);
        await this.process(entry, () => {
          settled.add(entry);
          advance();
        });
      }
    })();
    return this.loop;
  }

  /**
   * Hand one event over; resolves once its deliveries are batched or sent
   * (waiting for a free slot when `max_in_flight` sends are running). `done`
   * is called once every delivery of the event is settled.
   */
  async process(entry: LogEntry, done?: () => void): Promise<void> {
    const name = this.options.name;
    if (this.consumer?.isWithheld(entry)) {
      // Its stream's lease is no longer this replica's: another replica delivers it.
      done?.();
      return;
    }
    if (this.stopping) {
      this.ctx.metrics.dropped.inc({ processor: name, reason: 'stopped' });
      this.consumer?.hold(entry);
      done?.();
      return;
    }
    if (this.options.filter && !this.options.filter.matches(filterView(entry))) {
      this.ctx.metrics.filtered.inc({ processor: name });
      done?.();
      return;
    }
    const route = this.sink.route(entry);
    if ('drop' in route) {
      this.ctx.metrics.dropped.inc({ processor: name, reason: route.drop });
      done?.();
      return;
    }
    if (route.targets.length === 0) {
      done?.();
      return;
    }
    this.tracked.set(entry, { remaining: route.targets.length, done });
    const policy = this.sink.policy;
    for (const t of route.targets) {
      const bytes = t.bytes ?? entry.json.length;
      if (
        this.pending.length > 0 &&
        policy.batchMaxBytes > 0 &&
        this.pendingBytes + bytes > policy.batchMaxBytes
      ) {
        await this.flush();
      }
      this.pending.push({ entry, target: t.target, bytes });
      this.pendingBytes += bytes;
      if (this.pending.length >= policy.batchMaxItems || policy.batchMaxDelayMs <= 0) {
        await this.flush();
      } else if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => void this.flush(), policy.batchMaxDelayMs);
      }
    }
  }

  /** Send the pending batch, waiting for a free slot. */
  private async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const started = await this.inFlight.run(() => this.send(batch));
    if (!started) {
      // The runner stopped while the batch waited for room: it was never sent.
      for (const d of batch) {
        this.ctx.metrics.dropped.inc({ processor: this.options.name, reason: 'stopped' });
        this.consumer?.hold(d.entry);
        this.settle(d);
      }
    }
  }

  private settle(d: Delivery<T>): void {
    const t = this.tracked.get(d.entry);
    if (!t) return;
    if (--t.remaining === 0) {
      this.tracked.delete(d.entry);
      t.done?.();
    }
  }

  /** One batch until every delivery is settled; never rejects. */
  private async send(batch: Array<Delivery<T>>): Promise<void> {
    const name = this.options.name;
    let remaining = batch;
    // The router's own share ends here, when the events are handed to the peer (first attempt).
    const now = performance.now();
    for (const d of batch) {
      if (d.entry.arrivedAt !== undefined)
        this.ctx.metrics.routerLatency.observe(
          { processor: name },
          Math.max(0, now - d.entry.arrivedAt) / 1000,
        );
    }
    const firstAttemptAt = performance.now();
    for (let attempt = 1; remaining.length > 0; attempt++) {
      // A stream fenced while its events waited for a retry: they are not sent again from here.
      const withheld = (d: Delivery<T>): boolean => this.consumer?.isWithheld(d.entry) ?? false;
      const fenced = remaining.filter(withheld);
      if (fenced.length > 0) {
        for (const d of fenced) this.settle(d);
        remaining = remaining.filter((d) => !withheld(d));
        if (remaining.length === 0) return;
      }
      let outcomes: Outcome[];
      try {
        outcomes = await this.sink.send(remaining, this.abort.signal);
      } catch (err) {
        // A sink should report outcomes, not throw; treat a throw as transient for the whole batch.
        const failure = {
          reason: 'error',
          message: `${this.sink.provider} processor ${name}: send failed: ${(err as Error).message}`,
        };
        outcomes = remaining.map(() => ({ status: 'retry', failure }) as Outcome);
      }
      const elapsedMs = performance.now() - firstAttemptAt;
      const retry: Array<Delivery<T>> = [];
      const given: Array<{ d: Delivery<T>; failure: Failure; attempts: number }> = [];
      let waitMs = 0;
      let firstRetry: Outcome | undefined;
      remaining.forEach((d, i) => {
        const o: Outcome = outcomes[i] ?? {
          status: 'retry',
          failure: { reason: 'no_outcome', message: `${this.sink.provider} reported no outcome` },
        };
        const next =
          o.status === 'retry' && !this.abort.signal.aborted
            ? nextAttempt(this.options.retry, attempt, elapsedMs, o.afterMs)
            : undefined;
        const retryInMs = next && 'retryInMs' in next ? next.retryInMs : undefined;
        this.sink.observe?.(d, o, retryInMs === undefined);
        const subject = this.ctx.metrics.subjectLabel(d.entry.event.subject ?? '');
        if (o.status === 'delivered') {
          this.deliveredCount++;
          this.ctx.metrics.recordDelivery(name, subject, d.entry.event.time);
          this.settle(d);
          return;
        }
        if (retryInMs !== undefined) {
          this.ctx.metrics.retries.inc({ processor: name, reason: o.failure.reason });
          retry.push(d);
          firstRetry ??= o;
          waitMs = Math.max(waitMs, retryInMs);
          return;
        }
        this.ctx.metrics.invocationErrors.inc({ processor: name, subject });
        this.failedCount++;
        this.lastFailure = o.failure;
        this.logFailure(d, o.failure, attempt, elapsedMs, next && 'giveUp' in next ? next.giveUp : undefined);
        given.push({ d, failure: o.failure, attempts: attempt });
      });
      await this.giveUp(given);
      if (retry.length === 0) return;
      if (firstRetry && firstRetry.status === 'retry') {
        this.log.debug(`${firstRetry.failure.message}: retrying`, {
          ...firstRetry.failure.fields,
          deliveries: retry.length,
          attempt,
          retry_in_ms: waitMs,
        });
      }
      await sleep(waitMs, this.abort.signal);
      remaining = retry;
    }
  }

  /**
   * The one log line of a delivery that failed: the sink's words, and for a
   * transient failure which limit ended its retries and after how long.
   */
  private logFailure(
    d: Delivery<T>,
    failure: Failure,
    attempts: number,
    elapsedMs: number,
    givenUp: GiveUpReason | undefined,
  ): void {
    const fields = { ...failure.fields, event_id: d.entry.event.id, attempts };
    if (givenUp === undefined) {
      this.log.error(failure.message, fields);
      return;
    }
    this.log.error(`${failure.message}: giving up, ${giveUpText(givenUp, this.options.retry)}`, {
      ...fields,
      retried_for_s: Math.round(elapsedMs / 100) / 10,
    });
  }

  /**
   * Deliveries the sink gave up on: into the dead-letter file when there is
   * one (then acknowledged), else held (`Consumer.hold`) so that no checkpoint passes
   * them; settled either way.
   */
  private async giveUp(given: Array<{ d: Delivery<T>; failure: Failure; attempts: number }>): Promise<void> {
    for (const { d, failure, attempts } of given) {
      const dl = this.options.deadLetter;
      if (dl && (await dl.append(d.entry, failure, attempts))) {
        this.ctx.metrics.deadLettered.inc({ processor: this.options.name });
      } else {
        if (dl)
          this.log.error('could not write the dead-letter file', {
            file: dl.path,
            event_id: d.entry.event.id,
            error: dl.lastError,
          });
        this.consumer?.hold(d.entry);
      }
      this.settle(d);
    }
  }

  /**
   * Stop within `deadlineMs`. The log is closed first (by the router): what
   * it still holds for this processor is delivered, the pending batch sent,
   * and the sends in flight may finish, all until the deadline. Then reading
   * ends, nobody waits for a slot any more, whatever still runs is aborted
   * (and logged), and the sink is closed.
   */
  async stop(deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    const deadline = setTimeout(() => this.expire(), Math.max(0, deadlineMs));
    try {
      await this.loop;
      this.stopping = true;
      await this.flush();
      this.inFlight.close();
      const drained = await this.inFlight.drain(until - Date.now());
      if (!drained) {
        this.expire();
        await this.inFlight.drain(1000);
      }
    } finally {
      clearTimeout(deadline);
    }
    this.abort.abort();
    await this.sink.stop();
  }

  /** The stop deadline passed: stop reading, release slot waiters, abort sends and retry waits. */
  private expire(): void {
    if (this.expired) return;
    this.expired = true;
    if (this.inFlight.size > 0) {
      this.log.warn(`${this.sink.provider} deliveries still in flight at the stop deadline: abandoned`, {
        in_flight: this.inFlight.size,
      });
    }
    this.stopping = true;
    this.consumer?.release();
    this.inFlight.close();
    this.abort.abort();
  }
}
