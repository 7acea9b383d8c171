/**
 * The vmware_vcenter stream: log in, create the event collector and hand it
 * to the follower (./event-follower.ts: each new event converted to a
 * CloudEvent and handed to the processors, in key order, once), reconnect
 * when it fails, clean the session up at stop. The session itself (transport,
 * login, collector, logout) is ./session.ts; the checkpoint (where to resume,
 * the periodic write) is ./checkpoint-keeper.ts.
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
import { CollectorsStale, EventFollower, type Connection } from './event-follower';
import {
  invalidLoginMessage,
  isCertificateProblem,
  isInvalidLogin,
  isSessionExpired,
  notAVCenterMessage,
  reconnectReason,
} from './failure';
import { VCenterSession } from './session';
import type { ProtocolOption } from './transport';

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
  private readonly callTimeoutMs: number;
  private readonly maxBackoffMs: number;
  /** WaitForUpdatesEx waits this long server-side before an empty reply (also the stall heartbeat). */
  readonly maxWaitSeconds: number;

  /** The protocol option; the protocol itself is known once the session has a transport. */
  private readonly protocol: ProtocolOption;
  private readonly session: VCenterSession;
  private cursor?: Cursor;
  private connected = false;
  private stopping = false;
  /** With the `checkpoint` option: the resume position and the periodic write. */
  private readonly checkpoint?: CheckpointKeeper;
  private acknowledged?: AcknowledgedSource;
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
    entry: ConfigEntry,
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
          instanceUuid: () => this.session.content?.instanceUuid,
          position: () => this.cursor?.position,
          handedOver: () => this.follower.handedOver,
        },
      );
    }
    this.protocol = options.protocol;
    // `vsphere_source`: the attributes and data VSphereSource gives the same event (src/events/vsphere-source.ts)
    const { payloadEncoding, pageSize } = eventFormatAndPage(options, entry.options, this.log);
    this.session = new VCenterSession({
      address: entry.address ?? '',
      protocol: this.protocol,
      username: this.username,
      password: entry.auth?.secret?.password ?? '',
      insecure: options.insecure,
      rootCAs: ctx.rootCAs,
      callTimeoutMs: this.callTimeoutMs,
      pageSize,
      signal: this.stopSignal.signal,
      log: this.log,
      metrics: ctx.metrics,
      labels: this.labels,
    });
    this.maxWaitSeconds = Math.max(1, Math.min(10, Math.floor(this.callTimeoutMs / 2000)));
    this.follower = new EventFollower({
      log: this.log,
      metrics: ctx.metrics,
      labels: this.labels,
      source: this.source,
      entryName: entry.name,
      payloadEncoding,
      pageSize,
      callTimeoutMs: this.callTimeoutMs,
      maxWaitSeconds: this.maxWaitSeconds,
      watchdogIntervalMs: options.watchdog_interval * 1000,
      signal: this.stopSignal.signal,
      vc: (method, fn) => this.session.vc(method, fn),
      answered: () => {
        this.failures = 0;
      },
    });
  }

  check(): Promise<string> {
    return this.session.check();
  }

  /** Write the acknowledged position when it moved; failures are logged, never thrown. */
  saveCheckpoint(): Promise<void> {
    return this.checkpoint?.save() ?? Promise.resolve();
  }

  details(): Record<string, unknown> {
    return {
      source: this.source,
      connected: this.connected,
      protocol: this.session.client?.protocol ?? this.protocol,
      ...(this.session.client?.release ? { api_release: this.session.client.release } : {}),
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
        await this.session.openBeforeLogin();
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
            await this.session.abandon(false);
            continue;
          }
          if (isInvalidLogin(err)) {
            const msg = `vCenter ${this.source} ${invalidLoginMessage(this.username)}`;
            if (!everConnected) throw new FatalStreamError(msg);
            this.log.error(msg + '; retrying');
          }
          const notVCenter = everConnected
            ? undefined
            : notAVCenterMessage(this.source, err, this.session.client);
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
          await this.session.abandon(expired);
          await this.sleep(delay);
        }
      }
    } finally {
      this.setConnected(false);
      await this.session.close();
    }
  }

  /** Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s ... maxBackoff. */
  private backoff(failures: number): number {
    return backoffMs(failures + 1, { baseMs: 500, maxMs: this.maxBackoffMs });
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.stopSignal.signal);
  }

  /** Log in and create the collector; the first connection also fixes where the stream starts. */
  private async connect(): Promise<{ connection: Connection; cursor: Cursor }> {
    const { client, content, now } = await this.session.login();
    if (!this.cursor) {
      // First connection: the stream starts at the vCenter's "now", or after its checkpoint.
      this.cursor = new Cursor(
        this.checkpoint ? await this.checkpoint.startPosition(content.instanceUuid, now) : { time: now },
      );
      this.checkpoint?.startWriting();
    }
    this.cursor.newCollector();
    const collector = await this.session.createCollector(client, content);
    this.setConnected(true);
    this.log.info('connected to vCenter, following its events', {
      server: content.fullName,
      protocol: client.protocol,
      instance_uuid: content.instanceUuid,
      resume_after: this.cursor.position,
    });
    return { connection: { client, content, collector }, cursor: this.cursor };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.checkpoint?.stopWriting();
    this.stopSignal.abort();
    this.session.client?.abortAll();
    await this.running?.catch(() => undefined);
  }
}
