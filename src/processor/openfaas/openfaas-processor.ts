/**
 * OpenFaaS processor (SPEC §5): invokes every function whose `topic`
 * annotation lists the event's subject, through the OpenFaaS gateway.
 *
 * - The topic map is read from the gateway at start and rebuilt every
 *   `topic_refresh_interval` seconds; a failed rebuild keeps the last good
 *   map, is logged naming the gateway (never the password) and counted. A
 *   gateway that is down or rejects the credentials at start does not fail
 *   the router: the map keeps being retried and `ready()` stays false until
 *   one was built.
 * - Each (event, function) invocation runs independently through one
 *   InFlight bound (`max_in_flight`, default 32): a slow function holds up
 *   nothing until the bound is reached, then the stream waits (back-pressure)
 *   instead of buffering.
 * - Transient failures (connection refused or reset, 429, 502, 503, 504) are
 *   retried `retries` times with exponential backoff; anything else is logged
 *   with function, topic, status and event id, and counted. The stream never
 *   retries (at-most-once).
 * - The admin credentials are only sent to `/system/*`: the gateway forwards
 *   request headers to functions, so invocations carry no Authorization.
 * - Invocations are plain `node:http(s)` requests on keep-alive agents, the
 *   body being the CloudEvent JSON encoded once per event (axios' per-request
 *   config merging cost more CPU than converting the event). Only when a
 *   proxy is configured in the environment (`HTTP_PROXY`, ...) do they go
 *   through axios, which implements proxies and `NO_PROXY`.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import type { ComponentContext } from '../../components/component';
import { withoutCredentials } from '../../util/address';
import { boolOption, numberOption, type ConfigEntry } from '../../config/types';
import { cloudEventJson } from '../../events/cloudevent';
import type { RouterEvent } from '../../events/types';
import type { Logger } from '../../log/logger';
import { InFlight } from '../in-flight';
import type { Processor } from '../processor';
import { OpenFaasMetrics } from './openfaas-metrics';
import { fetchTopicMap, type FunctionTarget, TopicMap, TopicMapError } from './topic-map';

export const DEFAULTS = {
  async: false,
  maxInFlight: 32,
  retries: 3,
  timeoutSeconds: 30,
  topicRefreshSeconds: 10,
};

/** Statuses that mean "the function was not run, try again". */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** Socket errors that mean the request did not get through (or the keep-alive socket was stale). */
const RETRY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN']);

/** A function's reply is read up to this size (only its start is logged, on failure). */
const MAX_REPLY_BYTES = 1024 * 1024;
/** The part of a failed function's reply that is logged. */
const REPLY_LOG_CHARS = 200;

const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;

/** The gateway address as it may appear in logs: no credentials, no trailing slash. */
export function displayAddress(address: string): string {
  return withoutCredentials(address).replace(/\/+$/, '');
}

function positive(n: number, fallback: number): number {
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function retryAfterMs(header: unknown): number | undefined {
  if (typeof header !== 'string' || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

/** What an invocation request returns (a failed request rejects with an Error carrying `code`). */
interface InvokeReply {
  status: number;
  /** The start of the reply body, for the log. */
  reply: string;
  retryAfter?: string | string[];
}

/** An invocation error with axios' code, so that logs and the retry decision read as before. */
function requestError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
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

export class OpenFaasProcessor implements Processor {
  readonly provider = 'openfaas';

  readonly gateway: string;
  readonly async: boolean;
  readonly retries: number;
  readonly timeoutMs: number;
  readonly refreshMs: number;
  /** The in-flight bound shared by all invocations (exposed for tests and metrics). */
  readonly inFlight: InFlight;

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
  private failureStreak = 0;
  private droppedWithoutMap = 0;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;
  /** Aborts topic map requests on stop. */
  private readonly refreshAbort = new AbortController();
  /** Aborts invocations still running when the stop deadline passes. */
  private readonly invokeAbort = new AbortController();

  constructor(
    entry: ConfigEntry,
    private readonly ctx: ComponentContext,
  ) {
    if (!entry.address) throw new Error('openfaas processor: address (the gateway URL) is required');
    const baseURL = entry.address.replace(/\/+$/, '');
    this.baseURL = baseURL;
    this.target = new URL(baseURL);
    this.gateway = displayAddress(entry.address);
    this.async = boolOption(entry, 'async', DEFAULTS.async);
    const maxInFlight = Math.floor(
      positive(numberOption(entry, 'max_in_flight', DEFAULTS.maxInFlight), DEFAULTS.maxInFlight),
    );
    const retries = numberOption(entry, 'retries', DEFAULTS.retries);
    this.retries = Number.isFinite(retries) && retries >= 0 ? Math.floor(retries) : DEFAULTS.retries;
    this.timeoutMs =
      positive(numberOption(entry, 'timeout', DEFAULTS.timeoutSeconds), DEFAULTS.timeoutSeconds) * 1000;
    this.refreshMs =
      positive(
        numberOption(entry, 'topic_refresh_interval', DEFAULTS.topicRefreshSeconds),
        DEFAULTS.topicRefreshSeconds,
      ) * 1000;
    this.inFlight = new InFlight(Math.max(1, maxInFlight));
    this.log = ctx.logger.child({ component: 'processor', provider: 'openfaas' });

    // Keep-alive sockets, enough for every invocation in flight plus the topic map requests.
    const agentOpts = { keepAlive: true, maxSockets: maxInFlight + 4, maxFreeSockets: maxInFlight + 4 };
    this.httpAgent = new http.Agent(agentOpts);
    this.httpsAgent = new https.Agent(agentOpts);
    const common = {
      baseURL,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      validateStatus: () => true,
    };
    const username = entry.auth?.secret?.username ?? '';
    const password = entry.auth?.secret?.password ?? '';
    this.system = axios.create({
      ...common,
      timeout: Math.min(this.timeoutMs, 30_000),
      auth: { username, password },
    });
    this.invoker = proxyFromEnv(this.target.protocol)
      ? axios.create({
          ...common,
          timeout: this.timeoutMs,
          // The function's reply is only logged (truncated) on failure: keep it as text, never parse it.
          responseType: 'text',
          transformResponse: [(data: unknown) => data],
          maxContentLength: MAX_REPLY_BYTES,
        })
      : undefined;

    // Every request in flight listens on these signals.
    setMaxListeners(0, this.refreshAbort.signal, this.invokeAbort.signal);

    this.metrics = new OpenFaasMetrics(ctx.metrics.registry, {
      topicMapAgeMs: () => (this.map ? Date.now() - this.map.builtAt : undefined),
      inFlight: () => this.inFlight.size,
    });
  }

  async start(): Promise<void> {
    this.log.info('OpenFaaS processor starting', {
      gateway: this.gateway,
      mode: this.async ? 'async' : 'sync',
      max_in_flight: this.inFlight.max,
      retries: this.retries,
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

  async process(event: RouterEvent): Promise<void> {
    const subject = event.subject ?? '';
    if (this.stopped) {
      this.ctx.metrics.dropped.inc({ processor: this.provider, reason: 'stopped' });
      return;
    }
    const map = this.map;
    if (!map) {
      this.ctx.metrics.dropped.inc({ processor: this.provider, reason: 'no_topic_map' });
      // Once per 1,000 drops, not per event: a burst must not flood the log.
      if (this.droppedWithoutMap++ % 1000 === 0) {
        this.log.warn('OpenFaaS topic map not built yet (gateway unavailable): events are dropped', {
          gateway: this.gateway,
          topic: subject,
          event_id: event.id,
          dropped_so_far: this.droppedWithoutMap,
        });
      }
      return;
    }
    const targets = map.targets(subject);
    if (targets.length === 0) {
      this.ctx.metrics.dropped.inc({ processor: this.provider, reason: 'no_subscriber' });
      this.log.debug('no OpenFaaS function subscribed to the event subject', {
        topic: subject,
        event_id: event.id,
      });
      return;
    }
    const body = Buffer.from(cloudEventJson(event));
    for (const target of targets) {
      await this.inFlight.run(() => this.invoke(target, event, subject, body));
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    this.refreshAbort.abort();
    const drained = await this.inFlight.drain(deadlineMs);
    if (!drained) {
      this.log.warn('OpenFaaS invocations still in flight at the stop deadline: abandoned', {
        in_flight: this.inFlight.size,
        deadline_ms: deadlineMs,
      });
      this.invokeAbort.abort();
      await this.inFlight.drain(1000);
    }
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

  /** One function for one event, with retries; never rejects. */
  private async invoke(
    target: FunctionTarget,
    event: RouterEvent,
    subject: string,
    body: Buffer,
  ): Promise<void> {
    const fn = functionLabel(target);
    const path = (this.async ? '/async-function/' : '/function/') + target.path;
    const signal = this.invokeAbort.signal;
    for (let attempt = 1; ; attempt++) {
      const started = process.hrtime.bigint();
      let status: number | undefined;
      let code: string | undefined;
      let reply = '';
      let retryAfter: number | undefined;
      try {
        const res = await this.post(path, subject, body, signal);
        status = res.status;
        reply = res.reply;
        retryAfter = retryAfterMs(res.retryAfter);
      } catch (err) {
        const c = isAxiosError(err) ? err.code : (err as { code?: unknown } | null)?.code;
        code = typeof c === 'string' ? c : err instanceof Error ? err.name : 'error';
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const ok = status !== undefined && status >= 200 && status < 300;
      this.metrics.invocationDuration.observe({ function: fn, outcome: ok ? 'success' : 'failure' }, seconds);

      if (ok) {
        this.metrics.functionInvocations.inc({ function: fn, outcome: 'success' });
        this.ctx.metrics.recordDelivery(this.provider, subject, event.time);
        if (this.async && status !== 202) {
          this.log.debug('OpenFaaS async invocation accepted with an unexpected status', {
            function: fn,
            status,
          });
        }
        return;
      }

      const transient = status !== undefined ? RETRY_STATUSES.has(status) : RETRY_CODES.has(code ?? '');
      if (transient && attempt <= this.retries && !signal.aborted) {
        this.metrics.functionInvocations.inc({ function: fn, outcome: 'retry' });
        const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        const wait = Math.min(BACKOFF_MAX_MS, Math.max(backoff, retryAfter ?? 0));
        this.log.debug('OpenFaaS invocation failed transiently, retrying', {
          function: fn,
          topic: subject,
          status: status ?? code,
          event_id: event.id,
          attempt,
          retry_in_ms: wait,
        });
        await sleep(wait, signal);
        continue;
      }

      this.metrics.functionInvocations.inc({ function: fn, outcome: 'failure' });
      this.ctx.metrics.invocationErrors.inc({ processor: this.provider, subject });
      const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
      this.log.error(
        timedOut
          ? `OpenFaaS function ${fn} did not answer within ${this.timeoutMs / 1000}s`
          : `OpenFaaS function ${fn} invocation failed`,
        {
          function: fn,
          topic: subject,
          status: status ?? code,
          event_id: event.id,
          mode: this.async ? 'async' : 'sync',
          attempts: attempt,
          gateway: this.gateway,
          reply: reply || undefined,
        },
      );
      return;
    }
  }

  /** One invocation request: POST the CloudEvent JSON to the gateway, resolve with the status. */
  private post(path: string, subject: string, body: Buffer, signal: AbortSignal): Promise<InvokeReply> {
    const headers = { 'Content-Type': 'application/json', 'X-Topic': subject };
    if (this.invoker) return this.postWithAxios(this.invoker, path, headers, body, signal);
    const url = this.target;
    const secure = url.protocol === 'https:';
    return new Promise<InvokeReply>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, res?: InvokeReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = (secure ? https : http).request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port || (secure ? 443 : 80),
          path: url.pathname.replace(/\/+$/, '') + path,
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          signal,
          headers: {
            ...headers,
            Accept: 'application/json, text/plain, */*',
            'Content-Length': body.length,
          },
        },
        (res) => {
          const head: Buffer[] = [];
          let headBytes = 0;
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > MAX_REPLY_BYTES) {
              const err = requestError(
                `maxContentLength size of ${MAX_REPLY_BYTES} exceeded`,
                'ERR_BAD_RESPONSE',
              );
              finish(err);
              req.destroy(err);
              return;
            }
            // Enough bytes for REPLY_LOG_CHARS characters of UTF-8.
            if (headBytes < REPLY_LOG_CHARS * 4) {
              head.push(chunk);
              headBytes += chunk.length;
            }
          });
          res.on('end', () =>
            finish(undefined, {
              status: res.statusCode ?? 0,
              reply: Buffer.concat(head)
                .toString('utf8', 0, REPLY_LOG_CHARS * 4)
                .slice(0, REPLY_LOG_CHARS),
              retryAfter: res.headers['retry-after'],
            }),
          );
          res.on('error', (err) => finish(err));
          res.on('aborted', () => finish(requestError('stream has been aborted', 'ERR_BAD_RESPONSE')));
        },
      );
      // A deadline for the whole exchange (connect, function run, reply), as the log line says.
      const timer = setTimeout(() => {
        const err = requestError(`timeout of ${this.timeoutMs}ms exceeded`, 'ECONNABORTED');
        finish(err);
        req.destroy(err);
      }, this.timeoutMs);
      req.on('error', (err: Error & { code?: string }) =>
        finish(err.name === 'AbortError' ? requestError('canceled', 'ERR_CANCELED') : err),
      );
      req.end(body);
    });
  }

  private async postWithAxios(
    invoker: AxiosInstance,
    path: string,
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<InvokeReply> {
    const res = await invoker.post(this.baseURL + path, body, { headers, signal });
    return {
      status: res.status,
      reply: typeof res.data === 'string' ? res.data.slice(0, REPLY_LOG_CHARS) : '',
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
