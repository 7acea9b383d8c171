/**
 * Wires the streams, the event log, one delivery runner per processor, and
 * the metrics server. Every stream appends to the log; every runner reads it
 * at its own pace. A stream waits only when the slowest processor is a whole
 * log behind.
 */
import type { ComponentContext } from './components/component';
import { coordinations, definitionFor, sinks, streams } from './catalogue';
import type { RouterConfig } from './config/types';
import { entryName } from './config/types';
import { createRunner } from './delivery/create';
import type { DeliveryRunner } from './delivery/runner';
import { eventLogDefinition } from './eventlog/definition';
import type { EventLog } from './eventlog/event-log';
import { sourceFromAddress } from './events/cloudevent';
import type { Logger } from './log/logger';
import { internalMetrics } from './metrics/definition';
import { RouterMetrics } from './metrics/metrics';
import type { MetricsServer } from './metrics/server';
import type { Stream } from './stream/stream';
import { rootCAsOf } from './config/router-entry';
import { Coordinator } from './coordination/coordinator';
import { LeasedStream } from './coordination/leased-stream';

export interface RouterOptions {
  logger: Logger;
  metrics?: RouterMetrics;
}

export class Router {
  private done?: Promise<void>;
  private stopped = false;
  private logFullLogged = false;
  private logTimer?: NodeJS.Timeout;

  private constructor(
    readonly config: RouterConfig,
    readonly streams: Stream[],
    readonly runners: DeliveryRunner[],
    readonly log: EventLog,
    readonly metricsServer: MetricsServer,
    readonly metrics: RouterMetrics,
    private readonly logger: Logger,
    /** With a coordination entry: the stream leases this replica takes part in. */
    readonly coordinator?: Coordinator,
  ) {}

  /** The first stream (configs of the original have one). */
  get stream(): Stream {
    return this.streams[0];
  }

  /** The runner of the first processor entry (configs of the original have one). */
  get runner(): DeliveryRunner {
    return this.runners[0];
  }

  static async create(config: RouterConfig, opts: RouterOptions): Promise<Router> {
    const metrics = opts.metrics ?? new RouterMetrics();
    // Read before anything connects: an unusable CA file is a start error naming the file.
    const rootCAs = rootCAsOf(config);
    const ctx: ComponentContext = { logger: opts.logger, metrics, ...(rootCAs ? { rootCAs } : {}) };
    const log = await eventLogDefinition.create(
      config.router ?? { type: 'router', provider: 'event_log' },
      ctx,
    );
    const coordination = config.coordination
      ? await definitionFor(coordinations, config.coordination).create(config.coordination, ctx)
      : undefined;
    let coordinator: Coordinator | undefined;
    const leased = new Map<string, LeasedStream>();
    const ss: Stream[] = [];
    for (const entry of config.streams) {
      const def = definitionFor(streams, entry);
      if (coordination && def.leased) {
        const s = new LeasedStream(entry, def, ctx, () => coordinator!, log);
        leased.set(s.name, s);
        ss.push(s);
      } else ss.push(await def.create(entry, ctx));
    }
    if (coordination)
      coordinator = new Coordinator(
        coordination.store,
        [...leased.keys()],
        coordination.options,
        {
          acquired: (name, checkpoint) => leased.get(name)!.acquired(checkpoint),
          lost: (name) => leased.get(name)!.lost(),
          handover: (name) => leased.get(name)!.handover(),
        },
        opts.logger,
        metrics,
      );
    const runners: DeliveryRunner[] = [];
    for (const entry of config.processors)
      runners.push(await createRunner(definitionFor(sinks, entry), entry, ctx));
    const server = await internalMetrics.create(config.metrics, ctx);
    return new Router(config, ss, runners, log, server, metrics, opts.logger, coordinator);
  }

  /**
   * Start the metrics server, the processors (their start errors are fatal),
   * and the streams. Resolves once the streams run; `finished` settles when
   * they end: resolved after `stop`, rejected on a fatal stream error.
   */
  async start(): Promise<void> {
    const started = new Date();
    this.metricsServer.attach(
      {
        streams: this.config.streams.map((entry, i) => ({
          provider: entry.provider,
          label: this.streams[i].name,
          name: sourceFromAddress(entry.address ?? ''),
          started,
        })),
        processors: this.config.processors.map((entry) => ({
          provider: entry.provider,
          label: entryName(entry),
          name: sourceFromAddress(entry.address ?? entry.provider),
          started,
          filtered: entry.filter !== undefined,
        })),
      },
      { checks: () => this.checks(), details: () => this.details() },
    );
    await this.metricsServer.start();
    for (const p of this.runners) await p.start();
    for (const p of this.runners) void p.run(this.log.consumer(p.name));
    this.watchLog();
    const runs = this.streams.map((s) =>
      s.run(
        (event, key, arrivedAt) => this.log.append(s.name, key, event, arrivedAt).then(() => undefined),
        () => this.log.acknowledged(s.name),
      ),
    );
    // One stream's fatal start error (a wrong password) stops the router; the others end with stop().
    this.done = Promise.all(runs).then(() => undefined);
    // Leased streams start as their leases are acquired.
    this.coordinator?.start();
  }

  /** Log gauges, and one line when the streams start or stop waiting for a full log. */
  private watchLog(): void {
    this.logTimer = setInterval(() => {
      const m = this.metrics;
      m.logEvents.set(this.log.size);
      m.logBytes.set(this.log.sizeBytes);
      for (const [name, lag] of Object.entries(this.log.lag())) m.processorLag.set({ processor: name }, lag);
      const full = this.log.fullSince !== undefined;
      if (full && !this.logFullLogged) {
        m.logFullWaits.inc();
        this.logger.warn('event log full: the streams wait for the slowest processor', {
          events: this.log.size,
          bytes: this.log.sizeBytes,
          behind: JSON.stringify(this.log.lag()),
        });
      } else if (!full && this.logFullLogged) {
        this.logger.info('event log has room again: the streams go on');
      }
      this.logFullLogged = full;
    }, 500);
    this.logTimer.unref();
  }

  private checks(): Record<string, boolean> {
    return {
      stream: this.streams.every((s) => s.ready()),
      processor: this.runners.every((p) => p.ready()),
      event_log: this.log.fullSince === undefined,
    };
  }

  private details(): Record<string, unknown> {
    const streams: Record<string, unknown> = {};
    for (const s of this.streams) streams[s.name] = { ready: s.ready(), ...s.details?.() };
    const processors: Record<string, unknown> = {};
    for (const p of this.runners)
      processors[p.name] = {
        ready: p.ready(),
        provider: p.sink.provider,
        ...p.sink.details?.(),
        ...p.deliveryDetails(),
      };
    return {
      streams,
      processors,
      event_log: {
        events: this.log.size,
        bytes: this.log.sizeBytes,
        max_events: this.log.limits.maxEvents,
        max_bytes: this.log.limits.maxBytes,
        full: this.log.fullSince !== undefined,
        behind: this.log.lag(),
      },
    };
  }

  /** Settles when the streams end (see `start`). */
  get finished(): Promise<void> {
    return this.done ?? Promise.resolve();
  }

  /**
   * Stop within `deadlineMs`, one deadline for the whole stop: the streams
   * stop reading (a stream waiting for room in the log is released), the
   * processors finish what they have in flight, then the vCenter sessions are
   * cleaned up. `quiet`: after a failed start, whose error is the line to
   * read, not "shutting down".
   */
  async stop(deadlineMs = 10_000, opts: { quiet?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const until = Date.now() + deadlineMs;
    if (!opts.quiet) this.logger.info('shutting down');
    this.coordinator?.leave();
    clearInterval(this.logTimer);
    this.log.close();
    const streamsStopped = Promise.all(this.streams.map((s) => s.stop()));
    await Promise.all(this.runners.map((p) => p.stop(Math.max(0, until - Date.now()))));
    await streamsStopped;
    // What the processors acknowledged up to the end (checkpointing streams only).
    await Promise.all(this.streams.map((s) => s.saveCheckpoint?.()));
    // Released only now, after the final checkpoints: the next holder resumes exactly there.
    await this.coordinator?.stop();
    await this.metricsServer.stop();
    if (!opts.quiet) this.logger.info('stopped');
  }
}
