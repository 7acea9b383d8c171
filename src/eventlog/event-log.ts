/**
 * The bounded in-memory log between the streams and the processors.
 *
 * Every stream appends its CloudEvents in its own key order; every consumer
 * (one delivery runner per processor) reads the log at its own pace from its
 * own position and commits what it has finished with (delivered, dropped, or
 * filtered out). An entry stays in the log until every consumer has committed
 * it, so the log holds exactly the events some processor still owes. When the
 * slowest consumer is a whole log behind (count or bytes), `append` waits:
 * the streams slow down, nothing is dropped.
 */
import { cloudEventJson } from '../events/cloudevent';
import type { RouterEvent } from '../events/types';

export interface LogEntry {
  /** Position in the log: increases by one per append, across all streams. */
  readonly seq: number;
  /** The name of the stream that appended it. */
  readonly stream: string;
  /** The vCenter event key (or the stream's own sequence for streams without keys). */
  readonly key: number;
  readonly event: RouterEvent;
  /** The structured-mode JSON of `event`, encoded once for every sink. */
  readonly json: string;
  /**
   * When the stream's reply carrying the event arrived (performance.now() ms): the start of
   * the router's own share of its latency (`router_latency_seconds`); absent when unknown.
   */
  readonly arrivedAt?: number;
}

/** The newest event of a stream that every processor has acknowledged. */
export interface Acknowledged {
  key: number;
  /** Its createdTime. */
  time: string;
}

export interface EventLogLimits {
  maxEvents: number;
  maxBytes: number;
}

export class LogClosedError extends Error {
  constructor() {
    super('the event log is closed (the router is stopping)');
    this.name = 'LogClosedError';
  }
}

/** One reader of the log. */
export interface Consumer {
  readonly name: string;
  /** Seq of the next entry `next()` returns. */
  readonly readPosition: number;
  /** Every entry before this seq has been committed. */
  readonly committed: number;
  /** The next entry, waiting until there is one; undefined once the log is closed. */
  next(): Promise<LogEntry | undefined>;
  /** Everything before `seq` is finished with. */
  commit(seq: number): void;
  /**
   * This entry was not acknowledged (neither delivered nor dead-lettered):
   * no checkpoint of its stream may pass it. Called before the commit that
   * moves past the entry.
   */
  hold(entry: LogEntry): void;
  /** The entry's stream was fenced (its lease is another replica's now): it must not be sent. */
  isWithheld(entry: LogEntry): boolean;
  /** Stop reading: a waiting `next()` and every later one return undefined. */
  release(): void;
}

export class EventLog {
  private entries: LogEntry[] = [];
  /** Seq of entries[0]. */
  private base = 0;
  private bytes = 0;
  private readonly consumers: ConsumerImpl[] = [];
  private appendWaiters: Array<() => void> = [];
  private closed = false;
  /** Per stream: the newest entry every consumer finished with, before any failed one. */
  private readonly acked = new Map<string, Acknowledged>();
  /** Streams with an entry some processor failed: their acknowledged position stops there. */
  private readonly blocked = new Set<string>();
  /** Seqs of the entries some consumer held (did not acknowledge), until they are trimmed. */
  private readonly held = new Set<number>();
  /** Per fenced stream: its entries below this seq are withheld from every processor. */
  private readonly fencedBelow = new Map<string, number>();
  /** Called after every trim (`drained` waits on it). */
  private trimWaiters: Array<() => void> = [];
  /** Times an append had to wait for the slowest consumer. */
  fullWaits = 0;
  /** Since when appends wait (undefined while there is room). */
  fullSince: number | undefined;

  constructor(readonly limits: EventLogLimits) {}

  get size(): number {
    return this.entries.length;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Seq the next append gets. */
  get head(): number {
    return this.base + this.entries.length;
  }

  consumer(name: string): Consumer {
    const c = new ConsumerImpl(this, name, this.head);
    this.consumers.push(c);
    return c;
  }

  /** The consumers and how far behind the head each is (for /readyz details). */
  lag(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.consumers) out[c.name] = this.head - c.committed;
    return out;
  }

  private full(): boolean {
    return (
      this.entries.length >= this.limits.maxEvents ||
      (this.entries.length > 0 && this.bytes >= this.limits.maxBytes)
    );
  }

  /**
   * Append one event; waits while the log is full. Resolves with the entry, or
   * rejects with LogClosedError when the router stops while it waits.
   */
  async append(stream: string, key: number, event: RouterEvent, arrivedAt?: number): Promise<LogEntry> {
    while (this.full() && !this.closed) {
      if (this.fullSince === undefined) {
        this.fullSince = Date.now();
        this.fullWaits++;
      }
      await new Promise<void>((resolve) => this.appendWaiters.push(resolve));
    }
    if (this.closed) throw new LogClosedError();
    this.fullSince = undefined;
    const json = cloudEventJson(event);
    const entry: LogEntry = { seq: this.head, stream, key, event, json, arrivedAt };
    this.entries.push(entry);
    this.bytes += json.length;
    for (const c of this.consumers) c.wake();
    return entry;
  }

  /** @internal the entry at `seq`, if still held. */
  at(seq: number): LogEntry | undefined {
    return this.entries[seq - this.base];
  }

  /** @internal drop what every consumer has committed; let waiting appends in. */
  trim(): void {
    let min = this.head;
    for (const c of this.consumers) min = Math.min(min, c.committed);
    const drop = min - this.base;
    if (drop <= 0) return;
    for (let i = 0; i < drop; i++) {
      const e = this.entries[i];
      this.bytes -= e.json.length;
      if (this.isWithheld(e)) this.held.delete(e.seq);
      else if (this.held.delete(e.seq)) this.blocked.add(e.stream);
      else if (!this.blocked.has(e.stream))
        this.acked.set(e.stream, { key: e.key, time: e.event.time ?? '' });
    }
    this.entries.splice(0, drop);
    this.base = min;
    const waiters = this.appendWaiters.splice(0);
    for (const w of waiters) w();
    for (const w of this.trimWaiters.splice(0)) w();
  }

  /**
   * Fence a stream (this replica lost or handed over its lease): what the log
   * still holds of it is withheld from every processor (not sent, not
   * acknowledged), and its acknowledged position is forgotten, so that the
   * stream's next run starts from its stored checkpoint alone.
   */
  withhold(stream: string): void {
    this.fencedBelow.set(stream, this.head);
    this.acked.delete(stream);
    this.blocked.delete(stream);
  }

  /** Whether `entry` belongs to a stream fenced since it was appended. */
  isWithheld(entry: LogEntry): boolean {
    return entry.seq < (this.fencedBelow.get(entry.stream) ?? 0);
  }

  /** Whether the log still holds an event of `stream` some processor has not finished with. */
  holds(stream: string): boolean {
    return this.entries.some((e) => e.stream === stream && !this.isWithheld(e));
  }

  /** Resolves true once every event of `stream` is finished with, false when `timeoutMs` passes first. */
  async drained(stream: string, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.holds(stream)) {
      const left = until - Date.now();
      if (left <= 0 || this.closed) return !this.holds(stream);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.trimWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** @internal an entry a consumer did not acknowledge: its stream's acknowledged position stops before it. */
  hold(entry: LogEntry): void {
    if (entry.seq >= this.base) this.held.add(entry.seq);
  }

  /**
   * The newest event of `stream` every processor acknowledged (delivered,
   * dead-lettered, filtered out or not wanted), with no failed event before it.
   */
  acknowledged(stream: string): Acknowledged | undefined {
    return this.acked.get(stream);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stop: waiting appends reject; readers get what is still held, then undefined. */
  close(): void {
    this.closed = true;
    for (const w of this.appendWaiters.splice(0)) w();
    for (const c of this.consumers) c.wake();
  }
}

class ConsumerImpl implements Consumer {
  private waiter?: () => void;
  committed: number;

  constructor(
    private readonly log: EventLog,
    readonly name: string,
    public readPosition: number,
  ) {
    this.committed = readPosition;
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private released = false;

  /** After `close`, what the log still holds is read out; then undefined. */
  async next(): Promise<LogEntry | undefined> {
    for (;;) {
      if (this.released) return undefined;
      const e = this.log.at(this.readPosition);
      if (e) {
        this.readPosition++;
        return e;
      }
      if (this.log.isClosed) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  release(): void {
    this.released = true;
    this.wake();
  }

  isWithheld(entry: LogEntry): boolean {
    return this.log.isWithheld(entry);
  }

  hold(entry: LogEntry): void {
    this.log.hold(entry);
  }

  commit(seq: number): void {
    if (seq <= this.committed) return;
    this.committed = seq;
    this.log.trim();
  }
}
