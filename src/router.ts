/**
 * Wires one stream to one processor, with the metrics server beside them.
 * Each event the stream reads is handed to the processor in order; awaiting
 * the processor is what slows the stream down when the sink is slower.
 */
import type { ComponentContext, ComponentDefinition } from './components/component';
import { components, kindOf } from './config/schema';
import type { ConfigEntry, RouterConfig } from './config/types';
import { sourceFromAddress } from './events/cloudevent';
import type { Logger } from './log/logger';
import { internalMetrics } from './metrics/definition';
import { RouterMetrics } from './metrics/metrics';
import type { MetricsServer } from './metrics/server';
import type { Processor } from './processor/processor';
import { processors } from './processor/registry';
import type { Stream } from './stream/stream';
import { streams } from './stream/registry';

/** The registered definition for an entry's provider. */
function definitionFor<T>(list: ComponentDefinition<T>[], entry: ConfigEntry): ComponentDefinition<T> {
  const def = list.find((d) => d.provider === entry.provider);
  // The schema admits only registered providers; reaching this is a programming error.
  if (!def)
    throw new Error(
      `no component registered for ${entry.type}/${entry.provider} (known: ${components.map((c) => c.provider).join(', ')})`,
    );
  return def;
}

export interface RouterOptions {
  logger: Logger;
  metrics?: RouterMetrics;
}

export class Router {
  private done?: Promise<void>;
  private stopped = false;

  private constructor(
    readonly config: RouterConfig,
    readonly stream: Stream,
    readonly processor: Processor,
    readonly metricsServer: MetricsServer,
    readonly metrics: RouterMetrics,
    private readonly logger: Logger,
  ) {}

  static async create(config: RouterConfig, opts: RouterOptions): Promise<Router> {
    const metrics = opts.metrics ?? new RouterMetrics();
    const ctx: ComponentContext = { logger: opts.logger, metrics };
    if (kindOf(config.metrics) !== 'metrics') throw new Error('metrics entry expected');
    const stream = await definitionFor(streams, config.stream).create(config.stream, ctx);
    const processor = await definitionFor(processors, config.processor).create(config.processor, ctx);
    const server = await internalMetrics.create(config.metrics, ctx);
    return new Router(config, stream, processor, server, metrics, opts.logger);
  }

  /**
   * Start the metrics server, the processor (its start errors are fatal), and
   * the stream. Resolves once the stream runs; `finished` settles when it
   * ends: resolved after `stop`, rejected on a fatal stream error.
   */
  async start(): Promise<void> {
    const started = new Date();
    this.metricsServer.attach(
      {
        stream: {
          provider: this.stream.provider,
          name: sourceFromAddress(this.config.stream.address ?? ''),
          started,
        },
        processor: {
          provider: this.processor.provider,
          name: sourceFromAddress(this.config.processor.address ?? this.processor.provider),
          started,
        },
      },
      { checks: () => ({ stream: this.stream.ready(), processor: this.processor.ready() }) },
    );
    await this.metricsServer.start();
    await this.processor.start();
    this.done = this.stream.run((event) => this.processor.process(event));
  }

  /** Settles when the stream ends (see `start`). */
  get finished(): Promise<void> {
    return this.done ?? Promise.resolve();
  }

  /** Stop reading, let in-flight deliveries finish within `deadlineMs`, clean up the vCenter session. */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.logger.info('shutting down');
    await this.stream.stop();
    await this.processor.stop(deadlineMs);
    await this.metricsServer.stop();
    this.logger.info('stopped');
  }
}
