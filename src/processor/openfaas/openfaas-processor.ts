/**
 * The `openfaas` sink: invokes every function whose `topic`
 * annotation lists the event's subject, through the OpenFaaS gateway. It is
 * a sink of the delivery runner, which owns the in-flight bound
 * (`max_in_flight`), retries and the stop deadline; here live the topic map,
 * the invocation request and what its answer means.
 *
 * - The topic map is read from the gateway at start and rebuilt every
 *   `topic_refresh_interval` seconds; a failed rebuild keeps the last good
 *   map, is logged naming the gateway (never the password) and counted. A
 *   gateway that is down or rejects the credentials at start does not fail
 *   the router: the map keeps being retried and `ready()` stays false until
 *   one was built.
 * - Each (event, function) pair is one delivery: a slow function holds up
 *   nothing until the runner's bound is reached.
 * - Transient failures (src/util/http-outcome.ts: the gateway unreachable,
 *   408, 429, 5xx but 501/505) are reported for retry (with the gateway's
 *   Retry-After); anything else fails the delivery and is logged with
 *   function, topic, status and event id. A sync function that ran past
 *   `timeout` is not run again: it may have done its work.
 * - The admin credentials are only sent to `/system/*`: the gateway forwards
 *   request headers to functions, so invocations carry no Authorization.
 * - Invocations are plain `node:http(s)` requests on keep-alive agents, the
 *   body being the CloudEvent JSON the event log encoded once (axios'
 *   per-request config merging cost more CPU than converting the event). Only
 *   when a proxy is configured in the environment (`HTTP_PROXY`, ...) do they
 *   go through axios, which implements proxies and `NO_PROXY`.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import type { ComponentContext } from '../../components/component';
import type { ConfigEntry } from '../../config/types';
import { retryAfterMs } from '../../util/backoff';
import type { Delivery, Outcome, Route, Sink, SinkPolicy } from '../../delivery/sink';
import type { LogEntry } from '../../eventlog/event-log';
import { PEER_CHECK_CHARS, quotePeer, type Logger } from '../../log/logger';
import { withoutCredentials } from '../../util/address';
import { isUntrustedCertificate, trustOptions, untrustedHint } from '../../util/tls';
import { postOnce, requestError } from '../../util/http-post';
import { isTransient } from '../../util/http-outcome';
import { OpenFaasMetrics } from './openfaas-metrics';
import type { OpenFaasOptions } from './options';
import { fetchTopicMap, type FunctionTarget, TopicMap, TopicMapError } from './topic-map';

/** A function's reply is read up to this size (only its start is logged, on failure). */
const MAX_REPLY_BYTES = 1024 * 1024;
/** The part of a failed function's reply that is logged. */
const REPLY_LOG_CHARS = 200;

/** The gateway address as it may appear in logs: no credentials, no trailing slash. */
export function displayAddress(address: string): string {
  return withoutCredentials(address).replace(/\/+$/, '');
}

/** What an invocation request returns (a failed request rejects with an Error carrying `code`). */
interface InvokeReply {
  status: number;
  /** The start of the reply body, for the log. */
  reply: string;
  retryAfter?: string | string[];
}

/**
 * A proxy set in the environment for this scheme, as axios (proxy-from-env)
 * reads it: `HTTP_PROXY`/`HTTPS_PROXY`, `ALL_PROXY`, npm's variants, any case.
 */
function proxyFromEnv(protocol: string): boolean {
  const scheme = protocol.replace(/:$/, '');
  return [`npm_config_${scheme}_proxy`, `${scheme}_proxy`, 'npm_config_proxy', 'all_proxy'].some(
    (n) => !!(process.env[n] || process.env[n.toUpperCase()]),
  );
}

/** The function as operators name it: `NAME.NAMESPACE`, or `NAME` without namespaces. */
function functionLabel(t: FunctionTarget): string {
  return t.namespace ? `${t.name}.${t.namespace}` : t.name;
}

export class OpenFaasProcessor implements Sink<FunctionTarget> {
  readonly provider = 'openfaas';
  /** One invocation per send; the runner runs `max_in_flight` of them at once. */
  readonly policy: SinkPolicy = { batchMaxItems: 1, batchMaxBytes: 0, batchMaxDelayMs: 0 };

  readonly gateway: string;
  readonly async: boolean;
  readonly timeoutMs: number;
  readonly refreshMs: number;

  private readonly log: Logger;
  private readonly metrics: OpenFaasMetrics;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly system: AxiosInstance;
  /** The gateway URL without trailing slash (invocation paths are appended). */
  private readonly baseURL: string;
  private readonly target: URL;
  /** Only when a proxy is configured in the environment; otherwise invocations use node:http(s). */
  private readonly invoker: AxiosInstance | undefined;

  private map: TopicMap | undefined;
  /** Invocation requests open now. */
  private invoking = 0;
  private failureStreak = 0;
  private droppedWithoutMap = 0;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;
  /** Aborts topic map requests on stop. */
  private readonly refreshAbort = new AbortController();

  constructor(
    entry: ConfigEntry,
    options: OpenFaasOptions,
    private readonly ctx: ComponentContext,
  ) {
    if (!entry.address) throw new Error('openfaas processor: address (the gateway URL) is required');
    const baseURL = entry.address.replace(/\/+$/, '');
    this.baseURL = baseURL;
    this.target = new URL(baseURL);
    this.gateway = displayAddress(entry.address);
    this.async = options.async;
    // Sockets for every invocation the runner may have in flight, plus the topic map requests.
    const maxInFlight = options.max_in_flight;
    this.timeoutMs = options.timeout * 1000;
    this.refreshMs = options.topic_refresh_interval * 1000;
    this.log = ctx.logger.child({ component: 'processor', provider: 'openfaas' });

    // Keep-alive sockets, enough for every invocation in flight plus the topic map requests.
    const agentOpts = { keepAlive: true, maxSockets: maxInFlight + 4, maxFreeSockets: maxInFlight + 4 };
    this.httpAgent = new http.Agent(agentOpts);
    this.httpsAgent = new https.Agent({ ...agentOpts, ...trustOptions(ctx.rootCAs) });
    const common = {
      baseURL,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      validateStatus: () => true,
    };
    // auth.method "none": no Authorization header at all (a gateway run without auth).
    const auth =
      entry.auth?.method === 'basic_auth'
        ? { username: entry.auth.secret?.username ?? '', password: entry.auth.secret?.password ?? '' }
        : undefined;
    this.system = axios.create({
      ...common,
      timeout: Math.min(this.timeoutMs, 30_000),
      auth,
    });
    this.invoker = proxyFromEnv(this.target.protocol)
      ? axios.create({
          ...common,
          timeout: this.timeoutMs,
          // The function's reply is only logged (its start, on failure): read it as a stream,
          // up to MAX_REPLY_BYTES, never parse it.
          responseType: 'stream',
        })
      : undefined;

    // Every request in flight listens on these signals.
    setMaxListeners(0, this.refreshAbort.signal);

    this.metrics = new OpenFaasMetrics(ctx.metrics.registry, {
      topicMapAgeMs: () => (this.map ? Date.now() - this.map.builtAt : undefined),
      inFlight: () => this.invoking,
    });
  }

  async start(): Promise<void> {
    this.log.info('OpenFaaS processor starting', {
      gateway: this.gateway,
      mode: this.async ? 'async' : 'sync',
      timeout_s: this.timeoutMs / 1000,
      topic_refresh_interval_s: this.refreshMs / 1000,
    });
    // The first build is awaited so that events read right after start find
    // their functions; a failure is logged and retried, never fatal.
    await this.refresh();
    this.scheduleRefresh();
  }

  ready(): boolean {
    return this.map !== undefined && !this.stopped;
  }

  /** The current topic map (undefined until the first successful build). */
  get topicMap(): TopicMap | undefined {
    return this.map;
  }

  route(entry: LogEntry): Route<FunctionTarget> {
    const event = entry.event;
    const subject = event.subject ?? '';
    if (this.stopped) return { drop: 'stopped' };
    const map = this.map;
    if (!map) {
      // Once per 1,000 drops, not per event: a burst must not flood the log.
      if (this.droppedWithoutMap++ % 1000 === 0) {
        this.log.warn('OpenFaaS topic map not built yet (gateway unavailable): events are dropped', {
          gateway: this.gateway,
          topic: subject,
          event_id: event.id,
          dropped_so_far: this.droppedWithoutMap,
        });
      }
      return { drop: 'no_topic_map' };
    }
    const targets = map.targets(subject);
    if (targets.length === 0) {
      this.log.debug('no OpenFaaS function subscribed to the event subject', {
        topic: subject,
        event_id: event.id,
      });
      return { drop: 'no_subscriber' };
    }
    return { targets: targets.map((target) => ({ target })) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    this.refreshAbort.abort();
    await this.refreshing;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // ---- topic map ---------------------------------------------------------

  private scheduleRefresh(): void {
    if (this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      void this.refresh().finally(() => this.scheduleRefresh());
    }, this.refreshMs);
    this.refreshTimer.unref();
  }

  /** Rebuild the topic map once; never rejects. */
  refresh(): Promise<void> {
    this.refreshing ??= this.rebuild().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async rebuild(): Promise<void> {
    let next: TopicMap;
    try {
      next = await fetchTopicMap(this.system, this.gateway, this.refreshAbort.signal);
    } catch (err) {
      if (this.stopped) return;
      const e =
        err instanceof TopicMapError
          ? err
          : new TopicMapError('invalid_response', `OpenFaaS gateway ${this.gateway}: ${String(err)}`);
      this.failureStreak++;
      this.metrics.topicMapRebuildFailures.inc({ reason: e.reason });
      this.log.error(e.message, {
        gateway: this.gateway,
        reason: e.reason,
        status: e.status,
        consecutive_failures: this.failureStreak,
        topic_map: this.map
          ? `keeping the last good map from ${new Date(this.map.builtAt).toISOString()}`
          : 'none yet: events are dropped until the gateway answers',
        retry_in_s: this.refreshMs / 1000,
      });
      return;
    }
    const prev = this.map;
    this.map = next;
    this.metrics.topicMapRebuilds.inc();
    this.metrics.topicMapSubscribedFunctions.set(next.subscribedFunctions);
    this.metrics.topicMapSubjects.set(next.subjects.length);
    const fields = {
      gateway: this.gateway,
      functions: next.functionCount,
      subscribed_functions: next.subscribedFunctions,
      topics: next.subjects.length,
    };
    if (this.failureStreak > 0) {
      this.log.info('OpenFaaS topic map rebuilt', { ...fields, after_failures: this.failureStreak });
    } else if (!prev || !sameMap(prev, next)) {
      this.log.info(prev ? 'OpenFaaS topic map changed' : 'OpenFaaS topic map built', fields);
    } else {
      this.log.debug('OpenFaaS topic map unchanged', fields);
    }
    this.failureStreak = 0;
  }

  // ---- invocation --------------------------------------------------------

  async send(batch: Array<Delivery<FunctionTarget>>, signal: AbortSignal): Promise<Outcome[]> {
    return Promise.all(batch.map((d) => this.invoke(d, signal)));
  }

  /** Counts each attempt per function: success, retry (another attempt follows), failure. */
  observe(d: Delivery<FunctionTarget>, outcome: Outcome, final: boolean): void {
    const fn = functionLabel(d.target);
    const label = outcome.status === 'delivered' ? 'success' : final ? 'failure' : 'retry';
    this.metrics.functionInvocations.inc({ function: fn, outcome: label });
  }

  /** One invocation of one function; never rejects. */
  private async invoke(d: Delivery<FunctionTarget>, signal: AbortSignal): Promise<Outcome> {
    const target = d.target;
    const event = d.entry.event;
    const subject = event.subject ?? '';
    const fn = functionLabel(target);
    const path = (this.async ? '/async-function/' : '/function/') + target.path;
    const started = process.hrtime.bigint();
    let status: number | undefined;
    let code: string | undefined;
    let reply = '';
    let retryAfter: number | undefined;
    this.invoking++;
    try {
      const res = await this.post(path, subject, Buffer.from(d.entry.json), signal);
      status = res.status;
      reply = res.reply;
      retryAfter = retryAfterMs(res.retryAfter);
    } catch (err) {
      const c = isAxiosError(err) ? err.code : (err as { code?: unknown } | null)?.code;
      code = typeof c === 'string' ? c : err instanceof Error ? err.name : 'error';
    } finally {
      this.invoking--;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const ok = status !== undefined && status >= 200 && status < 300;
    this.metrics.invocationDuration.observe({ function: fn, outcome: ok ? 'success' : 'failure' }, seconds);
    if (ok) {
      if (this.async && status !== 202) {
        this.log.debug('OpenFaaS async invocation accepted with an unexpected status', {
          function: fn,
          status,
        });
      }
      return { status: 'delivered' };
    }
    const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
    const failure = {
      reason: status !== undefined ? `HTTP_${status}` : (code ?? 'error'),
      message: timedOut
        ? `OpenFaaS function ${fn} did not answer within ${this.timeoutMs / 1000}s`
        : code !== undefined && isUntrustedCertificate(code)
          ? `OpenFaaS function ${fn} invocation failed: ${untrustedHint(`OpenFaaS gateway ${this.gateway}`, code)}`
          : `OpenFaaS function ${fn} invocation failed`,
      fields: {
        function: fn,
        topic: subject,
        status: status ?? code,
        mode: this.async ? 'async' : 'sync',
        gateway: this.gateway,
        reply: reply || undefined,
      },
    };
    const transient = !timedOut && isTransient(status !== undefined ? { status } : { code: code ?? 'error' });
    return transient ? { status: 'retry', failure, afterMs: retryAfter } : { status: 'failed', failure };
  }

  /** One invocation request: POST the CloudEvent JSON to the gateway, resolve with the status. */
  private async post(path: string, subject: string, body: Buffer, signal: AbortSignal): Promise<InvokeReply> {
    const headers = { 'Content-Type': 'application/json', 'X-Topic': subject };
    if (this.invoker) return this.postWithAxios(this.invoker, path, headers, body, signal);
    const url = this.target;
    const secure = url.protocol === 'https:';
    const res = await postOnce({
      url,
      path: url.pathname.replace(/\/+$/, '') + path,
      agent: secure ? this.httpsAgent : this.httpAgent,
      headers: { ...headers, Accept: 'application/json, text/plain, */*' },
      body,
      signal,
      // A deadline for the whole exchange (connect, function run, reply), as the log line says.
      timeoutMs: this.timeoutMs,
      // A function that answered 200 with a large body still ran: the status is kept.
      maxReplyBytes: MAX_REPLY_BYTES,
      // Kept whole (up to the check's length) so the secret check sees what the cut would split.
      headChars: PEER_CHECK_CHARS,
      timeoutError: () => requestError(`timeout of ${this.timeoutMs}ms exceeded`, 'ECONNABORTED'),
      abortedError: () => requestError('stream has been aborted', 'ERR_BAD_RESPONSE'),
    });
    return {
      status: res.status,
      // The function's words, quoted as peer text: cut, and withheld if they echo a secret.
      reply: quotePeer(res.head, REPLY_LOG_CHARS),
      retryAfter: res.headers['retry-after'],
    };
  }

  private async postWithAxios(
    invoker: AxiosInstance,
    path: string,
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<InvokeReply> {
    const res = await invoker.post<NodeJS.ReadableStream & { destroy(): void }>(this.baseURL + path, body, {
      headers,
      signal,
    });
    const head: Buffer[] = [];
    let bytes = 0;
    // Stop reading at the cap but keep the status (see `post`).
    await new Promise<void>((resolve) => {
      const stream = res.data;
      stream.on('data', (chunk: Buffer) => {
        if (bytes < PEER_CHECK_CHARS * 4) head.push(chunk);
        bytes += chunk.length;
        if (bytes > MAX_REPLY_BYTES) {
          stream.destroy();
          resolve();
        }
      });
      stream.on('end', resolve);
      stream.on('error', () => resolve());
      stream.on('close', resolve);
    });
    return {
      status: res.status,
      reply: quotePeer(
        Buffer.concat(head)
          .toString('utf8', 0, PEER_CHECK_CHARS * 4)
          .slice(0, PEER_CHECK_CHARS),
        REPLY_LOG_CHARS,
      ),
      retryAfter: res.headers['retry-after'] as string | undefined,
    };
  }
}

function sameMap(a: TopicMap, b: TopicMap): boolean {
  const sa = a.subjects.sort();
  const sb = b.subjects.sort();
  if (sa.length !== sb.length || a.functionCount !== b.functionCount) return false;
  return sa.every(
    (s, i) =>
      s === sb[i] &&
      a
        .targets(s)
        .map((t) => t.path)
        .sort()
        .join(',') ===
        b
          .targets(s)
          .map((t) => t.path)
          .sort()
          .join(','),
  );
}
