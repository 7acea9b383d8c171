/**
 * A processor as the router builds it (its sink driven by a delivery runner),
 * fed events directly instead of from the event log.
 */
import type { ComponentContext, ComponentDefinition } from '../../src/components/component';
import type { ConfigEntry } from '../../src/config/types';
import type { BackoffPolicy } from '../../src/util/backoff';
import { runnerFor } from '../../src/delivery/create';
import type { DeliveryRunner } from '../../src/delivery/runner';
import type { Sink } from '../../src/delivery/sink';
import type { LogEntry } from '../../src/eventlog/event-log';
import { cloudEventJson } from '../../src/events/cloudevent';
import type { RouterEvent } from '../../src/events/types';
import { createLogger } from '../../src/log/logger';
import { RouterMetrics } from '../../src/metrics/metrics';

/** A component context whose log lines are kept (debug level), with its own metrics. */
export interface TestContext {
  ctx: ComponentContext;
  metrics: RouterMetrics;
  lines: string[];
}

export function makeContext(): TestContext {
  const lines: string[] = [];
  const metrics = new RouterMetrics({ defaultMetrics: false });
  const logger = createLogger({ level: 'debug', json: false, write: (l) => lines.push(l) });
  return { ctx: { logger, metrics }, metrics, lines };
}

let seq = 0;

/** The log entry the event log would make of `event`. */
export function entryOf(event: RouterEvent, stream = 'test'): LogEntry {
  const key = Number((event.data as { Key?: unknown } | undefined)?.Key ?? seq);
  return { seq: seq++, stream, key, event, json: cloudEventJson(event) };
}

export class TestProcessor<S extends Sink<T>, T = unknown> {
  constructor(
    readonly sink: S,
    readonly runner: DeliveryRunner<T>,
  ) {}

  start(): Promise<void> {
    return this.runner.start();
  }

  /** Resolves once the event's deliveries were handed to a send (the back-pressure the log feels). */
  process(event: RouterEvent): Promise<void> {
    return this.runner.process(entryOf(event));
  }

  ready(): boolean {
    return this.runner.ready();
  }

  stop(deadlineMs: number): Promise<void> {
    return this.runner.stop(deadlineMs);
  }

  get inFlight(): DeliveryRunner<T>['inFlight'] {
    return this.runner.inFlight;
  }

  get retries(): number | undefined {
    return this.runner.retries;
  }
}

export function testProcessor<S extends Sink<T>, T>(
  def: ComponentDefinition<Sink>,
  sink: S,
  entry: ConfigEntry,
  ctx: ComponentContext,
  overrides: { backoff?: BackoffPolicy } = {},
): TestProcessor<S, T> {
  return new TestProcessor<S, T>(sink, runnerFor(def, sink, entry, ctx, overrides));
}
