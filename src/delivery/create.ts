/**
 * Builds the runtime of a processor entry: its sink from the component
 * definition, driven by a delivery runner whose options (in flight, the
 * retry budget, dead letters) the entry gives, with the defaults the sink declares.
 */
import type { ComponentContext, ComponentDefinition } from '../components/component';
import { readDeliveryOptions } from '../config/schema-parts';
import { entryName, type ConfigEntry } from '../config/types';
import { compilePattern } from '../pattern';
import type { BackoffPolicy } from '../util/backoff';
import { DeadLetterFile } from './dead-letter';
import { DeliveryRunner } from './runner';
import type { Sink } from './sink';

/** The first wait before a retry; it doubles per attempt up to the entry's `retry_max_backoff`. */
const FIRST_RETRY_WAIT_MS = 200;

export async function createRunner(
  def: ComponentDefinition<Sink>,
  entry: ConfigEntry,
  ctx: ComponentContext,
  overrides: { backoff?: BackoffPolicy } = {},
): Promise<DeliveryRunner> {
  return runnerFor(def, await def.create(entry, ctx), entry, ctx, overrides);
}

/** The runner for a sink already built from `def`. */
export function runnerFor<T>(
  def: ComponentDefinition<Sink>,
  sink: Sink<T>,
  entry: ConfigEntry,
  ctx: ComponentContext,
  overrides: { backoff?: BackoffPolicy } = {},
): DeliveryRunner<T> {
  const options = readDeliveryOptions(def.options, entry);
  return new DeliveryRunner<T>(
    sink,
    {
      name: entryName(entry),
      maxInFlight: options.max_in_flight,
      retry: {
        maxDurationMs: options.retry_max_duration * 1000,
        maxRetries: options.retries,
        backoff: overrides.backoff ?? {
          baseMs: FIRST_RETRY_WAIT_MS,
          maxMs: options.retry_max_backoff * 1000,
        },
      },
      filter: entry.filter ? compilePattern(entry.filter) : undefined,
      deadLetter: options.dead_letter_file
        ? new DeadLetterFile(options.dead_letter_file, entryName(entry))
        : undefined,
    },
    ctx,
  );
}
