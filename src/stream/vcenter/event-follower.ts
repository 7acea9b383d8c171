/**
 * Following one vCenter's event collector, connection after connection:
 * read the page and wait for updates, deliver each new event in key order,
 * once; back off from a vCenter that answers its waits empty at once; tell
 * events the user may not see (hidden keys) from lost ones (a gap); and let
 * the watchdog find events no update reported. The connection itself (login,
 * reconnects, the session) is the stream's (./vcenter-stream.ts).
 */
import type { RouterMetrics } from '../../metrics/metrics';
import { toCloudEvent } from '../../events/cloudevent';
import { toVSphereSourceCloudEvent, type PayloadEncoding } from '../../events/vsphere-source';
import { sleep } from '../../util/backoff';
import { LogClosedError } from '../../eventlog/event-log';
import type { Logger } from '../../log/logger';
import type { EventHandler } from '../stream';
import { compareKeys } from '../../events/key-order';
import { compareTimes, type Cursor } from './cursor';
import { EventCollector, type RawEvent } from './event-collector';
import { Watchdog } from './watchdog';
import type { ServiceContent, VimTransport } from './transport';
import { convertEvent } from './vim25/convert';
import { convertJsonEvent } from './vim25/convert-json';
import { marshalEventXml } from './vim25/go-xml';
import { elementOfViJson } from './vim25/vijson-element';

/** Empty early WaitForUpdatesEx replies in a row before they count as a fault (see `emptyReply`). */
export const EMPTY_REPLY_TOLERANCE = 3;

/** A vCenter call, counted under `method` (failures) and noted as a success for the stall detector. */
export type VCenterCall = <T>(method: string, fn: () => Promise<T>) => Promise<T>;

/** The logged-in session a follow runs on, and its collector. */
export interface Connection {
  client: VimTransport;
  content: ServiceContent;
  collector: EventCollector;
}

export interface FollowerSettings {
  log: Logger;
  metrics: RouterMetrics;
  labels: { provider: string; stream: string };
  /** The stream's source (CloudEvent `source`). */
  source: string;
  /** The entry's name when it has one (part of the event ids). */
  entryName?: string;
  /** Set for the `vsphere_source` CloudEvent dialect: the payload encoding of its data. */
  payloadEncoding?: PayloadEncoding;
  /** Events per page of the page collector (`page_size`). */
  pageSize: number;
  callTimeoutMs: number;
  /** WaitForUpdatesEx waits this long server-side before an empty reply. */
  maxWaitSeconds: number;
  watchdogIntervalMs: number;
  /** Aborted when the stream stops: the follow loop ends and its waits with it. */
  signal: AbortSignal;
  vc: VCenterCall;
  /** A WaitForUpdatesEx was answered: the stream works again (its reconnect backoff starts over). */
  answered(): void;
}

/** The newest event of a page by createdTime, then key (page order is not relied upon). */
function newestOf(page: RawEvent[]): RawEvent | undefined {
  let best: RawEvent | undefined;
  for (const e of page) {
    if (!best) best = e;
    else {
      const c = compareTimes(e.createdTime, best.createdTime);
      if (c > 0 || (c === 0 && compareKeys(e.key, best.key) > 0)) best = e;
    }
  }
  return best;
}

/**
 * Thrown out of `follow` by the watchdog once it delivered what the stream's
 * collectors did not report: the stream logs in again with new collectors
 * (and a new PropertyCollector session), at once and without a backoff.
 */
export class CollectorsStale extends Error {
  constructor() {
    super('the watchdog re-creates the collectors');
    this.name = 'CollectorsStale';
  }
}

export class EventFollower {
  private readonly log: Logger;
  private readonly metrics: RouterMetrics;
  private readonly labels: { provider: string; stream: string };
  private readonly source: string;
  private readonly pageSize: number;
  private readonly callTimeoutMs: number;
  private readonly maxWaitSeconds: number;
  private readonly signal: AbortSignal;
  private readonly vc: VCenterCall;
  private readonly answered: () => void;
  private readonly watchdog: Watchdog;
  /** Set while the vCenter answers WaitForUpdatesEx empty at once (see `emptyReply`): /readyz says so. */
  private emptyReplyFault?: string;
  private missedUpdatesLogged = false;
  private hiddenEventsLogged = false;
  /** Events the stream delivered without the watchdog's help (see Watchdog). */
  private ownDelivered = 0;
  /** A watchdog read failed, logged once until one succeeds again. */
  private watchdogReadFailing = false;
  /** Events this stream began to hand over since it started (the checkpoint falls back to the start only before the first). */
  private handedOverCount = 0;

  constructor(private readonly settings: FollowerSettings) {
    this.log = settings.log;
    this.metrics = settings.metrics;
    this.labels = settings.labels;
    this.source = settings.source;
    this.pageSize = settings.pageSize;
    this.callTimeoutMs = settings.callTimeoutMs;
    this.maxWaitSeconds = settings.maxWaitSeconds;
    this.signal = settings.signal;
    this.vc = settings.vc;
    this.answered = settings.answered;
    this.watchdog = new Watchdog(settings.watchdogIntervalMs, Date.now());
  }

  /** Events handed over since the stream started. */
  get handedOver(): number {
    return this.handedOverCount;
  }

  /** Why the stream is not ready though connected (empty replies, or only the watchdog delivers). */
  get fault(): string | undefined {
    return this.emptyReplyFault ?? this.watchdog.fault;
  }

  /**
   * What event ids are derived from, with the key: the vCenter's instanceUuid,
   * and the entry's name when it has one. An ESXi host has no instanceUuid and
   * simulators share one, so several streams (which must be named) never share
   * ids; an unnamed single stream keeps the ids it always had.
   */
  private identity(content: ServiceContent): string {
    const uuid = content.instanceUuid;
    return this.settings.entryName ? `${uuid}/${this.settings.entryName}` : uuid;
  }

  /** Follow the connection's collector until `signal` aborts or a call fails (it throws then). */
  async follow(conn: Connection, cursor: Cursor, handler: EventHandler): Promise<void> {
    const { collector, content } = conn;
    // After (re)connecting, the page collector says what happened since the position.
    let readPage = true;
    let firstPage = true;
    /** The page is read because a wait ended without any update (see below). */
    let idleRead = false;
    // Empty replies long before the wait time mean a vCenter that is not waiting: see `emptyReply`.
    const empty = { streak: 0, waits: 0 };
    while (!this.signal.aborted) {
      if (readPage) {
        const { fresh, newest } = await this.readFresh(collector, cursor);
        if (idleRead && fresh.length > 0) {
          this.metrics.streamMissedUpdates.inc(this.labels, fresh.length);
          if (!this.missedUpdatesLogged) {
            this.missedUpdatesLogged = true;
            this.log.warn(
              'the vCenter sent no update for events its page holds: delivered from the page (logged once, counted in stream_missed_updates_total)',
              { events: fresh.length },
            );
          }
        }
        idleRead = false;
        // The first page after connecting is read whatever the updates do: it proves nothing about them.
        await this.deliverAll(fresh, content, handler, cursor, !firstPage);
        if (firstPage) cursor.anchor(newest);
        firstPage = false;
        readPage = false;
        continue;
      }
      if (this.watchdog.due(Date.now())) await this.watchdogRead(conn, cursor, handler);
      const askedAt = Date.now();
      const woke = await this.vc('WaitForUpdatesEx', () =>
        collector.waitForEvents(this.maxWaitSeconds, this.maxWaitSeconds * 1000 + this.callTimeoutMs),
      );
      this.answered();
      const byKey = new Map<number, RawEvent>();
      for (const e of woke ?? []) if (cursor.isNew(e)) byKey.set(e.key, e);
      const fresh = [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
      // Only `fresh` holds the events from here on (deliverAll lets go of each once handed over).
      if (woke) woke.length = 0;
      byKey.clear();
      // The first wait after connecting answers at once with the current state: not a fault.
      const early = empty.waits++ > 0 && Date.now() - askedAt < (this.maxWaitSeconds * 1000) / 2;
      await this.emptyReply(empty, early && fresh.length === 0);
      if (woke === undefined && !early) {
        // A whole wait without any update: read the page anyway. A vCenter or proxy that
        // drops updates (govmomi's simulator does, for all but the newest of two sessions)
        // would otherwise leave events undelivered with nothing in the log.
        readPage = true;
        idleRead = true;
        continue;
      }
      if (fresh.length === 0) continue;
      // The wake collector reported every event since the position: deliver them.
      // Otherwise (a vCenter coalesced several events into one change) read the page.
      if (fresh.every((e, i) => cursor.follows(e.key, i))) {
        await this.deliverAll(fresh, content, handler, cursor, true);
      } else {
        readPage = true;
      }
    }
  }

  /**
   * The events of the page the stream has not delivered (with the history
   * behind a page that is all new), and the page's newest event. Keys that a
   * page reaching back to a delivered event skips are counted as hidden.
   */
  private async readFresh(
    collector: EventCollector,
    cursor: Cursor,
  ): Promise<{ fresh: RawEvent[]; newest?: RawEvent }> {
    const page = await this.vc('RetrievePropertiesEx', () => collector.readPage());
    // One event per key: govmomi's simulator can list an event twice in a new collector's
    // page when it was posted while the collector was being created.
    let fresh = [...new Map(page.filter((e) => cursor.isNew(e)).map((e) => [e.key, e])).values()];
    const newest = newestOf(page);
    const pageKeys = new Set(page.map((e) => e.key)).size;
    if (page.length >= collector.pageSize && fresh.length === pageKeys) {
      fresh = await this.fillGap(collector, cursor, fresh);
    } else if (fresh.length > 0 && fresh.length < pageKeys && cursor.trustedKey() !== undefined) {
      // The page reaches back to a delivered event: it holds every event since, that this user sees.
      this.accountGaps(
        cursor,
        fresh.sort((a, b) => compareKeys(a.key, b.key)),
        true,
      );
    }
    return { fresh, newest };
  }

  /**
   * The watchdog's read of the vCenter's newest event (see watchdog.ts). A
   * failed read is counted and logged (once until one succeeds) but never
   * ends the follow loop: the next wait says whether the vCenter is there.
   */
  private async watchdogRead(conn: Connection, cursor: Cursor, handler: EventHandler): Promise<void> {
    const { collector } = conn;
    let latest: RawEvent | undefined;
    try {
      latest = await this.vc('latestEvent', () => collector.latestEvent());
    } catch (err) {
      if (!this.watchdogReadFailing)
        this.log.warn("the watchdog could not read the vCenter's newest event (EventManager.latestEvent)", {
          error: err as Error,
        });
      this.watchdogReadFailing = true;
      return;
    }
    this.watchdogReadFailing = false;
    const verdict = this.watchdog.observe(
      latest?.key,
      cursor.trustedKey(),
      this.handedOverCount,
      this.ownDelivered,
    );
    if (verdict === 'check' && latest) await this.watchdogCheck(latest, conn, cursor, handler);
  }

  /**
   * The vCenter's newest event stayed undelivered while the stream delivered
   * nothing: read the page once, and when it holds nothing new, the page of a
   * new collector (the stream's own may have stopped updating). Events found
   * are delivered, and the stream starts over with new collectors. Nothing
   * found: the newest event is one this user may not see.
   */
  private async watchdogCheck(
    latest: RawEvent,
    conn: Connection,
    cursor: Cursor,
    handler: EventHandler,
  ): Promise<void> {
    const { client, content, collector } = conn;
    const deliveredKey = cursor.position.key;
    let { fresh } = await this.readFresh(collector, cursor);
    if (fresh.length === 0) {
      const probe = new EventCollector(client, content, this.pageSize);
      try {
        await this.vc('CreateCollectorForEvents', () => probe.createPage());
        ({ fresh } = await this.readFresh(probe, cursor));
      } finally {
        await probe.destroy(this.callTimeoutMs).catch(() => undefined);
      }
    }
    if (fresh.length === 0) {
      this.watchdog.invisible(latest.key);
      this.log.debug("the vCenter's newest event is not visible to this user: the watchdog lets it be", {
        latest_key: latest.key,
        delivered_key: deliveredKey,
      });
      return;
    }
    const events = fresh.length;
    await this.deliverAll(fresh, content, handler, cursor, false);
    this.metrics.streamWatchdogRecoveries.inc(this.labels);
    this.log.warn(
      "watchdog: the vCenter's newest event was not delivered and no update came for it: delivered the missed events from the page, re-creating the collectors",
      { latest_key: latest.key, delivered_key: deliveredKey, events },
    );
    const hadFault = this.watchdog.fault !== undefined;
    const fault = this.watchdog.recovered(
      this.ownDelivered,
      `the stream falls behind the vCenter's newest event (key ${latest.key}) again after its collectors were re-created: only the watchdog delivers its events`,
    );
    if (fault && !hadFault) this.log.error(fault);
    throw new CollectorsStale();
  }

  /**
   * A vCenter (or a proxy in front of it) that answers WaitForUpdatesEx at
   * once with nothing new, again and again, long before the wait time, would
   * otherwise be called in a tight loop with nothing to show for it. From
   * the EMPTY_REPLY_TOLERANCE-th such reply in a row: each is counted
   * (`stream_empty_replies_total`), the first of a run is logged (once), the
   * loop backs off (0.5 s doubling, capped at the wait time: never faster
   * than an idle vCenter is asked), and `/readyz` is not ready and says why,
   * until a reply brings events or waits its time. A few in a row are normal
   * (a reply about events already read from the page).
   */
  private async emptyReply(state: { streak: number }, isEmptyEarly: boolean): Promise<void> {
    if (!isEmptyEarly) {
      // (Also after a reconnect: the fault stays shown until a reply is normal again.)
      if (this.emptyReplyFault) {
        this.emptyReplyFault = undefined;
        this.log.info('vCenter WaitForUpdatesEx answers normally again', {
          empty_replies: state.streak,
        });
      }
      state.streak = 0;
      return;
    }
    state.streak++;
    if (state.streak < EMPTY_REPLY_TOLERANCE) return;
    this.metrics.streamEmptyReplies.inc(this.labels);
    const n = Math.min(state.streak - EMPTY_REPLY_TOLERANCE, 16);
    const delay = Math.round(
      Math.min(this.maxWaitSeconds * 1000, 500 * 2 ** n) * (0.75 + Math.random() * 0.25),
    );
    if (state.streak === EMPTY_REPLY_TOLERANCE) {
      const fault = `the vCenter answers WaitForUpdatesEx at once with an empty reply, long before the ${this.maxWaitSeconds} s wait time (a proxy or load balancer in between?): backing off`;
      this.emptyReplyFault = fault;
      this.log.warn(fault, { empty_replies: state.streak, retry_in_ms: delay });
    }
    await sleep(delay, this.signal);
  }

  /**
   * Deliver in key order; `fresh` is emptied as it goes, so a large reply's
   * events are freed one by one. `own`: delivered by the stream itself, not
   * by the watchdog.
   */
  private async deliverAll(
    fresh: RawEvent[],
    content: ServiceContent,
    handler: EventHandler,
    cursor: Cursor,
    own: boolean,
  ): Promise<void> {
    fresh.sort((a, b) => compareKeys(a.key, b.key)).reverse();
    while (fresh.length > 0) {
      if (this.signal.aborted) return;
      await this.deliver(fresh.pop()!, content, handler, cursor);
      if (own) this.ownDelivered++;
    }
    if (own && this.watchdog.noteOwnDelivery(this.ownDelivered))
      this.log.info("the stream delivers the vCenter's events on its own again");
  }

  /** The whole page was new: read what the burst pushed out of it, report what is gone or hidden. */
  private async fillGap(collector: EventCollector, cursor: Cursor, fresh: RawEvent[]): Promise<RawEvent[]> {
    const byKey = new Map(fresh.map((e) => [e.key, e]));
    const behind = await this.vc('ReadPreviousEvents', () =>
      collector.readBehindPage((e) => !cursor.isNew(e)),
    );
    for (const e of behind.events) if (cursor.isNew(e) && !byKey.has(e.key)) byKey.set(e.key, e);
    behind.events.length = 0;
    const all = [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
    this.accountGaps(cursor, all, behind.reachedKnown);
    return all;
  }

  /**
   * The keys between the position and the events about to be delivered
   * (`sorted`, in key order) that the vCenter did not return. Between two
   * events its collector returned, a missing key was skipped by the collector:
   * an event this user may not see (hidden, not lost). Before the oldest, the
   * same when the read came back to a delivered event (`reachedKnown`);
   * otherwise the vCenter's history ended there (its retention, or the replay
   * window, ran past them) or the read stopped at its bound: lost.
   */
  private accountGaps(cursor: Cursor, sorted: RawEvent[], reachedKnown: boolean): void {
    const last = cursor.position.key;
    if (last === undefined || sorted.length === 0) return;
    let hidden = 0;
    for (let i = 1; i < sorted.length; i++)
      hidden += Math.max(0, ((sorted[i].key - sorted[i - 1].key) | 0) - 1);
    const before = ((sorted[0].key - last) | 0) - 1;
    if (before > 0 && reachedKnown) hidden += before;
    else if (before > 0) {
      this.metrics.streamGapEvents.inc(this.labels, before);
      this.log.error('events were lost: the vCenter no longer holds them', {
        missed: before,
        after_key: last,
        next_key: sorted[0].key,
      });
    }
    if (hidden === 0) return;
    this.metrics.streamHiddenEvents.inc(this.labels, hidden);
    if (!this.hiddenEventsLogged) {
      this.hiddenEventsLogged = true;
      this.log.info(
        "the vCenter's collector skips event keys: events this user may not see, not lost (logged once, counted in stream_events_hidden_total)",
        { hidden, after_key: last, next_key: sorted[0].key },
      );
    }
  }

  private async deliver(
    raw: RawEvent,
    content: ServiceContent,
    handler: EventHandler,
    cursor: Cursor,
  ): Promise<void> {
    // Counted before the cursor moves: from here on the start position is no checkpoint.
    this.handedOverCount++;
    cursor.advance(raw);
    try {
      const ev = raw.xml ? convertEvent(raw.xml) : convertJsonEvent(raw.json!);
      if (!ev.known) {
        this.metrics.streamUnknownEvents.inc({ ...this.labels, class: ev.className });
        this.log.warn('event class unknown to the vim25 model, delivered with generic conversion', {
          class: ev.className,
          key: ev.key,
        });
      }
      const encoding = this.settings.payloadEncoding;
      const ce = encoding
        ? toVSphereSourceCloudEvent(ev, {
            source: this.source,
            apiVersion: content.apiVersion,
            encoding,
            // Go's xml.Marshal is written from the SOAP element: over VI/JSON, the one the event's JSON describes.
            xml: () => marshalEventXml(raw.xml ?? elementOfViJson(raw.json!), ev.className),
          })
        : toCloudEvent(ev, this.source, this.identity(content));
      this.log.debug('event', { key: ev.key, subject: ce.subject });
      await handler(ce, ev.key, raw.arrivedAt);
      this.metrics.streamEvents.inc(this.labels);
    } catch (err) {
      if (err instanceof LogClosedError) return;
      this.metrics.streamErrors.inc(this.labels);
      this.log.error('event could not be converted or handed over', { key: raw.key, error: err as Error });
    }
  }
}
