/**
 * The `nats_jetstream` sink: publishes each CloudEvent, in the
 * structured JSON the event log encoded once (the CloudEvents NATS binding's
 * structured mode), to `<subject_prefix>.<CloudEvent subject>` with the
 * header `Nats-Msg-Id` derived from the CloudEvent's source and id (msg-id.ts). An event is delivered when
 * the stream's PubAck returns; a PubAck that says `duplicate` (the stream
 * already holds that id, within its duplicate window) is delivered too, so a
 * publish retried after a lost PubAck is stored once.
 *
 * - The runner owns in-flight, retries and the stop deadline. Publishes are
 *   pipelined on one connection in log order; a publish that gets no PubAck
 *   within `timeout` seconds, finds no stream responder (a cluster electing a
 *   leader) or hits a 5xx JetStream error is retried by the runner; a 4xx
 *   JetStream error (e.g. the message exceeds the stream's size limit) fails.
 * - Reconnects are the client's: it tries every server of `address` (and the
 *   cluster's advertised ones) forever; publishes during a reconnect time out
 *   and are retried. `ready()` is false while disconnected.
 * - At start the stream must exist, or is created with `create_stream`; a
 *   connection or authorization failure at start is a start error.
 */
import {
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import type { ComponentContext } from '../../components/component';
import type { ConfigEntry } from '../../config/types';
import {
  ONE_EVENT_PER_SEND,
  type Delivery,
  type Failure,
  type Outcome,
  type Route,
  type Sink,
  type SinkPolicy,
} from '../../delivery/sink';
import { quotePeer, type Logger } from '../../log/logger';
import { connectNats, serverList, natsAuth, type NatsConnectionSettings } from '../../util/nats-connection';
import type { NatsJetStreamOptions } from './options';
import { natsMsgId } from './msg-id';
import { filterCovers, natsSubject } from './subject';

/** JetStream's API error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;
/** How long the first connection (every server once) may take at start. */
const CONNECT_TIMEOUT_MS = 10_000;

interface Publication {
  subject: string;
}

/** PubAcks missed in a row after which the processor is not ready (a server up but not answering). */
const STALLED_AFTER_MISSED_ACKS = 3;

export class NatsJetStreamSink implements Sink<Publication> {
  readonly provider = 'nats_jetstream';
  /** One publish per send; the runner keeps `max_in_flight` of them pipelined. */
  readonly policy: SinkPolicy = ONE_EVENT_PER_SEND;

  readonly servers: string[];
  readonly stream: string;
  readonly prefix: string;
  readonly createStream: boolean;
  readonly replicas: number;
  readonly maxAgeSeconds: number;
  readonly timeoutMs: number;

  private readonly log: Logger;
  private readonly connectSettings: NatsConnectionSettings;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private connected = false;
  private stopped = false;
  private lastDisconnect: string | undefined;
  private published = 0;
  private duplicates = 0;
  /** Publishes in a row that got no PubAck in time, and when the first of them was sent. */
  private missedAcks = 0;
  private missedAcksSince?: string;
  /** The signal `abortable` listens on, and the publishes waiting on it. */
  private watched: AbortSignal | undefined;
  private readonly waiting = new Set<(err: Error) => void>();

  constructor(entry: ConfigEntry, options: NatsJetStreamOptions, ctx: ComponentContext) {
    if (!entry.address)
      throw new Error('nats_jetstream processor: address (the NATS server URLs) is required');
    this.servers = serverList(entry.address);
    const stream = options.stream;
    if (!stream) throw new Error('nats_jetstream processor: the option stream is required');
    this.stream = stream;
    this.prefix = options.subject_prefix;
    this.createStream = options.create_stream;
    this.replicas = Math.max(1, Math.floor(options.replicas));
    this.maxAgeSeconds = Math.max(0, options.max_age);
    this.timeoutMs = Math.max(1, options.timeout) * 1000;
    this.log = ctx.logger.child({ component: 'processor', provider: 'nats_jetstream' });

    this.connectSettings = {
      servers: this.servers,
      auth: natsAuth(entry.auth?.method, entry.auth?.secret),
      tls: {
        insecure: options.insecure,
        caFile: options.ca_file,
        rootCAs: ctx.rootCAs,
      },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      // Publishes made while reconnecting are buffered (up to 8 MiB) and sent once reconnected; if
      // their PubAck comes too late the runner re-sends, and the stream drops the duplicate.
      reconnectBufferBytes: 8 * 1024 * 1024,
    };
  }

  private get where(): string {
    return this.servers.join(',');
  }

  async start(): Promise<void> {
    this.log.info('NATS JetStream processor starting', {
      servers: this.where,
      stream: this.stream,
      subject_prefix: this.prefix,
      create_stream: this.createStream,
    });
    let nc: NatsConnection;
    try {
      nc = await connectNats(this.connectSettings);
    } catch (err) {
      throw new Error(`nats_jetstream processor: ${(err as Error).message}`, { cause: err });
    }
    this.nc = nc;
    this.connected = true;
    this.watchStatus(nc);
    try {
      const jsm = await jetstreamManager(nc, { timeout: this.timeoutMs });
      await this.ensureStream(jsm);
      this.js = jetstream(nc, { timeout: this.timeoutMs });
    } catch (err) {
      await nc.close().catch(() => undefined);
      this.nc = undefined;
      throw err instanceof StartError
        ? err
        : new Error(
            `nats_jetstream processor: JetStream on ${this.where} is not usable: ${quotePeer(
              (err as Error).message,
            )} (is the server started with JetStream enabled, -js?)`,
            { cause: err },
          );
    }
    this.log.info('NATS JetStream processor connected', {
      server: nc.getServer(),
      stream: this.stream,
    });
  }

  private async ensureStream(jsm: JetStreamManager): Promise<void> {
    try {
      const info = await jsm.streams.info(this.stream);
      const subjects = info.config.subjects ?? [];
      if (!subjects.some((s) => filterCovers(s, this.prefix))) {
        this.log.warn('the JetStream stream does not capture every subject this processor publishes to', {
          stream: this.stream,
          stream_subjects: subjects.join(','),
          publishes_to: `${this.prefix}.>`,
        });
      }
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
    }
    if (!this.createStream) {
      throw new StartError(
        `nats_jetstream processor: the JetStream stream "${this.stream}" does not exist on ${this.where}: create it (capturing the subjects ${this.prefix}.>), or set the option create_stream to "true"`,
      );
    }
    const config: Partial<StreamConfig> & { name: string } = {
      name: this.stream,
      subjects: [`${this.prefix}.>`],
      num_replicas: this.replicas,
      max_age: this.maxAgeSeconds * 1e9,
    };
    try {
      await jsm.streams.add(config);
    } catch (err) {
      throw new StartError(
        `nats_jetstream processor: could not create the JetStream stream "${this.stream}" (replicas ${this.replicas}) on ${this.where}: ${quotePeer((err as Error).message)}`,
      );
    }
    this.log.info('JetStream stream created', {
      stream: this.stream,
      subjects: `${this.prefix}.>`,
      replicas: this.replicas,
      max_age_s: this.maxAgeSeconds,
    });
  }

  private watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.lastDisconnect = new Date().toISOString();
          if (!this.stopped) this.log.warn('NATS server connection lost: reconnecting', { server: s.server });
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.log.info('NATS server connection re-established', { server: s.server });
        } else if (s.type === 'close') {
          this.connected = false;
        } else if (s.type === 'error') {
          this.log.warn('NATS server error', { error: quotePeer(s.error.message) });
        }
      }
    })().catch(() => undefined);
  }

  ready(): boolean {
    return (
      this.js !== undefined && this.connected && !this.stopped && this.missedAcks < STALLED_AFTER_MISSED_ACKS
    );
  }

  /** A publish got no PubAck in time: after a few in a row, the server is connected but not answering. */
  private missedAck(): void {
    this.missedAcksSince ??= new Date().toISOString();
    if (++this.missedAcks === STALLED_AFTER_MISSED_ACKS)
      this.log.warn('NATS server connected but not answering PubAcks: not ready until it does', {
        server: this.nc?.getServer(),
        since: this.missedAcksSince,
      });
  }

  details(): Record<string, unknown> {
    return {
      servers: this.where,
      server: this.connected ? this.nc?.getServer() : undefined,
      connected: this.connected,
      stream: this.stream,
      published: this.published,
      duplicates: this.duplicates,
      pub_acks:
        this.missedAcks >= STALLED_AFTER_MISSED_ACKS
          ? `no PubAck for the last ${this.missedAcks} publishes (since ${this.missedAcksSince}): the server is connected but not answering`
          : 'ok',
      last_disconnect: this.lastDisconnect,
    };
  }

  route(entry: Delivery['entry']): Route<Publication> {
    return { targets: [{ target: { subject: natsSubject(this.prefix, entry.event.subject) } }] };
  }

  async send(batch: Array<Delivery<Publication>>, signal: AbortSignal): Promise<Outcome[]> {
    return Promise.all(batch.map((d) => this.publish(d, signal)));
  }

  /** One publish until its PubAck (or failure); never rejects. */
  private async publish(d: Delivery<Publication>, signal: AbortSignal): Promise<Outcome> {
    const js = this.js;
    const id = natsMsgId(d.entry.event);
    const subject = d.target.subject;
    if (!js || this.stopped) {
      return { status: 'retry', failure: this.failure('not_connected', 'not connected', subject) };
    }
    const h = headers();
    h.set('Content-Type', 'application/cloudevents+json; charset=utf-8');
    try {
      const ack = await this.abortable(
        js.publish(subject, d.entry.json, { msgID: id, timeout: this.timeoutMs, headers: h }),
        signal,
      );
      this.published++;
      if (this.missedAcks >= STALLED_AFTER_MISSED_ACKS)
        this.log.info('NATS PubAcks are answered again', { missed: this.missedAcks });
      this.missedAcks = 0;
      this.missedAcksSince = undefined;
      if (ack.duplicate) this.duplicates++;
      return { status: 'delivered' };
    } catch (err) {
      return this.outcomeOf(err as Error, subject);
    }
  }

  /**
   * `p`, or a rejection with an AbortError once `signal` (the runner's stop
   * deadline) aborts. One listener per signal, not one per publish: up to
   * `max_in_flight` publishes wait on it at once.
   */
  private abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(abortError());
    if (this.watched !== signal) {
      this.watched = signal;
      signal.addEventListener(
        'abort',
        () => {
          for (const reject of this.waiting) reject(abortError());
          this.waiting.clear();
        },
        { once: true },
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      p.then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }

  private outcomeOf(err: Error, subject: string): Outcome {
    if (err instanceof JetStreamApiError) {
      const failure = this.failure(`api_${err.code}`, quotePeer(err.message), subject);
      // 4xx: the stream refuses this message (size, subject); 5xx: the cluster is not available now.
      return err.status >= 400 && err.status < 500
        ? { status: 'failed', failure }
        : { status: 'retry', failure };
    }
    if (err.name === 'TimeoutError') this.missedAck();
    const reason =
      err.name === 'TimeoutError'
        ? 'timeout'
        : err.name === 'JetStreamNotEnabled'
          ? 'no_responders'
          : err.name === 'AbortError'
            ? 'aborted'
            : err.name || 'error';
    if (err.name === 'InvalidArgumentError' || /max_payload|maximum payload/i.test(err.message)) {
      return { status: 'failed', failure: this.failure(reason, quotePeer(err.message), subject) };
    }
    return {
      status: 'retry',
      failure: this.failure(
        reason,
        reason === 'timeout'
          ? `no PubAck within ${this.timeoutMs / 1000}s`
          : reason === 'no_responders'
            ? 'no stream answered (a leader election, a server restarting, or no stream captures the subject)'
            : quotePeer(err.message),
        subject,
      ),
    };
  }

  private failure(reason: string, what: string, subject: string): Failure {
    return {
      reason,
      message: `NATS JetStream publish to ${subject} (stream ${this.stream}) failed: ${what}`,
      fields: { stream: this.stream, nats_subject: subject, servers: this.where },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    if (!nc || nc.isClosed()) return;
    // The runner has drained its publishes: flush what the client still buffers, then close.
    await Promise.race([nc.drain().catch(() => nc.close()), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

class StartError extends Error {}

function abortError(): Error {
  return Object.assign(new Error('aborted at the stop deadline'), { name: 'AbortError' });
}
