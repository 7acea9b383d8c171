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
 * - Every gateway request (invocations, `/system/*`) is a plain
 *   `node:http(s)` request on one keep-alive agent (src/util/http-post.ts:
 *   one deadline for the whole exchange, the reply capped, no redirect
 *   followed), the invocation body being the CloudEvent JSON the event log
 *   encoded once. A proxy set in the environment (`HTTP_PROXY`, `ALL_PROXY`,
 *   `NO_PROXY`..., see ./proxy.ts) is applied by the agent.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { ComponentContext } from '../../components/component';
import type { ConfigEntry } from '../../config/types';
import { retryAfterMs } from '../../util/backoff';
import {
  ONE_EVENT_PER_SEND,
  type Delivery,
  type Outcome,
  type Route,
  type Sink,
  type SinkPolicy,
} from '../../delivery/sink';
import type { LogEntry } from '../../eventlog/event-log';
import { PEER_CHECK_CHARS, quotePeer, type Logger } from '../../log/logger';
import { withoutCredentials } from '../../util/address';
import { isUntrustedCertificate, trustOptions, untrustedHint } from '../../util/tls';
import {
  basicAuthorization,
  errorCode,
  getOnce,
  type GetReply,
  postOnce,
  requestError,
} from '../../util/http-post';
import { isTransient } from '../../util/http-outcome';
import { OpenFaasMetrics } from './openfaas-metrics';
import type { OpenFaasOptions } from './options';
import { agentsTakeProxies, proxyEnvironment, type ProxyEnv } from './proxy';
import {
  fetchTopicMap,
  type FunctionTarget,
  MAX_SYSTEM_REPLY_BYTES,
  TopicMap,
  TopicMapError,
} from './topic-map';

/** A function's reply is read up to this size (only its start is logged, on failure). */
const MAX_REPLY_BYTES = 1024 * 1024;
/** The part of a failed function's reply that is logged. */
const REPLY_LOG_CHARS = 200;
/** `/system/*` requests get `timeout`, but at most this long. */
const MAX_SYSTEM_TIMEOUT_MS = 30_000;
/** What a request accepts (the header axios sent, kept as gateways and functions have seen it). */
const ACCEPT = 'application/json, text/plain, */*';

/**
 * A request past its deadline and a reply cut off fail with the codes axios
 * gave them: the code is logged (`status`) and counted (`reason`).
 */
const deadlinePassed = (ms: number) => (): Error =>
  requestError(`timeout of ${ms}ms exceeded`, 'ECONNABORTED');
const replyCutOff = (): Error => requestError('stream has been aborted', 'ERR_BAD_RESPONSE');

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

/** The function as operators name it: `NAME.NAMESPACE`, or `NAME` without namespaces. */
function functionLabel(t: FunctionTarget): string {
  return t.namespace ? `${t.name}.${t.namespace}` : t.name;
}

export class OpenFaasSink implements Sink<FunctionTarget> {
  readonly provider = 'openfaas';
  /** One invocation per send; the runner runs `max_in_flight` of them at once. */
  readonly policy: SinkPolicy = ONE_EVENT_PER_SEND;

  readonly gateway: string;
  readonly async: boolean;
  readonly timeoutMs: number;
  readonly refreshMs: number;

  private readonly log: Logger;
  private readonly metrics: OpenFaasMetrics;
  /** Keep-alive sockets to the gateway (http or https, as its address says). */
  private readonly agent: http.Agent;
  private readonly target: URL;
  /** The gateway URL's path without trailing slash (request paths are appended). */
  private readonly basePath: string;
  /** The proxy the environment sets, applied by the agent. */
  private readonly proxy: ProxyEnv | undefined;
  /** The headers of `/system/*` requests: the admin credentials, when auth is basic_auth. */
  private readonly systemHeaders: Record<string, string>;

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
    this.target = new URL(entry.address);
    this.basePath = this.target.pathname.replace(/\/+$/, '');
    this.gateway = displayAddress(entry.address);
    this.async = options.async;
    // Sockets for every invocation the runner may have in flight, plus the topic map requests.
    const maxInFlight = options.max_in_flight;
    this.timeoutMs = options.timeout * 1000;
    this.refreshMs = options.topic_refresh_interval * 1000;
    this.log = ctx.logger.child({ component: 'processor', provider: 'openfaas' });

    // Keep-alive sockets, enough for every invocation in flight plus the topic map requests.
    this.proxy = proxyEnvironment();
    // `proxyEnv` is not in this @types/node yet.
    const agentOpts: http.AgentOptions & { proxyEnv?: ProxyEnv } = {
      keepAlive: true,
      maxSockets: maxInFlight + 4,
      maxFreeSockets: maxInFlight + 4,
      proxyEnv: this.proxy,
    };
    this.agent =
      this.target.protocol === 'https:'
        ? new https.Agent({ ...agentOpts, ...trustOptions(ctx.rootCAs) })
        : new http.Agent(agentOpts);
    // auth.method "none": no Authorization header at all (a gateway run without auth). The
    // address's userinfo is never sent.
    this.systemHeaders = { Accept: ACCEPT };
    if (entry.auth?.method === 'basic_auth') {
      const secret = entry.auth.secret ?? {};
      this.systemHeaders.Authorization = basicAuthorization(secret.username ?? '', secret.password ?? '');
    }

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
    if (this.proxy && !agentsTakeProxies()) {
      this.log.warn(
        `a proxy is set in the environment, but Node.js ${process.versions.node} cannot apply it (22.21 or 24.5 and later can): the gateway is reached directly`,
        { gateway: this.gateway },
      );
    }
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
    this.agent.destroy();
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
      next = await fetchTopicMap((path) => this.system(path), this.gateway);
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
      code = errorCode(err);
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
    const res = await postOnce({
      url: this.target,
      path: this.basePath + path,
      agent: this.agent,
      headers: { 'Content-Type': 'application/json', 'X-Topic': subject, Accept: ACCEPT },
      body,
      signal,
      // A deadline for the whole exchange (connect, function run, reply), as the log line says.
      timeoutMs: this.timeoutMs,
      // A function that answered 200 with a large body still ran: the status is kept.
      maxReplyBytes: MAX_REPLY_BYTES,
      // Kept whole (up to the check's length) so the secret check sees what the cut would split.
      headChars: PEER_CHECK_CHARS,
      timeoutError: deadlinePassed(this.timeoutMs),
      abortedError: replyCutOff,
    });
    return {
      status: res.status,
      // The function's words, quoted as peer text: cut, and withheld if they echo a secret.
      reply: quotePeer(res.head, REPLY_LOG_CHARS),
      retryAfter: res.headers['retry-after'],
    };
  }

  /** One `/system/*` request (the topic map), with the admin credentials; aborted on stop. */
  private system(path: string): Promise<GetReply> {
    const timeoutMs = Math.min(this.timeoutMs, MAX_SYSTEM_TIMEOUT_MS);
    return getOnce({
      url: this.target,
      path: this.basePath + path,
      agent: this.agent,
      headers: this.systemHeaders,
      signal: this.refreshAbort.signal,
      timeoutMs,
      // A broken or hostile gateway cannot push the router past its memory limit.
      maxReplyBytes: MAX_SYSTEM_REPLY_BYTES,
      timeoutError: deadlinePassed(timeoutMs),
      abortedError: replyCutOff,
    });
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
