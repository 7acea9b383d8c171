/**
 * How a stream provider, a processor or the metrics server plugs in.
 *
 * Each component folder exports one `ComponentDefinition`: its provider name,
 * the JSON Schema of its config entry, and a factory. The registries in
 * `src/stream/registry.ts` and `src/processor/registry.ts` list them,
 * `src/catalogue.ts` hands them to the config schema, and the router builds
 * components through them, so adding a sink touches one folder plus one line.
 */
import type { ConfigEntry } from '../config/types';
import type { Logger } from '../log/logger';
import type { RouterMetrics } from '../metrics/metrics';
import type { RootCAs } from '../util/tls';
import type { CheckpointStore } from '../stream/vcenter/checkpoint';

/** A JSON Schema fragment (draft 2020-12, as ajv reads it). */
export type JsonSchema = Record<string, unknown>;

export type ComponentKind = 'stream' | 'processor' | 'metrics' | 'router' | 'coordination';

export interface ComponentContext {
  logger: Logger;
  metrics: RouterMetrics;
  /** The operator's root CAs, read once at start: every TLS client trusts them (absent: the default CAs only). */
  rootCAs?: RootCAs;
  /** A stream's checkpoint store when replicas share the streams (beside its lease); absent: files. */
  checkpointStore?: CheckpointStore;
}

export interface ComponentDefinition<T> {
  kind: ComponentKind;
  provider: string;
  /** One line for the generated configuration reference. */
  description: string;
  /** Schema of the whole entry: type, provider, address, auth, options. */
  schema: JsonSchema;
  /** Builds the component; implementations are imported lazily so that unused sinks cost no memory. */
  create(entry: ConfigEntry, ctx: ComponentContext): Promise<T>;
  /**
   * Problems of a valid-looking entry that JSON Schema cannot express (one
   * option bounded by another), each `[path below the entry, message]`.
   */
  problems?(entry: ConfigEntry): Array<[string, string]>;
  /**
   * A stream that reads from its source (rather than being pushed to): when
   * replicas share the streams, one replica at a time follows it, under its lease.
   */
  leased?: boolean;
}
