/**
 * What the configuration needs to know of a component: the kind and provider
 * an entry selects it by, and the JSON Schema of that entry. The components
 * themselves (src/components/component.ts) add how they are built.
 */
import type { JsonSchema } from './json-schema';
import type { OptionFields } from './options';
import type { ConfigEntry } from './types';

export type ComponentKind = 'stream' | 'processor' | 'metrics' | 'router' | 'coordination';

export interface ComponentDeclaration {
  kind: ComponentKind;
  provider: string;
  /** One line for the generated configuration reference. */
  description: string;
  /** Schema of the whole entry: type, provider, address, auth, options. */
  schema: JsonSchema;
  /** The entry's options, as declared (the schema's `options` is made from them). */
  options: OptionFields;
  /**
   * Processors whose output is keyed by one stream's event keys (the offsets
   * of event_stream): with several streams the entry must name its stream in
   * `options.stream`.
   */
  streamScoped?: boolean;
  /**
   * A stream that reads from its source (rather than being pushed to): when
   * replicas share the streams, one replica at a time follows it, under its lease.
   */
  leased?: boolean;
  /**
   * Problems of a valid-looking entry that JSON Schema cannot express (one
   * option bounded by another), each `[path below the entry, message]`.
   */
  problems?(entry: ConfigEntry): Array<[string, string]>;
}
