/**
 * Where the stream is: the last event handed to the processor.
 *
 * Event keys are int32 and can wrap into negative numbers, so within one
 * collector "after" is serial-number arithmetic on 32 bits, not `>`. Across
 * collectors (a new session, a restarted vCenter with a new key space) a key
 * says nothing, so the first page of a new collector is judged by
 * `createdTime` (the vCenter's own clock, to the nanosecond as it prints it):
 * newer than the last delivered event, or equally old with a later key.
 */

import { keyAfter } from '../../events/key-order';

/** RFC 3339 time as [epoch milliseconds, nanoseconds within the millisecond]. */
export function timeParts(s: string): [number, number] {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(s);
  if (!m) return [Date.parse(s), 0];
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const ms = Date.parse(`${m[1]}.${frac.slice(0, 3)}${m[3] || 'Z'}`);
  return [ms, Number(frac.slice(3))];
}

/** Negative, zero or positive as `a` is before, at, or after `b`. */
export function compareTimes(a: string, b: string): number {
  const [am, an] = timeParts(a);
  const [bm, bn] = timeParts(b);
  return am !== bm ? am - bm : an - bn;
}

export interface Position {
  /** createdTime of the last delivered event, or the vCenter's clock when the router first connected. */
  time: string;
  /** Key of the last delivered event, if any. */
  key?: number;
}

export interface KeyedEvent {
  key: number;
  createdTime: string;
}

export class Cursor {
  /** True once `position.key` comes from the current collector's key space. */
  private keyTrusted = false;

  constructor(public position: Position) {}

  /** The position's key when it is in the current collector's key space, else undefined. */
  trustedKey(): number | undefined {
    return this.keyTrusted ? this.position.key : undefined;
  }

  /** A new collector (new session or restarted vCenter): keys must be re-anchored by time. */
  newCollector(): void {
    this.keyTrusted = false;
  }

  isNew(ev: KeyedEvent): boolean {
    const p = this.position;
    if (this.keyTrusted && p.key !== undefined) return keyAfter(ev.key, p.key);
    const c = compareTimes(ev.createdTime, p.time);
    return c > 0 || (c === 0 && p.key !== undefined && keyAfter(ev.key, p.key));
  }

  /** `key` is exactly `offset + 1` keys after the position (in this collector's key space). */
  follows(key: number, offset: number): boolean {
    return (
      this.keyTrusted && this.position.key !== undefined && ((key - this.position.key) | 0) === offset + 1
    );
  }

  /** Record a delivered event. */
  advance(ev: KeyedEvent): void {
    this.position = { time: ev.createdTime, key: ev.key };
    this.keyTrusted = true;
  }

  /**
   * Called after the first page of a collector was judged by time. When that
   * page delivered nothing, its newest event (older than the position)
   * anchors keys for the rest of this collector; when it delivered, `advance`
   * already did.
   */
  anchor(newest: KeyedEvent | undefined): void {
    if (this.keyTrusted || !newest) return;
    this.position = { time: this.position.time, key: newest.key };
    this.keyTrusted = true;
  }
}
