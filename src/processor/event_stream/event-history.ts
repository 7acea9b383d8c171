/**
 * The event_stream sink's replay buffer: the bounded history of the
 * CloudEvents it serves, by count (`max_events`) and by bytes of JSON
 * (`max_bytes`), oldest purged first. It knows nothing of HTTP: the API asks
 * it where a key is and what it holds, and turns a miss into its own reply.
 *
 * Two numberings meet here. Keys are the vCenter event keys, the offsets
 * clients see: increasing in int32 serial order (they may wrap negative) and
 * possibly with gaps. Positions are this history's own: contiguous, never
 * reused, so that a watcher's position says whether its next event has been
 * purged (`position < earliestPosition`) even across purges and restarts.
 */
import { keyAfter } from '../../events/key-order';
import type { Logger } from '../../log/logger';
import type { EventStreamCounts } from './event-stream-counts';

/** One held CloudEvent: its position in this history, its vCenter key and its JSON. */
export interface HeldEvent {
  readonly position: number;
  readonly key: number;
  readonly json: string;
  readonly bytes: number;
}

/** The bounds of the history (the processor's options). */
export interface HistoryLimits {
  /** Events held at most. */
  readonly maxEvents: number;
  /** Bytes of JSON one event may have; a larger one is skipped. */
  readonly maxRecordBytes: number;
  /** Bytes of JSON held at most (the newest event is held even when alone it is more). */
  readonly maxBytes: number;
}

/** The range as the API shows it: null and null while nothing is held. */
export type HeldRange = { earliest: number | null; latest: number | null };

/**
 * Why a key was not found: nothing is held, it is older than the earliest
 * held (purged), after the latest, or inside the range on a key that was
 * skipped or never came.
 */
export type KeyMiss = 'empty' | 'purged' | 'future' | 'absent';

export type Lookup<T> = { found: T } | { miss: KeyMiss };

/**
 * Purged slots at the front of the array are dropped in one copy once there
 * are this many and they are most of it: purging one event stays O(1).
 */
const COMPACT_AFTER = 1024;

export class EventHistory {
  private held: HeldEvent[] = [];
  /** Bytes of JSON of the held events. */
  private heldBytes = 0;
  /** Index in `held` of the earliest event (the array is compacted now and then). */
  private first = 0;
  /** Position the next held event gets. */
  private nextPos = 0;

  constructor(
    readonly limits: HistoryLimits,
    private readonly counts: Pick<EventStreamCounts, 'events' | 'oversize_skipped' | 'key_space_restarts'>,
    private readonly log: Logger,
  ) {}

  /** Events held now. */
  get size(): number {
    return this.held.length - this.first;
  }

  /** Bytes of JSON held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Position of the earliest held event (= nextPosition when none is held). */
  get earliestPosition(): number {
    return this.size === 0 ? this.nextPos : this.held[this.first].position;
  }

  /** Position the next event appended gets: a watch from now starts here. */
  get nextPosition(): number {
    return this.nextPos;
  }

  private get earliest(): HeldEvent | undefined {
    return this.size === 0 ? undefined : this.held[this.first];
  }

  private get latest(): HeldEvent | undefined {
    return this.size === 0 ? undefined : this.held[this.held.length - 1];
  }

  /** The event at a held position (earliestPosition ≤ position < nextPosition). */
  at(position: number): HeldEvent {
    return this.held[this.first + (position - this.earliestPosition)];
  }

  range(): HeldRange {
    return { earliest: this.earliest?.key ?? null, latest: this.latest?.key ?? null };
  }

  /**
   * Hold one event, unless it is over max_record_bytes (skipped, counted and
   * logged); purge the oldest beyond max_events and max_bytes. Returns
   * whether it is held.
   */
  append(key: number, json: string, eventId: string): boolean {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.limits.maxRecordBytes) {
      this.counts.oversize_skipped++;
      this.log.warn('event larger than max_record_bytes: skipped (not served to watchers)', {
        offset: key,
        event_id: eventId,
        bytes,
        max_record_bytes: this.limits.maxRecordBytes,
      });
      return false;
    }
    const latest = this.latest;
    if (latest && !keyAfter(key, latest.key)) {
      // A key not after the newest: the vCenter started a new key space. Offsets of the old one mean nothing now.
      this.counts.key_space_restarts++;
      this.log.warn('the vCenter started a new key space: the history starts afresh', {
        offset: key,
        previous_latest: latest.key,
        dropped: this.size,
      });
      this.held = [];
      this.first = 0;
      this.heldBytes = 0;
    }
    this.held.push({ position: this.nextPos++, key, json, bytes });
    this.heldBytes += bytes;
    this.counts.events++;
    while (this.size > this.limits.maxEvents || (this.heldBytes > this.limits.maxBytes && this.size > 1))
      this.heldBytes -= this.held[this.first++].bytes;
    if (this.first > COMPACT_AFTER && this.first * 2 > this.held.length) {
      this.held = this.held.slice(this.first);
      this.first = 0;
    }
    return true;
  }

  /**
   * Where a watch from `key` starts: the first held position at or after it.
   * The key may be any from the earliest held to one past the latest
   * (resuming after the last one seen: nextPosition).
   */
  startOf(key: number): Lookup<number> {
    const earliest = this.earliest;
    const latest = this.latest;
    if (!earliest || !latest) return { miss: 'empty' };
    const d = (key - earliest.key) | 0;
    const span = (latest.key - earliest.key) | 0;
    if (d < 0) return { miss: 'purged' };
    if (d > span + 1) return { miss: 'future' };
    if (d === span + 1) return { found: this.nextPos };
    // Keys increase but may skip: the first held key at or after this one.
    let lo = this.first;
    let hi = this.held.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (((this.held[mid].key - earliest.key) | 0) < d) lo = mid + 1;
      else hi = mid;
    }
    return { found: this.held[lo].position };
  }

  /** The event with exactly this key. */
  eventAt(key: number): Lookup<HeldEvent> {
    const start = this.startOf(key);
    if ('miss' in start) return start;
    const e = start.found < this.nextPos ? this.at(start.found) : undefined;
    if (e && e.key === key) return { found: e };
    return { miss: keyAfter(key, this.latest!.key) ? 'future' : 'absent' };
  }

  /** The newest events' JSON, oldest first: up to `maxCount` of them and `maxBytes` counting a separator each (at least one). */
  newest(maxCount: number, maxBytes: number): string[] {
    const page: string[] = [];
    let bytes = 0;
    for (let i = this.held.length - 1; i >= this.first && page.length < maxCount; i--) {
      bytes += this.held[i].bytes + 1;
      if (page.length > 0 && bytes > maxBytes) break;
      page.push(this.held[i].json);
    }
    return page.reverse();
  }
}
