/**
 * The `aws_event_bridge` sink: forwards the events the
 * configured rule's event pattern matches to the rule's event bus with
 * PutEvents, batched (10 entries / 256 KB a call), retried by the delivery
 * runner within its retry budget when entries fail or calls are throttled,
 * and counted.
 *
 * The rule is found by ARN with paged ListRules at start (a start error when
 * it is missing, has no pattern, or has a pattern the router cannot
 * evaluate) and re-read every `sync_interval` seconds; a failed sync keeps
 * the last good pattern.
 */
import {
  EventBridgeClient,
  ListRulesCommand,
  PutEventsCommand,
  type Rule,
} from '@aws-sdk/client-eventbridge';
import type { ComponentContext } from '../../components/component';
import type { ConfigEntry } from '../../config/types';
import { quotePeer, registerSecret, type Logger } from '../../log/logger';
import { METRIC_PREFIX } from '../../metrics/metrics';
import { Counter, Gauge, type Registry } from '../../metrics/registry';
import { backoffMs, sleep } from '../../util/backoff';
import { isTransient } from '../../util/http-outcome';
import type { Delivery, Outcome, Route, Sink, SinkPolicy } from '../../delivery/sink';
import type { LogEntry } from '../../eventlog/event-log';
import {
  envelope,
  entrySize,
  MAX_BATCH_ENTRIES,
  MAX_ENTRY_BYTES,
  parseRuleArn,
  type PutEntry,
} from './envelope';
import { compilePattern, type EventMatcher } from '../../pattern';
import type { EventBridgeOptions } from './options';
import { isUntrustedCertificate, trustOptions, untrustedHint } from '../../util/tls';

const PROVIDER = 'aws_event_bridge';
const PREFIX = METRIC_PREFIX + 'eventbridge_';

/** Knobs that are not configuration options (tests shorten the waits). */
export interface EventBridgeTuning {
  /** First retry backoff; doubles per attempt, with jitter (default 200 ms). */
  backoffBaseMs?: number;
  /** Backoff cap (default 5 s). */
  backoffMaxMs?: number;
  /** How long a partial batch waits for more events (default 5 ms). */
  flushDelayMs?: number;
  /** ListRules attempts at start for transient errors (default 3). */
  startAttempts?: number;
  /** Per-request timeout (default 15 s). */
  requestTimeoutMs?: number;
}

/** One PutEvents entry to send. */
export interface PutTarget {
  entry: PutEntry;
}

/** Entry error codes that no retry can fix. */
const PERMANENT_ENTRY_ERRORS = /Malformed|InvalidArgument|Validation|AccessDenied|NotAuthorized|NotFound/i;

function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** An SDK error; its name and message are the endpoint's words, quoted as peer text (an endpoint may echo the request). */
function errorInfo(err: unknown): { name: string; message: string; status?: number; code?: string } {
  const e = (err ?? {}) as AwsError;
  return {
    name: quotePeer(e.name ?? 'Error', 100),
    message: quotePeer(e.message ?? String(err)),
    status: e.$metadata?.httpStatusCode ?? e.$response?.statusCode,
    code: e.code,
  };
}

function isThrottle(err: unknown): boolean {
  const { name, status } = errorInfo(err);
  return name === 'ThrottlingException' || name === 'ThrottledException' || status === 429;
}

/**
 * Errors worth another call: throttling and EventBridge's own "not now"
 * exceptions (sent with statuses the HTTP classification may not know), then
 * what src/util/http-outcome.ts calls transient: the status, or the socket
 * error of a call that got no answer (the SDK names its timeouts `TimeoutError`).
 */
function isRetryable(err: unknown): boolean {
  const { name, status, code } = errorInfo(err);
  if (isThrottle(err)) return true;
  if (name === 'InternalException' || name === 'ServiceUnavailableException') return true;
  if (status !== undefined) return isTransient({ status });
  if (name === 'TimeoutError') return true;
  return code !== undefined && isTransient({ code });
}

/** Certificate errors that time can cure (a renewal, a clock put right), unlike an untrusted CA. */
const OUTSIDE_VALIDITY = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
export class EventBridgeSink implements Sink<PutTarget> {
  readonly provider = PROVIDER;
  readonly policy: SinkPolicy;

  private readonly log: Logger;
  private readonly client: EventBridgeClient;
  private readonly region: string;
  private readonly ruleArn: string;
  private readonly ruleName: string | undefined;
  private readonly arnBus: string | undefined;
  private readonly account: string;
  private readonly bus: string;
  private readonly endpoint: string | undefined;
  private readonly syncIntervalMs: number;
  private readonly tuning: Required<EventBridgeTuning>;
  private readonly credentialSource: 'access_key' | 'default-chain';

  private matcher: EventMatcher | undefined;
  private started = false;
  private stopping = false;
  private syncing = false;
  private lastSyncOkMs: number | undefined;
  private syncTimer: NodeJS.Timeout | undefined;

  private readonly m: {
    matched: Counter<string>;
    sent: Counter<string>;
    failed: Counter<string>;
    batches: Counter<string>;
    throttled: Counter<string>;
    syncFailures: Counter<string>;
  };

  constructor(
    entry: ConfigEntry,
    options: EventBridgeOptions,
    private readonly ctx: ComponentContext,
    tuning: EventBridgeTuning = {},
  ) {
    this.log = ctx.logger.child({ processor: PROVIDER });
    this.region = options.aws_region;
    this.ruleArn = options.aws_eventbridge_rule_arn;
    this.bus = options.aws_eventbridge_event_bus || 'default';
    // Else the AWS-standard configured-endpoint variables (the v1alpha1 RouterConfig has no endpoint key).
    this.endpoint =
      options.aws_eventbridge_endpoint ||
      process.env.AWS_ENDPOINT_URL_EVENTBRIDGE ||
      process.env.AWS_ENDPOINT_URL ||
      undefined;
    this.syncIntervalMs = options.sync_interval * 1000;
    this.tuning = {
      backoffBaseMs: tuning.backoffBaseMs ?? 200,
      backoffMaxMs: tuning.backoffMaxMs ?? 5000,
      flushDelayMs: tuning.flushDelayMs ?? 5,
      startAttempts: tuning.startAttempts ?? 3,
      requestTimeoutMs: tuning.requestTimeoutMs ?? 15000,
    };
    this.policy = {
      batchMaxItems: MAX_BATCH_ENTRIES,
      batchMaxBytes: MAX_ENTRY_BYTES,
      batchMaxDelayMs: this.tuning.flushDelayMs,
    };

    const arn = parseRuleArn(this.ruleArn);
    this.ruleName = arn?.name;
    this.arnBus = arn?.bus;
    this.account = arn?.account ?? '';

    let credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
    if (entry.auth?.method === 'access_key') {
      const secret = entry.auth.secret ?? {};
      registerSecret(secret.aws_secret_access_key);
      credentials = {
        accessKeyId: secret.aws_access_key_id ?? '',
        secretAccessKey: secret.aws_secret_access_key ?? '',
      };
    }
    this.credentialSource = credentials ? 'access_key' : 'default-chain';
    this.client = new EventBridgeClient({
      region: this.region,
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
      // Without keys: the SDK's default chain (env, web identity/IRSA, SSO, instance profile...).
      ...(credentials ? { credentials } : {}),
      // Retries are the runner's: counted, bounded by the retry budget, never after a success.
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: this.tuning.requestTimeoutMs,
        connectionTimeout: 5000,
        // The operator's CAs (an endpoint behind a TLS-inspecting proxy, a private endpoint).
        ...(ctx.rootCAs ? { httpsAgent: { keepAlive: true, ...trustOptions(ctx.rootCAs) } } : {}),
      },
    });

    const reg = ctx.metrics.registry;
    this.m = {
      matched: counter(reg, PREFIX + 'matched_total', "Events the rule's event pattern matched"),
      sent: counter(reg, PREFIX + 'sent_total', 'Entries EventBridge accepted'),
      failed: counter(reg, PREFIX + 'failed_total', 'Entries not put after retries, by reason', ['reason']),
      batches: counter(reg, PREFIX + 'batches_total', 'PutEvents calls, by outcome', ['outcome']),
      throttled: counter(reg, PREFIX + 'throttled_total', 'PutEvents calls refused with ThrottlingException'),
      syncFailures: counter(
        reg,
        PREFIX + 'rule_sync_failures_total',
        'Rule syncs that failed (last pattern kept)',
      ),
    };
    if (!reg.getSingleMetric(PREFIX + 'rule_sync_age_seconds')) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const self = this;
      new Gauge({
        name: PREFIX + 'rule_sync_age_seconds',
        help: "Seconds since the rule's event pattern was last read successfully",
        registers: [reg],
        collect() {
          if (self.lastSyncOkMs !== undefined) this.set((Date.now() - self.lastSyncOkMs) / 1000);
        },
      });
    }
  }

  // ---- rule ----

  private where(): string {
    return `rule ${this.ruleArn} on event bus "${this.bus}" (region ${this.region})`;
  }

  /** Paged ListRules on the bus; the rule whose ARN is configured, or undefined. */
  private async findRule(): Promise<Rule | undefined> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListRulesCommand({
          EventBusName: this.bus,
          NamePrefix: this.ruleName,
          Limit: 50,
          NextToken: token,
        }),
      );
      const rule = out.Rules?.find((r) => r.Arn === this.ruleArn);
      if (rule) return rule;
      token = out.NextToken || undefined;
    } while (token);
    return undefined;
  }

  /** Read and compile the rule's pattern; throws a message fit for the operator. */
  private async loadPattern(): Promise<{ matcher: EventMatcher; rule: Rule }> {
    let rule: Rule | undefined;
    try {
      rule = await this.findRule();
    } catch (err) {
      const e = errorInfo(err);
      if (e.code !== undefined && isUntrustedCertificate(e.code)) {
        const untrusted = new Error(
          `ListRules failed for ${this.where()}: ${untrustedHint(`EventBridge endpoint ${this.endpoint ?? `of ${this.region}`}`, e.code)}`,
          { cause: err },
        );
        // A CA the router does not trust needs a configuration change, so the start fails at once;
        // a certificate outside its validity may be renewed (or the clock fixed) while we retry.
        (untrusted as Error & { retryable?: boolean }).retryable = OUTSIDE_VALIDITY.has(e.code);
        throw untrusted;
      }
      const wrapped = new Error(`ListRules failed for ${this.where()}: ${e.name}: ${e.message}`, {
        cause: err,
      });
      (wrapped as Error & { retryable?: boolean }).retryable = isRetryable(err) || e.status === undefined;
      throw wrapped;
    }
    if (!rule) {
      const hint =
        this.arnBus && this.arnBus !== this.bus
          ? ` (the ARN names event bus "${this.arnBus}": set aws_eventbridge_event_bus)`
          : '';
      throw new Error(`EventBridge ${this.where()} not found${hint}`);
    }
    if (!rule.EventPattern || !rule.EventPattern.trim()) {
      throw new Error(
        `EventBridge ${this.where()} has no event pattern (scheduled rules cannot select events)`,
      );
    }
    try {
      return { matcher: compilePattern(rule.EventPattern), rule };
    } catch (err) {
      throw new Error(`EventBridge ${this.where()}: ${(err as Error).message}`, { cause: err });
    }
  }

  async start(): Promise<void> {
    if (!parseRuleArn(this.ruleArn))
      throw new Error(`aws_eventbridge_rule_arn is not a rule ARN: ${this.ruleArn}`);
    let loaded: { matcher: EventMatcher; rule: Rule } | undefined;
    for (let attempt = 1; !loaded; attempt++) {
      try {
        loaded = await this.loadPattern();
      } catch (err) {
        const retryable = (err as Error & { retryable?: boolean }).retryable === true;
        if (!retryable || attempt >= this.tuning.startAttempts) throw err;
        this.log.warn('reading the EventBridge rule failed, retrying', {
          attempt,
          error: (err as Error).message,
        });
        await sleep(
          backoffMs(attempt, { baseMs: this.tuning.backoffBaseMs, maxMs: this.tuning.backoffMaxMs }),
        );
      }
    }
    this.matcher = loaded.matcher;
    this.lastSyncOkMs = Date.now();
    if (loaded.rule.State && loaded.rule.State !== 'ENABLED') {
      this.log.warn(
        'the EventBridge rule is not enabled: matching events are put but its targets get nothing',
        {
          rule: this.ruleArn,
          state: loaded.rule.State,
        },
      );
    }
    this.syncTimer = setInterval(() => void this.sync(), this.syncIntervalMs);
    this.syncTimer.unref();
    this.started = true;
    this.log.info('EventBridge processor started', {
      rule: this.ruleArn,
      bus: this.bus,
      region: this.region,
      endpoint: this.endpoint,
      pattern: loaded.matcher.source,
      syncIntervalSeconds: this.syncIntervalMs / 1000,
      credentials: this.credentialSource,
    });
  }

  /** Re-read the rule; on any failure keep the last good pattern. */
  async sync(): Promise<void> {
    if (this.syncing || this.stopping) return;
    this.syncing = true;
    try {
      const { matcher } = await this.loadPattern();
      if (matcher.source !== this.matcher?.source) {
        this.log.info('EventBridge rule pattern changed', { rule: this.ruleArn, pattern: matcher.source });
      }
      this.matcher = matcher;
      this.lastSyncOkMs = Date.now();
    } catch (err) {
      this.m.syncFailures.inc();
      this.log.warn('EventBridge rule sync failed, keeping the last pattern', {
        rule: this.ruleArn,
        error: (err as Error).message,
      });
    } finally {
      this.syncing = false;
    }
  }

  // ---- delivery ----

  route(le: LogEntry): Route<PutTarget> {
    const event = le.event;
    const subject = event.subject ?? '';
    if (!this.matcher || this.stopping) return { drop: 'stopped' };
    const entry: PutEntry = {
      Source: event.source,
      DetailType: subject,
      Detail: le.json,
      EventBusName: this.bus,
    };
    const env = envelope(entry, JSON.parse(le.json), { account: this.account, region: this.region });
    if (!this.matcher.matches(env)) return { drop: 'pattern_mismatch' };
    this.m.matched.inc();
    const size = entrySize(entry);
    if (size > MAX_ENTRY_BYTES) {
      this.log.warn('event too large for EventBridge, not sent', {
        id: event.id,
        subject,
        bytes: size,
        limit: MAX_ENTRY_BYTES,
      });
      return { drop: 'too_large' };
    }
    return { targets: [{ target: { entry }, bytes: size }] };
  }

  /** One PutEvents call; each entry's outcome (an accepted entry is never re-sent). */
  async send(batch: Array<Delivery<PutTarget>>, signal: AbortSignal): Promise<Outcome[]> {
    try {
      const out = await this.client.send(
        new PutEventsCommand({ Entries: batch.map((d) => d.target.entry) }),
        {
          abortSignal: signal,
        },
      );
      const results = out.Entries ?? [];
      let failed = 0;
      const outcomes = batch.map((_d, i): Outcome => {
        const r = results[i];
        if (!r?.ErrorCode) {
          this.m.sent.inc();
          return { status: 'delivered' };
        }
        failed++;
        const failure = {
          reason: 'entry_error',
          message: 'EventBridge PutEvents failed, events not delivered',
          fields: {
            reason: 'entry_error',
            error: quotePeer(`${r.ErrorCode}: ${r.ErrorMessage ?? ''}`),
            subject: batch[i].entry.event.subject,
          },
        };
        return PERMANENT_ENTRY_ERRORS.test(r.ErrorCode)
          ? { status: 'failed', failure }
          : { status: 'retry', failure };
      });
      this.m.batches.inc({ outcome: failed > 0 ? 'partial' : 'ok' });
      return outcomes;
    } catch (err) {
      this.m.batches.inc({ outcome: 'error' });
      const e = errorInfo(err);
      const throttled = isThrottle(err);
      if (throttled) this.m.throttled.inc();
      const reason = throttled ? 'throttled' : 'error';
      const failure = {
        reason,
        message: 'EventBridge PutEvents failed, events not delivered',
        fields: { reason, error: `${e.name}: ${e.message}`, count: batch.length },
      };
      const retry = throttled || isRetryable(err);
      return batch.map((): Outcome => (retry ? { status: 'retry', failure } : { status: 'failed', failure }));
    }
  }

  observe(_d: Delivery<PutTarget>, outcome: Outcome, final: boolean): void {
    if (final && outcome.status !== 'delivered') this.m.failed.inc({ reason: outcome.failure.reason });
  }

  ready(): boolean {
    return this.started && !this.stopping;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.client.destroy();
  }
}
