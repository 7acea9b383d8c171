/**
 * How a stream provider, a sink, the metrics server or the event log plugs in.
 *
 * Each component folder exports one `ComponentDefinition`, made with
 * `defineComponent`: its provider name, its entry's address and auth schema,
 * its declared options, and a factory that receives the options read, typed
 * and defaulted. `src/catalogue.ts` lists every definition; the config schema
 * and the router are built from that list, so adding a sink touches one folder
 * plus one line.
 */
import type { ComponentDeclaration, ComponentKind } from '../config/component-schema';
import type { OptionFields, OptionsOf } from '../config/options';
import { readOptions } from '../config/options';
import { entrySchema, type EntrySchemaSpec } from '../config/schema-parts';
import type { ConfigEntry } from '../config/types';
import type { Logger } from '../log/logger';
import type { RouterMetrics } from '../metrics/metrics';
import type { RootCAs } from '../util/tls';
import type { CheckpointStore } from './checkpoint';

export interface ComponentContext {
  logger: Logger;
  metrics: RouterMetrics;
  /** The operator's root CAs, read once at start: every TLS client trusts them (absent: the default CAs only). */
  rootCAs?: RootCAs;
  /** A stream's checkpoint store when replicas share the streams (beside its lease); absent: files. */
  checkpointStore?: CheckpointStore;
}

export interface ComponentDefinition<T> extends ComponentDeclaration {
  /** Builds the component; implementations are imported lazily so that unused sinks cost no memory. */
  create(entry: ConfigEntry, ctx: ComponentContext): Promise<T>;
}

/** What a component folder declares; `defineComponent` turns it into its definition. */
export interface ComponentSpec<T, F extends OptionFields> {
  kind: ComponentKind;
  provider: string;
  /** One line for the generated configuration reference. */
  description: string;
  /** The entry: its schema's description, address and auth (type and provider: the kind's and the provider's). */
  entry: Omit<EntrySchemaSpec, 'type' | 'provider' | 'options'> &
    Partial<Pick<EntrySchemaSpec, 'type' | 'provider'>>;
  options: F;
  streamScoped?: boolean;
  leased?: boolean;
  /** Problems between options that JSON Schema cannot express, each `[path below the entry, message]`. */
  problems?(options: OptionsOf<F>): Array<[string, string]>;
  /** Builds the component from its entry and the options read from it. */
  create(entry: ConfigEntry, options: OptionsOf<F>, ctx: ComponentContext): Promise<T>;
}

export function defineComponent<T, F extends OptionFields>(
  spec: ComponentSpec<T, F>,
): ComponentDefinition<T> {
  return {
    kind: spec.kind,
    provider: spec.provider,
    description: spec.description,
    schema: entrySchema({
      ...spec.entry,
      type: spec.entry.type ?? spec.kind,
      provider: spec.entry.provider ?? spec.provider,
      options: spec.options,
    }),
    options: spec.options,
    ...(spec.streamScoped ? { streamScoped: true } : {}),
    ...(spec.leased ? { leased: true } : {}),
    ...(spec.problems
      ? { problems: (entry: ConfigEntry) => spec.problems!(readOptions(spec.options, entry)) }
      : {}),
    create: (entry, ctx) => spec.create(entry, readOptions(spec.options, entry), ctx),
  };
}
