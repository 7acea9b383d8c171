/**
 * The vmware_vcenter stream: login, follow the event collector, convert each
 * new event to a CloudEvent and hand it to the processor, in key order, once.
 *
 * Failure handling (an operator must tell a wrong password from an outage):
 * - a wrong password on the very first login is fatal (exit 1, clear message);
 * - an unreachable vCenter, at start or later, is retried with capped
 *   exponential backoff; `/readyz` is false and the metrics say why;
 * - an expired session (NotAuthenticated) or a restarted vCenter: log in
 *   again and resume after the last delivered event, without exiting;
 * - every call has a timeout, so a stalled vCenter shows up as failing calls
 *   and a growing "seconds since last success", then a new session.
 */
import type { ComponentContext } from '../../components/component';
import { entryName, type ConfigEntry } from '../../config/types';
import { sourceFromAddress, toCloudEvent } from '../../events/cloudevent';
import { toVSphereSourceCloudEvent, type PayloadEncoding } from '../../events/vsphere-source';
import { backoffMs, sleep } from '../../util/backoff';
import { LogClosedError } from '../../eventlog/event-log';
import type { Logger } from '../../log/logger';
import { StreamStartError, type AcknowledgedSource, type EventHandler, type Stream } from '../stream';
import type { CheckpointStore } from '../../components/checkpoint';
import { checkpointFile, FileCheckpointStore } from './checkpoint';
import { PAGE_SIZE_MAX, type VCenterOptions } from './options';
import { compareKeys, compareTimes, Cursor, type Position } from './cursor';
import { EventCollector, type RawEvent } from './event-collector';
import { Watchdog } from './watchdog';
import { openTransport } from './negotiate';
import { VimTransportError } from './http-exchange';
import { VimFault, type ProtocolOption, type ServiceContent, type VimTransport } from './transport';
import { convertEvent } from './vim25/convert';
import { convertJsonEvent } from './vim25/convert-json';
import { isUntrustedCertificate } from '../../util/tls';
import { marshalEventXml } from './vim25/go-xml';
import { elementOfViJson } from './vim25/vijson-element';

const PROVIDER = 'vmware_vcenter';
/** Empty early WaitForUpdatesEx replies in a row before they count as a fault (see `emptyReply`). */
export const EMPTY_REPLY_TOLERANCE = 3;

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
class CollectorsStale extends Error {
  constructor() {
    super('the watchdog re-creates the collectors');
    this.name = 'CollectorsStale';
  }
}

/** A start error the operator must fix; the router exits 1 with this message. */
export class FatalStreamError extends StreamStartError {
  constructor(message: string) {
    super(message);
    this.name = 'FatalStreamError';
  }
}

export class VCenterStream implements Stream {
  readonly provider = PROVIDER;
  readonly name: string;
  readonly source: string;
  /** Metric labels of this stream. */
  private readonly labels: { provider: string; stream: string };
  private readonly log: Logger;
  private readonly username: string;
  private readonly password: string;
  private readonly insecure: boolean;
  private readonly callTimeoutMs: number;
  private readonly maxBackoffMs: number;
  /** WaitForUpdatesEx waits this long server-side before an empty reply (also the stall heartbeat). */
  readonly maxWaitSeconds: number;
  /** Set for the `vsphere_source` CloudEvent dialect: the payload encoding of its data. */
  private readonly payloadEncoding?: PayloadEncoding;

  /** The protocol option; the protocol itself is known once `client` exists. */
  private readonly protocol: ProtocolOption;
  private client?: VimTransport;
  private content?: ServiceContent;
  private collector?: EventCollector;
  private cursor?: Cursor;
  private connected = false;
  /** Set while the vCenter answers WaitForUpdatesEx empty at once (see `emptyReply`): /readyz says so. */
  private emptyReplyFault?: string;
  private stopping = false;
  /** With the `checkpoint` option: where, how often, how far back. */
  private readonly checkpoint?: { store: CheckpointStore; intervalMs: number; windowMs: number };
  /** Checkpoint writes failed in a row (shown in /readyz details). */
  private checkpointFailures = 0;
  private acknowledged?: AcknowledgedSource;
  private checkpointTimer?: NodeJS.Timeout;
  private missedUpdatesLogged = false;
  private hiddenEventsLogged = false;
  /** Events per page of the page collector (`page_size`). */
  private readonly pageSize: number;
  private readonly watchdog: Watchdog;
  /** Events the stream delivered without the watchdog's help (see Watchdog). */
  private ownDelivered = 0;
  /** A watchdog read failed, logged once until one succeeds again. */
  private watchdogReadFailing = false;
  /** Events this stream began to hand over since it started (the checkpoint falls back to the start only before the first). */
  private handedOver = 0;
  /** The acknowledged position last written (key and time), to skip writing the same twice. */
  private lastWritten?: string;
  private writing: Promise<void> = Promise.resolve();
  /** Aborted by `stop`: ends a reconnect wait at once. */
  private readonly stopSignal = new AbortController();
  private running?: Promise<void>;
  /**
   * Consecutive failures, for the backoff. Reset only once the stream works
   * again (a WaitForUpdatesEx answered), not at login: a vCenter that accepts
   * logins but fails every later call must not be hammered with new sessions.
   */
  private failures = 0;

  constructor(
    private readonly entry: ConfigEntry,
    options: VCenterOptions,
    private readonly ctx: ComponentContext,
  ) {
    this.source = sourceFromAddress(entry.address ?? '');
    this.name = entryName(entry);
    this.labels = { provider: PROVIDER, stream: this.name };
    this.log = ctx.logger.child({
      component: 'stream',
      provider: PROVIDER,
      ...(entry.name ? { stream: entry.name } : {}),
      vcenter: this.source,
    });
    this.username = entry.auth?.secret?.username ?? '';
    this.password = entry.auth?.secret?.password ?? '';
    this.insecure = options.insecure;
    this.callTimeoutMs = options.call_timeout * 1000;
    this.maxBackoffMs = options.max_backoff * 1000;
    if (options.checkpoint) {
      this.checkpoint = {
        // Beside the stream's lease when replicas share the streams, else a file.
        store:
          ctx.checkpointStore ?? new FileCheckpointStore(checkpointFile(options.checkpoint_dir, this.name)),
        intervalMs: options.checkpoint_interval * 1000,
        windowMs: options.replay_window * 1000,
      };
    }
    this.protocol = options.protocol;
    // `vsphere_source`: the attributes and data VSphereSource gives the same event (src/events/vsphere-source.ts)
    const format = options.cloudevent_format;
    if (format === 'vsphere_source') {
      this.payloadEncoding = options.vsphere_source_payload_encoding;
    } else if (entry.options?.vsphere_source_payload_encoding !== undefined) {
      // Said once, so that an operator who expected VSphereSource's payload sees why it is not there.
      this.log.warn(
        'vsphere_source_payload_encoding is ignored: it applies only with cloudevent_format "vsphere_source"',
        { cloudevent_format: format },
      );
    }
    this.maxWaitSeconds = Math.max(1, Math.min(10, Math.floor(this.callTimeoutMs / 2000)));
    this.pageSize = Math.min(options.page_size, PAGE_SIZE_MAX);
    if (options.page_size > PAGE_SIZE_MAX)
      this.log.warn(`page_size ${options.page_size} lowered to ${PAGE_SIZE_MAX}, the vCenter's largest page`);
    this.watchdog = new Watchdog(options.watchdog_interval * 1000, Date.now());
  }

  /**
   * What event ids are derived from, with the key: the vCenter's instanceUuid,
   * and the entry's name when it has one. An ESXi host has no instanceUuid and
   * simulators share one, so several streams (which must be named) never share
   * ids; an unnamed single stream keeps the ids it always had.
   */
  private identity(): string {
    const uuid = this.content?.instanceUuid ?? '';
    return this.entry.name ? `${uuid}/${this.entry.name}` : uuid;
  }

  /**
   * Where the first collector starts: after the checkpoint when there is a
   * usable one of this vCenter (bounded by the replay window), else at "now".
   * Never throws: a missing, unreadable, corrupt or foreign checkpoint is
   * logged and the stream starts at "now".
   */
  private async startPosition(content: ServiceContent, now: string): Promise<Position> {
    const cp = this.checkpoint;
    if (!cp) return { time: now };
    const read = await cp.store.read();
    if (read.status === 'missing') {
      this.log.info('no checkpoint yet: starting at "now"', { checkpoint: cp.store.where });
      return { time: now };
    }
    if (read.status === 'unusable') {
      this.log.warn(`checkpoint ignored: ${read.reason}; starting at "now"`, { checkpoint: cp.store.where });
      return { time: now };
    }
    const c = read.checkpoint;
    if (c.source !== this.source || c.instanceUuid !== content.instanceUuid) {
      this.log.warn('checkpoint ignored: it belongs to another vCenter; starting at "now"', {
        checkpoint: cp.store.where,
        checkpoint_source: c.source,
        checkpoint_instance_uuid: c.instanceUuid,
        instance_uuid: content.instanceUuid,
      });
      return { time: now };
    }
    const windowStart = new Date(Date.parse(now) - cp.windowMs).toISOString();
    if (compareTimes(c.time, windowStart) < 0) {
      this.ctx.metrics.streamCheckpointWindowExceeded.inc(this.labels);
      this.log.warn('checkpoint older than the replay window: events before the window are not delivered', {
        checkpoint_time: c.time,
        replay_from: windowStart,
        replay_window_s: cp.windowMs / 1000,
      });
      return { time: windowStart };
    }
    this.log.info('resuming after the checkpoint', { checkpoint_key: c.key, checkpoint_time: c.time });
    this.lastWritten = `${c.key}@${c.time}`;
    return { time: c.time, key: c.key };
  }

  private startCheckpoints(): void {
    const cp = this.checkpoint;
    if (!cp || this.checkpointTimer) return;
    this.checkpointTimer = setInterval(() => void this.saveCheckpoint(), cp.intervalMs);
    this.checkpointTimer.unref();
  }

  /** Write the acknowledged position when it moved; failures are logged, never thrown. */
  saveCheckpoint(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const cp = this.checkpoint;
      const at = this.acknowledged?.() ?? this.untouchedPosition();
      if (!cp || !at || !this.content) return;
      const id = `${at.key}@${at.time}`;
      if (id === this.lastWritten) return;
      try {
        await cp.store.write({
          version: 1,
          source: this.source,
          name: this.name,
          instanceUuid: this.content.instanceUuid,
          key: at.key,
          time: at.time,
          written: new Date().toISOString(),
        });
        this.lastWritten = id;
        if (this.checkpointFailures > 0) {
          this.log.info('checkpoint written again', {
            checkpoint: cp.store.where,
            failed_writes: this.checkpointFailures,
          });
          this.checkpointFailures = 0;
        }
      } catch (err) {
        // Once per run of failures (a write is tried every second): the first is logged, the rest counted.
        if (this.checkpointFailures++ === 0)
          this.log.error(
            'could not write the checkpoint (retried every interval; logged again once it succeeds)',
            {
              checkpoint: cp.store.where,
              error: err as Error,
            },
          );
      }
    });
    return this.writing;
  }

  /**
   * Before the stream handed any event over, everything up to where it
   * started is done: that position is a checkpoint too, so that the next
   * run (another replica's, after a hand-over) does not start at its own
   * "now" and miss what came in between.
   */
  private untouchedPosition(): { key: number; time: string } | undefined {
    const p = this.cursor?.position;
    if (this.handedOver > 0 || p?.key === undefined) return undefined;
    return { key: p.key, time: p.time };
  }

  /** The transport at the stream address over the protocol option (negotiated for `auto`, `vi_json`). */
  private open(): Promise<{ transport: VimTransport; how: string }> {
    return openTransport(
      this.entry.address ?? '',
      this.protocol,
      { insecure: this.insecure, rootCAs: this.ctx.rootCAs, timeoutMs: this.callTimeoutMs },
      this.stopSignal.signal,
    );
  }

  async check(): Promise<string> {
    const { transport: client, how } = await this.open();
    try {
      const content = await client.retrieveServiceContent();
      try {
        await client.login(content, this.username, this.password);
      } catch (err) {
        if (err instanceof VimFault && err.faultType === 'InvalidLogin')
          throw new Error(
            `rejected the login of user "${this.username}" (InvalidLogin): check auth.secret.username and auth.secret.password`,
            { cause: err },
          );
        throw err;
      }
      await client.logout(content, 5000).catch(() => undefined);
      return `logged in as "${this.username}" (${content.fullName}) over ${how}`;
    } finally {
      client.close();
    }
  }

  details(): Record<string, unknown> {
    return {
      source: this.source,
      connected: this.connected,
      protocol: this.client?.protocol ?? this.protocol,
      ...(this.client?.release ? { api_release: this.client.release } : {}),
      seconds_since_last_success: (this.ctx.metrics.msSinceStreamSuccess(this.name) ?? NaN) / 1000 || null,
      ...(this.emptyReplyFault || this.watchdog.fault
        ? { fault: this.emptyReplyFault ?? this.watchdog.fault }
        : {}),
      ...(this.checkpoint ? { checkpoint_failed_writes: this.checkpointFailures } : {}),
    };
  }

  ready(): boolean {
    if (!this.connected || this.emptyReplyFault || this.watchdog.fault) return false;
    const since = this.ctx.metrics.msSinceStreamSuccess(this.name);
    return since !== undefined && since < this.maxWaitSeconds * 1000 + this.callTimeoutMs;
  }

  run(handler: EventHandler, acknowledged?: AcknowledgedSource): Promise<void> {
    this.acknowledged = acknowledged;
    this.running = this.loop(handler);
    return this.running;
  }

  private setConnected(v: boolean): void {
    this.connected = v;
    this.ctx.metrics.streamConnected.set(this.labels, v ? 1 : 0);
  }

  private async loop(handler: EventHandler): Promise<void> {
    if (this.protocol === 'soap') {
      try {
        this.client = (await this.open()).transport;
      } catch (err) {
        // The committed WSDL could not be loaded: a broken installation.
        throw new FatalStreamError((err as Error).message);
      }
      this.log.info('vCenter calls go over SOAP', { protocol: 'soap' });
    }
    this.setConnected(false);
    let everConnected = false;
    try {
      while (!this.stopping) {
        try {
          await this.connect();
          everConnected = true;
          await this.follow(handler);
        } catch (err) {
          this.setConnected(false);
          if (this.stopping) break;
          if (err instanceof CollectorsStale) {
            this.ctx.metrics.streamReconnects.inc({ ...this.labels, reason: 'watchdog' });
            await this.abandonSession(false);
            continue;
          }
          if (err instanceof VimFault && err.faultType === 'InvalidLogin') {
            const msg = `vCenter ${this.source} rejected the login of user "${this.username}" (InvalidLogin): check auth.secret.username and auth.secret.password`;
            if (!everConnected) throw new FatalStreamError(msg);
            this.log.error(msg + '; retrying');
          }
          const notVCenter = everConnected ? undefined : this.notAVCenter(err);
          if (notVCenter) throw new FatalStreamError(notVCenter);
          // An expired session answers NotAuthenticated, or (govmomi's simulator, when the
          // page is read) ManagedObjectNotFound for the session's collector: both need a new login.
          const expired =
            err instanceof VimFault &&
            (err.faultType === 'NotAuthenticated' || err.faultType === 'ManagedObjectNotFound');
          const reason = expired
            ? 'session_expired'
            : err instanceof VimTransportError
              ? 'unreachable'
              : 'error';
          this.ctx.metrics.streamReconnects.inc({ ...this.labels, reason });
          const delay = expired && this.failures === 0 ? 0 : this.backoff(this.failures);
          this.failures++;
          if (err instanceof VimTransportError && isUntrustedCertificate(err.code))
            // A configuration problem, not an outage: the line says what to set (it stays one until fixed).
            this.log.error(`${err.message}; retrying`, { retry_in_ms: delay, attempt: this.failures });
          else
            this.log.warn(
              expired
                ? 'vCenter session expired, logging in again'
                : 'vCenter stream interrupted, reconnecting',
              {
                error: err as Error,
                retry_in_ms: delay,
                attempt: this.failures,
              },
            );
          await this.abandonSession(expired);
          await this.sleep(delay);
        }
      }
    } finally {
      await this.closeSession();
      this.client?.close();
    }
  }

  /**
   * Before the first successful connection, a reply that no vCenter sends
   * (HTTP 404 or another client error, a page that is not SOAP) means the
   * address is wrong: retrying would not help. A vCenter that is down or
   * starting (no answer, 5xx) is retried.
   */
  private notAVCenter(err: unknown): string | undefined {
    if (!(err instanceof VimTransportError)) return undefined;
    const status = /^HTTP_(\d{3})$/.exec(err.code ?? '')?.[1];
    const clientError =
      status !== undefined && status.startsWith('4') && status !== '408' && status !== '429';
    if (!clientError && err.code !== 'EBADREPLY') return undefined;
    const json = this.client?.protocol === 'vi_json';
    return (
      `${this.source} is not a vCenter ${json ? `VI/JSON (release ${this.client?.release})` : 'SOAP'} endpoint: ` +
      `${err.method} was answered with ${err.answered ?? err.message}, ` +
      `where a vCenter answers with ${json ? 'VI/JSON' : 'a SOAP envelope'}; set the stream address to the vCenter's https://HOST/sdk` +
      (json ? ' (VI/JSON needs vCenter 8.0 Update 1 or later: protocol auto falls back to SOAP)' : '')
    );
  }

  /** Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s ... maxBackoff. */
  private backoff(failures: number): number {
    return backoffMs(failures + 1, { baseMs: 500, maxMs: this.maxBackoffMs });
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.stopSignal.signal);
  }

  /** Wrap a vCenter call: count failures, note successes for the stall detector. */
  private async vc<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.ctx.metrics.markStreamSuccess(PROVIDER, this.name);
      return r;
    } catch (err) {
      this.ctx.metrics.streamCallErrors.inc({ ...this.labels, method });
      throw err;
    }
  }

  private async connect(): Promise<void> {
    if (!this.client) {
      // Negotiated once: the same server keeps the protocol across reconnects.
      const { transport, how } = await this.vc('System.hello', () => this.open());
      this.client = transport;
      this.log.info(`vCenter calls go over ${how}`, {
        protocol: transport.protocol,
        ...(transport.release ? { api_release: transport.release } : {}),
      });
    }
    const client = this.client;
    const content = await this.vc('RetrieveServiceContent', () => client.retrieveServiceContent());
    await this.vc('Login', () => client.login(content, this.username, this.password));
    this.content = content;
    const now = await this.vc('CurrentTime', () => client.currentTime());
    if (!this.cursor) {
      // First connection: the stream starts at the vCenter's "now", or after its checkpoint.
      this.cursor = new Cursor(await this.startPosition(content, now));
      this.startCheckpoints();
    }
    this.cursor.newCollector();
    const collector = new EventCollector(client, content, this.pageSize);
    await this.vc('CreateCollectorForEvents', () => collector.create());
    this.collector = collector;
    this.setConnected(true);
    this.log.info('connected to vCenter, following its events', {
      server: content.fullName,
      protocol: client.protocol,
      instance_uuid: content.instanceUuid,
      resume_after: this.cursor.position,
    });
  }

  private async follow(handler: EventHandler): Promise<void> {
    const collector = this.collector!;
    const cursor = this.cursor!;
    // After (re)connecting, the page collector says what happened since the position.
    let readPage = true;
    let firstPage = true;
    /** The page is read because a wait ended without any update (see below). */
    let idleRead = false;
    // Empty replies long before the wait time mean a vCenter that is not waiting: see `emptyReply`.
    const empty = { streak: 0, waits: 0 };
    while (!this.stopping) {
      if (readPage) {
        const { fresh, newest } = await this.readFresh(collector, cursor);
        if (idleRead && fresh.length > 0) {
          this.ctx.metrics.streamMissedUpdates.inc(this.labels, fresh.length);
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
        await this.deliverAll(fresh, handler, cursor, !firstPage);
        if (firstPage) cursor.anchor(newest);
        firstPage = false;
        readPage = false;
        continue;
      }
      if (this.watchdog.due(Date.now())) await this.watchdogRead(collector, cursor, handler);
      const askedAt = Date.now();
      const woke = await this.vc('WaitForUpdatesEx', () =>
        collector.waitForEvents(this.maxWaitSeconds, this.maxWaitSeconds * 1000 + this.callTimeoutMs),
      );
      this.failures = 0;
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
        await this.deliverAll(fresh, handler, cursor, true);
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
  private async watchdogRead(
    collector: EventCollector,
    cursor: Cursor,
    handler: EventHandler,
  ): Promise<void> {
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
      this.handedOver,
      this.ownDelivered,
    );
    if (verdict === 'check' && latest) await this.watchdogCheck(latest, collector, cursor, handler);
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
    collector: EventCollector,
    cursor: Cursor,
    handler: EventHandler,
  ): Promise<void> {
    const deliveredKey = cursor.position.key;
    let { fresh } = await this.readFresh(collector, cursor);
    if (fresh.length === 0) {
      const probe = new EventCollector(this.client!, this.content!, this.pageSize);
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
    await this.deliverAll(fresh, handler, cursor, false);
    this.ctx.metrics.streamWatchdogRecoveries.inc(this.labels);
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
    this.ctx.metrics.streamEmptyReplies.inc(this.labels);
    const n = Math.min(state.streak - EMPTY_REPLY_TOLERANCE, 16);
    const delay = Math.round(
      Math.min(this.maxWaitSeconds * 1000, 500 * 2 ** n) * (0.75 + Math.random() * 0.25),
    );
    if (state.streak === EMPTY_REPLY_TOLERANCE) {
      const fault = `the vCenter answers WaitForUpdatesEx at once with an empty reply, long before the ${this.maxWaitSeconds} s wait time (a proxy or load balancer in between?): backing off`;
      this.emptyReplyFault = fault;
      this.log.warn(fault, { empty_replies: state.streak, retry_in_ms: delay });
    }
    await this.sleep(delay);
  }

  /**
   * Deliver in key order; `fresh` is emptied as it goes, so a large reply's
   * events are freed one by one. `own`: delivered by the stream itself, not
   * by the watchdog.
   */
  private async deliverAll(
    fresh: RawEvent[],
    handler: EventHandler,
    cursor: Cursor,
    own: boolean,
  ): Promise<void> {
    fresh.sort((a, b) => compareKeys(a.key, b.key)).reverse();
    while (fresh.length > 0) {
      if (this.stopping) return;
      await this.deliver(fresh.pop()!, handler, cursor);
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
      this.ctx.metrics.streamGapEvents.inc(this.labels, before);
      this.log.error('events were lost: the vCenter no longer holds them', {
        missed: before,
        after_key: last,
        next_key: sorted[0].key,
      });
    }
    if (hidden === 0) return;
    this.ctx.metrics.streamHiddenEvents.inc(this.labels, hidden);
    if (!this.hiddenEventsLogged) {
      this.hiddenEventsLogged = true;
      this.log.info(
        "the vCenter's collector skips event keys: events this user may not see, not lost (logged once, counted in stream_events_hidden_total)",
        { hidden, after_key: last, next_key: sorted[0].key },
      );
    }
  }

  private async deliver(raw: RawEvent, handler: EventHandler, cursor: Cursor): Promise<void> {
    // Counted before the cursor moves: from here on the start position is no checkpoint.
    this.handedOver++;
    cursor.advance(raw);
    try {
      const ev = raw.xml ? convertEvent(raw.xml) : convertJsonEvent(raw.json!);
      if (!ev.known) {
        this.ctx.metrics.streamUnknownEvents.inc({ ...this.labels, class: ev.className });
        this.log.warn('event class unknown to the vim25 model, delivered with generic conversion', {
          class: ev.className,
          key: ev.key,
        });
      }
      const encoding = this.payloadEncoding;
      const ce = encoding
        ? toVSphereSourceCloudEvent(ev, {
            source: this.source,
            apiVersion: this.content?.apiVersion ?? '',
            encoding,
            // Go's xml.Marshal is written from the SOAP element: over VI/JSON, the one the event's JSON describes.
            xml: () => marshalEventXml(raw.xml ?? elementOfViJson(raw.json!), ev.className),
          })
        : toCloudEvent(ev, this.source, this.identity());
      this.log.debug('event', { key: ev.key, subject: ce.subject });
      await handler(ce, ev.key, raw.arrivedAt);
      this.ctx.metrics.streamEvents.inc(this.labels);
    } catch (err) {
      if (err instanceof LogClosedError) return;
      this.ctx.metrics.streamErrors.inc(this.labels);
      this.log.error('event could not be converted or handed over', { key: raw.key, error: err as Error });
    }
  }

  /**
   * After a failure: log the old session out when it may still be alive, so
   * that a flaky network does not leave one vCenter session (and its
   * collectors) behind per reconnect; never wait long for it.
   */
  private async abandonSession(expired: boolean): Promise<void> {
    this.collector = undefined;
    const client = this.client;
    if (!expired && client?.hasSession() && this.content) {
      await client.logout(this.content, 2000).catch(() => undefined);
    }
    client?.resetSession();
  }

  /**
   * Clean shutdown: destroy the collectors and log out. Each step is tried on
   * its own (a collector that cannot be destroyed is still gone with the
   * session), and each is bounded by a short timeout.
   */
  private async closeSession(): Promise<void> {
    this.setConnected(false);
    const client = this.client;
    const content = this.content;
    if (!client || !content || !client.hasSession()) return;
    const problems: Error[] = [];
    await this.collector?.destroy(5000).catch((err: Error) => problems.push(err));
    this.collector = undefined;
    await client.logout(content, 5000).catch((err: Error) => problems.push(err));
    if (problems.length === 0) this.log.info('collector destroyed and logged out of vCenter');
    else
      this.log.warn('could not clean up the vCenter session', {
        error: problems.map((e) => e.message).join('; '),
      });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.checkpointTimer);
    this.stopSignal.abort();
    this.client?.abortAll();
    await this.running?.catch(() => undefined);
  }
}
