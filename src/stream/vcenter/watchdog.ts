/**
 * The watchdog's judgement, without I/O: is a stream that says it is healthy
 * quietly behind its vCenter?
 *
 * Every interval the stream reads the vCenter's newest event
 * (EventManager.latestEvent) and tells `observe` its key, the key it last
 * delivered and how many events it has delivered so far. When the newest key
 * stays after the delivered one for two intervals in which nothing was
 * delivered, `observe` asks for a check: the stream reads its page, delivers
 * what it missed and re-creates its collectors.
 *
 * Two cases must not raise an alarm:
 * - the newest event is one the service account may not see: a check that
 *   finds nothing to deliver (even through new collectors) accepts that key,
 *   and only a newer one is looked at again;
 * - a stream that delivers, however slowly, is not stuck.
 *
 * A stream that needs the watchdog at two checks in a row, with nothing
 * delivered on its own in between (from an update, or a page read after a
 * wait without one; the first page after connecting does not count), cannot
 * catch up by itself (its
 * collectors' updates do not reach it even after they were re-created): it is
 * reported (`fault`, /readyz 503) until it delivers an event on its own again.
 */
import { keyAfter } from '../../events/key-order';

/** Nothing to do, or read the page now. */
export type WatchdogVerdict = 'ok' | 'check';

export class Watchdog {
  private lastReadAt: number;
  /** Reads in a row that found the stream behind with nothing delivered since the read before. */
  private streak = 0;
  private deliveredAtLastRead = 0;
  /** The newest key a check found nothing to deliver for: events the user may not see. */
  private acceptedKey?: number;
  /** The stream's own deliveries when the last check had to recover, undefined when it did not. */
  private ownAtLastRecovery?: number;
  /** Why the stream is not ready, while it cannot catch up by itself. */
  fault?: string;

  constructor(
    readonly intervalMs: number,
    now: number,
  ) {
    this.lastReadAt = now;
  }

  /** True when it is time to read the vCenter's newest event (never when the interval is 0). */
  due(now: number): boolean {
    if (this.intervalMs <= 0 || now - this.lastReadAt < this.intervalMs) return false;
    this.lastReadAt = now;
    return true;
  }

  /**
   * One read of the vCenter's newest key. `deliveredKey`: the last delivered
   * event's key (undefined before the stream knows its key space);
   * `delivered`: every event delivered so far; `own`: those the stream
   * delivered without the watchdog.
   */
  observe(
    latestKey: number | undefined,
    deliveredKey: number | undefined,
    delivered: number,
    own: number,
  ): WatchdogVerdict {
    const progressed = delivered !== this.deliveredAtLastRead;
    this.deliveredAtLastRead = delivered;
    this.clearWhenOwnDelivery(own);
    const behind =
      latestKey !== undefined &&
      deliveredKey !== undefined &&
      keyAfter(latestKey, deliveredKey) &&
      (this.acceptedKey === undefined || keyAfter(latestKey, this.acceptedKey));
    if (!behind || progressed) {
      this.streak = 0;
      return 'ok';
    }
    if (++this.streak < 2) return 'ok';
    this.streak = 0;
    return 'check';
  }

  /** A check found nothing to deliver, even through new collectors: `latestKey` is not for this user. */
  invisible(latestKey: number): void {
    this.acceptedKey = latestKey;
  }

  /**
   * A check delivered what the stream had missed. Returns the fault when the
   * previous check had to recover too, with no delivery of the stream's own
   * in between.
   */
  recovered(own: number, reason: string): string | undefined {
    if (this.ownAtLastRecovery === own) this.fault = reason;
    this.ownAtLastRecovery = own;
    return this.fault;
  }

  /** The stream delivered on its own since the last recovery: its updates arrive again. */
  private clearWhenOwnDelivery(own: number): void {
    if (this.ownAtLastRecovery !== undefined && own !== this.ownAtLastRecovery) {
      this.ownAtLastRecovery = undefined;
      this.fault = undefined;
    }
  }

  /** Returns true when a fault was cleared (for the stream to say so). */
  noteOwnDelivery(own: number): boolean {
    const had = this.fault !== undefined;
    this.clearWhenOwnDelivery(own);
    return had && this.fault === undefined;
  }
}
