/**
 * The vmware_vcenter stream: log in, create the event collector and hand it
 * to the follower (./event-follower.ts: each new event converted to a
 * CloudEvent and handed to the processors, in key order, once), reconnect
 * when it fails, clean the session up at stop. The checkpoint (where to
 * resume, the periodic write) is ./checkpoint-keeper.ts.
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
import { sourceFromAddress } from '../../events/cloudevent';
import { backoffMs, sleep } from '../../util/backoff';
import type { Logger } from '../../log/logger';
import { StreamStartError, type AcknowledgedSource, type EventHandler, type Stream } from '../stream';
import { checkpointFile, FileCheckpointStore } from './checkpoint';
import { CheckpointKeeper } from './checkpoint-keeper';
import { eventFormatAndPage, type VCenterOptions } from './options';
import { Cursor } from './cursor';
import { EventCollector } from './event-collector';
import { CollectorsStale, EventFollower, type Connection } from './event-follower';
import { openTransport } from './negotiate';
import {
  invalidLoginMessage,
  isCertificateProblem,
  isInvalidLogin,
  isSessionExpired,
  notAVCenterMessage,
  reconnectReason,
} from './failure';
import type { ProtocolOption, ServiceContent, VimTransport } from './transport';

const PROVIDER = 'vmware_vcenter';

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

  /** The protocol option; the protocol itself is known once `client` exists. */
  private readonly protocol: ProtocolOption;
  private client?: VimTransport;
  private content?: ServiceContent;
  private collector?: EventCollector;
  private cursor?: Cursor;
  private connected = false;
  private stopping = false;
  /** With the `checkpoint` option: the resume position and the periodic write. */
  private readonly checkpoint?: CheckpointKeeper;
  private acknowledged?: AcknowledgedSource;
  /** Events per page of the page collector (`page_size`). */
  private readonly pageSize: number;
  private readonly follower: EventFollower;
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
      this.checkpoint = new CheckpointKeeper(
        {
          // Beside the stream's lease when replicas share the streams, else a file.
          store:
            ctx.checkpointStore ?? new FileCheckpointStore(checkpointFile(options.checkpoint_dir, this.name)),
          intervalMs: options.checkpoint_interval * 1000,
          windowMs: options.replay_window * 1000,
        },
        { source: this.source, name: this.name, labels: this.labels, log: this.log, metrics: ctx.metrics },
        {
          acknowledged: () => this.acknowledged?.(),
          instanceUuid: () => this.content?.instanceUuid,
          position: () => this.cursor?.position,
          handedOver: () => this.follower.handedOver,
        },
      );
    }
    this.protocol = options.protocol;
    // `vsphere_source`: the attributes and data VSphereSource gives the same event (src/events/vsphere-source.ts)
    const { payloadEncoding, pageSize } = eventFormatAndPage(options, entry.options, this.log);
    this.pageSize = pageSize;
    this.maxWaitSeconds = Math.max(1, Math.min(10, Math.floor(this.callTimeoutMs / 2000)));
    this.follower = new EventFollower({
      log: this.log,
      metrics: ctx.metrics,
      labels: this.labels,
      source: this.source,
      entryName: entry.name,
      payloadEncoding,
      pageSize: this.pageSize,
      callTimeoutMs: this.callTimeoutMs,
      maxWaitSeconds: this.maxWaitSeconds,
      watchdogIntervalMs: options.watchdog_interval * 1000,
      signal: this.stopSignal.signal,
      vc: (method, fn) => this.vc(method, fn),
      answered: () => {
        this.failures = 0;
      },
    });
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
        if (isInvalidLogin(err)) throw new Error(invalidLoginMessage(this.username), { cause: err });
        throw err;
      }
      await client.logout(content, 5000).catch(() => undefined);
      return `logged in as "${this.username}" (${content.fullName}) over ${how}`;
    } finally {
      client.close();
    }
  }

  /** Write the acknowledged position when it moved; failures are logged, never thrown. */
  saveCheckpoint(): Promise<void> {
    return this.checkpoint?.save() ?? Promise.resolve();
  }

  details(): Record<string, unknown> {
    return {
      source: this.source,
      connected: this.connected,
      protocol: this.client?.protocol ?? this.protocol,
      ...(this.client?.release ? { api_release: this.client.release } : {}),
      seconds_since_last_success: (this.ctx.metrics.msSinceStreamSuccess(this.name) ?? NaN) / 1000 || null,
      ...(this.follower.fault ? { fault: this.follower.fault } : {}),
      ...(this.checkpoint ? { checkpoint_failed_writes: this.checkpoint.failedWrites } : {}),
    };
  }

  ready(): boolean {
    if (!this.connected || this.follower.fault) return false;
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
        // Opening SOAP makes no call: only a broken installation fails here.
        throw new FatalStreamError((err as Error).message);
      }
      this.log.info('vCenter calls go over SOAP', { protocol: 'soap' });
    }
    this.setConnected(false);
    let everConnected = false;
    try {
      while (!this.stopping) {
        try {
          const { connection, cursor } = await this.connect();
          everConnected = true;
          await this.follower.follow(connection, cursor, handler);
        } catch (err) {
          this.setConnected(false);
          if (this.stopping) break;
          if (err instanceof CollectorsStale) {
            this.ctx.metrics.streamReconnects.inc({ ...this.labels, reason: 'watchdog' });
            await this.abandonSession(false);
            continue;
          }
          if (isInvalidLogin(err)) {
            const msg = `vCenter ${this.source} ${invalidLoginMessage(this.username)}`;
            if (!everConnected) throw new FatalStreamError(msg);
            this.log.error(msg + '; retrying');
          }
          const notVCenter = everConnected ? undefined : notAVCenterMessage(this.source, err, this.client);
          if (notVCenter) throw new FatalStreamError(notVCenter);
          const expired = isSessionExpired(err);
          this.ctx.metrics.streamReconnects.inc({ ...this.labels, reason: reconnectReason(err) });
          const delay = expired && this.failures === 0 ? 0 : this.backoff(this.failures);
          this.failures++;
          if (isCertificateProblem(err))
            // The line says what to set (it stays one until fixed).
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

  /** Log in and create the collector; the first connection also fixes where the stream starts. */
  private async connect(): Promise<{ connection: Connection; cursor: Cursor }> {
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
      this.cursor = new Cursor(
        this.checkpoint ? await this.checkpoint.startPosition(content.instanceUuid, now) : { time: now },
      );
      this.checkpoint?.startWriting();
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
    return { connection: { client, content, collector }, cursor: this.cursor };
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
    this.checkpoint?.stopWriting();
    this.stopSignal.abort();
    this.client?.abortAll();
    await this.running?.catch(() => undefined);
  }
}
