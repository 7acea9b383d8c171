/**
 * Builds a processor: its sink from the component definition, driven by a
 * delivery runner whose options come from the entry, with the defaults its
 * schema declares.
 */
import type { ComponentContext, ComponentDefinition } from '../components/component';
import { optionDefault } from '../config/schema-parts';
import { entryName, numberOption, stringOption, type ConfigEntry } from '../config/types';
import { compilePattern } from '../pattern';
import type { BackoffPolicy } from './backoff';
import { DeadLetterFile } from './dead-letter';
import { DeliveryRunner } from './runner';
import type { Sink } from './sink';

/** Retry waits: 200 ms doubling to 10 s (a peer's Retry-After may ask for more). */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 10_000 };

export async function createProcessor(
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
  const option = (name: string, fallback: number): number =>
    numberOption(entry, name, Number(optionDefault(def.schema, name) ?? fallback));
  const deadLetterFile = stringOption(entry, 'dead_letter_file');
  return new DeliveryRunner<T>(
    sink,
    {
      name: entryName(entry),
      maxInFlight: option('max_in_flight', 1),
      retries: option('retries', 0),
      backoff: overrides.backoff ?? DEFAULT_BACKOFF,
      filter: entry.filter ? compilePattern(entry.filter) : undefined,
      deadLetter: deadLetterFile ? new DeadLetterFile(deadLetterFile, entryName(entry)) : undefined,
    },
    ctx,
  );
}
