/**
 * The `knative` sink: posts each CloudEvent to one HTTP destination (a
 * Knative Broker's ingress, a Channel, a Service, or any CloudEvents
 * receiver), as the CloudEvents HTTP binding says. It is a sink of the
 * delivery runner, which owns the in-flight bound (`max_in_flight`), retries
 * with backoff and the stop deadline; here live the request and what its
 * answer means.
 *
 * - `encoding: structured` (the default): the body is the event's JSON the
 *   event log encoded once, `Content-Type: application/cloudevents+json`.
 *   `binary`: every attribute a `ce-` header (`time` exact to the
 *   nanosecond), the data as the body (src/events/binary.ts).
 * - 2xx is delivered; what src/util/http-outcome.ts calls transient (408,
 *   429, 5xx but 501/505, connection errors, no answer within `timeout`) is
 *   retried (with the receiver's Retry-After); a 3xx is a failure naming its Location (never
 *   followed: the credentials stay with the configured host); any other
 *   status is a failure, dropped and counted.
 * - Requests are plain `node:http(s)` on keep-alive agents; the reply is
 *   read up to MAX_REPLY_BYTES and only its start is logged.
 * - Credentials (`basic_auth`, `bearer`) go in the Authorization header to
 *   the configured address only; userinfo in the address is never sent nor
 *   shown.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { ComponentContext } from '../../components/component';
import { PEER_CHECK_CHARS, quotePeer, type Logger } from '../../log/logger';
import { basicAuthorization, errorCode, postOnce, requestError } from '../../util/http-post';
import { isTransient } from '../../util/http-outcome';
import { reach } from '../../util/reach';
import type { ConfigEntry } from '../../config/types';
import { retryAfterMs } from '../../util/backoff';
import {
  ONE_EVENT_PER_SEND,
  type Delivery,
  type Failure,
  type Outcome,
  type Route,
  type Sink,
  type SinkPolicy,
} from '../../delivery/sink';
import type { LogEntry } from '../../eventlog/event-log';
import { binaryMessage } from '../../events/binary';
import { withoutCredentials } from '../../util/address';
import { isUntrustedCertificate, trustOptions, untrustedHint } from '../../util/tls';
import type { KnativeOptions } from './options';

export type Encoding = 'structured' | 'binary';

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** A reply is read up to this size; more aborts the request (the answer's status still counts). */
const MAX_REPLY_BYTES = 64 * 1024;
/** The part of a failed reply that is logged. */
const REPLY_LOG_CHARS = 200;

interface Reply {
  status: number;
  reply: string;
  retryAfter?: string | string[];
  location?: string;
}

/** The Authorization header for the entry's auth, if any. */
export function authorization(entry: ConfigEntry): string | undefined {
  const secret = entry.auth?.secret ?? {};
  switch (entry.auth?.method) {
    case 'basic_auth':
      return basicAuthorization(secret.username ?? '', secret.password ?? '');
    case 'bearer':
      return `Bearer ${secret.token ?? ''}`;
    default:
      return undefined;
  }
}

export class KnativeSink implements Sink<null> {
  readonly provider = 'knative';
  /** One event per request; the runner keeps `max_in_flight` of them open. */
  readonly policy: SinkPolicy = ONE_EVENT_PER_SEND;

  /** The destination as it may be shown: no credentials. */
  readonly destination: string;
  readonly encoding: Encoding;
  readonly timeoutMs: number;

  private readonly url: URL;
  private readonly secure: boolean;
  private readonly agent: http.Agent;
  /** How the destination's certificate is verified (the agent and the probe alike). */
  private readonly tls: { rejectUnauthorized: boolean; ca?: string[] };
  private readonly auth: string | undefined;
  private readonly log: Logger;
  private readonly stopAbort = new AbortController();
  private stopped = false;
  private sending = 0;

  constructor(entry: ConfigEntry, options: KnativeOptions, ctx: ComponentContext) {
    if (!entry.address) throw new Error('knative processor: address (the destination URI) is required');
    const url = new URL(entry.address);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`knative processor: address must be http:// or https:// (got ${url.protocol})`);
    }
    url.username = '';
    url.password = '';
    this.url = url;
    this.secure = url.protocol === 'https:';
    this.destination = withoutCredentials(entry.address);
    const encoding = options.encoding;
    if (encoding !== 'structured' && encoding !== 'binary') {
      throw new Error(`knative processor: encoding must be "structured" or "binary" (got "${encoding}")`);
    }
    this.encoding = encoding;
    this.timeoutMs = options.timeout * 1000;
    this.auth = authorization(entry);
    const maxInFlight = options.max_in_flight;
    const agentOpts = { keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight };
    this.tls = {
      rejectUnauthorized: !options.insecure,
      ...trustOptions(ctx.rootCAs),
    };
    this.agent = this.secure ? new https.Agent({ ...agentOpts, ...this.tls }) : new http.Agent(agentOpts);
    this.log = ctx.logger.child({ component: 'processor', provider: 'knative' });
    setMaxListeners(0, this.stopAbort.signal);
  }

  async start(): Promise<void> {
    // Nothing to connect: a sink that is down now is retried per event.
    this.log.info('Knative processor starting', {
      destination: this.destination,
      encoding: this.encoding,
      auth: this.auth ? this.auth.split(' ')[0].toLowerCase() : 'none',
      timeout_s: this.timeoutMs / 1000,
    });
  }

  ready(): boolean {
    return !this.stopped;
  }

  /** The destination accepts a connection, for https a verified TLS handshake (nothing is posted). */
  async probe(): Promise<string> {
    try {
      await reach(this.url.href, 5000, this.tls);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && isUntrustedCertificate(code))
        throw new Error(untrustedHint(`Knative destination ${this.destination}`, code, 'options.insecure'), {
          cause: err,
        });
      throw err;
    }
    return this.secure ? 'destination accepts TLS connections' : 'destination accepts connections';
  }

  route(): Route<null> {
    if (this.stopped) return { drop: 'stopped' };
    return { targets: [{ target: null }] };
  }

  async send(batch: Array<Delivery<null>>, signal: AbortSignal): Promise<Outcome[]> {
    return Promise.all(batch.map((d) => this.deliver(d.entry, signal)));
  }

  details(): Record<string, unknown> {
    return { destination: this.destination, encoding: this.encoding, in_flight: this.sending };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopAbort.abort();
    this.agent.destroy();
  }

  /** The request for one event in the configured encoding. */
  message(entry: LogEntry): { headers: Record<string, string>; body: Buffer } {
    if (this.encoding === 'binary') return binaryMessage(entry.event);
    return { headers: { 'Content-Type': STRUCTURED_CONTENT_TYPE }, body: Buffer.from(entry.json, 'utf8') };
  }

  /** One event, one POST; never rejects. */
  private async deliver(entry: LogEntry, signal: AbortSignal): Promise<Outcome> {
    const event = entry.event;
    const { headers, body } = this.message(entry);
    let res: Reply | undefined;
    let code: string | undefined;
    let detail: string | undefined;
    this.sending++;
    try {
      res = await this.post(headers, body, signal);
    } catch (err) {
      code = errorCode(err);
      detail = err instanceof Error ? err.message : String(err);
    } finally {
      this.sending--;
    }
    if (res && res.status >= 200 && res.status < 300) return { status: 'delivered' };

    const fields: Record<string, unknown> = {
      destination: this.destination,
      event_id: event.id,
      subject: event.subject,
      encoding: this.encoding,
    };
    if (!res) {
      const failure: Failure = {
        reason: code ?? 'error',
        message:
          code !== undefined && isUntrustedCertificate(code)
            ? `Knative destination ${this.destination} did not take the event: ${untrustedHint(`Knative destination ${this.destination}`, code, 'options.insecure')}`
            : `Knative destination ${this.destination} did not take the event (${code}: ${detail})` +
              (/CERT|SELF_SIGNED|TLS|SSL/.test(code ?? '')
                ? ': check its certificate, or set options.insecure for a test setup'
                : ''),
        fields: { ...fields, error: code },
      };
      return isTransient({ code: code ?? 'error' })
        ? { status: 'retry', failure }
        : { status: 'failed', failure };
    }
    const status = res.status;
    fields.status = status;
    if (res.reply) fields.reply = res.reply;
    if (status >= 300 && status < 400) {
      // Peer text like any other: a Location may carry the token it was sent.
      const location = res.location ? quotePeer(withoutCredentials(res.location)) : undefined;
      return {
        status: 'failed',
        failure: {
          reason: `HTTP_${status}`,
          message: `Knative destination ${this.destination} redirected (${status}) to ${
            location ?? 'no Location'
          }: redirects are not followed, configure the final address`,
          fields: { ...fields, location },
        },
      };
    }
    const failure: Failure = {
      reason: `HTTP_${status}`,
      message: `Knative destination ${this.destination} answered ${status}`,
      fields,
    };
    if (isTransient({ status })) {
      return { status: 'retry', failure, afterMs: retryAfterMs(res.retryAfter) };
    }
    if (status === 401 || status === 403) {
      failure.message += ': check the processor auth';
    }
    return { status: 'failed', failure };
  }

  private async post(headers: Record<string, string>, body: Buffer, signal: AbortSignal): Promise<Reply> {
    const all: Record<string, string> = { ...headers, Accept: 'application/json, */*;q=0.5' };
    if (this.auth) all.Authorization = this.auth;
    const res = await postOnce({
      url: this.url,
      path: this.url.pathname + this.url.search,
      agent: this.agent,
      headers: all,
      body,
      signal: AbortSignal.any([signal, this.stopAbort.signal]),
      timeoutMs: this.timeoutMs,
      maxReplyBytes: MAX_REPLY_BYTES,
      // Kept whole (up to the check's length) so the secret check sees what the cut would split.
      headChars: PEER_CHECK_CHARS,
      timeoutError: () => requestError(`no answer within ${this.timeoutMs}ms`, 'ETIMEDOUT'),
      abortedError: () => requestError('reply aborted', 'ECONNRESET'),
    });
    return {
      status: res.status,
      // Peer text, quoted: cut, and withheld if it echoes a secret (the bearer token, say).
      reply: quotePeer(res.head, REPLY_LOG_CHARS),
      retryAfter: res.headers['retry-after'],
      location: res.headers.location,
    };
  }
}
