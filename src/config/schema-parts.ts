/**
 * Building blocks for the JSON Schema of config entries. Components use these
 * in their definitions so that every entry is described the same way.
 */
import type { JsonSchema } from './json-schema';
import {
  intOption,
  optionalIntOption,
  optionsSchema,
  readOptions,
  requiredOptions,
  stringOption,
  type OptionFields,
  type OptionsOf,
} from './options';
import type { ConfigEntry } from './types';

/** A `secret` object: exactly these keys, each a non-empty string. */
export function secretSchema(keys: string[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const k of keys) properties[k] = { type: 'string', minLength: 1, writeOnly: true };
  return { type: 'object', properties, required: keys, additionalProperties: false };
}

/** `auth` with one of the given methods; each method's secret keys (none for `none`). */
export function authSchema(methods: Record<string, string[]>): JsonSchema {
  const names = Object.keys(methods);
  const branches = names.map((m) => {
    const keys = methods[m];
    const then: JsonSchema =
      keys.length === 0
        ? { properties: { method: { const: m } }, not: { required: ['secret'] } }
        : { properties: { secret: secretSchema(keys) }, required: ['secret'] };
    return { if: { properties: { method: { const: m } }, required: ['method'] }, then };
  });
  return {
    type: 'object',
    properties: {
      method: { type: 'string', enum: names },
      secret: { type: 'object' },
    },
    required: ['method'],
    additionalProperties: false,
    allOf: branches,
  };
}

/** A name for an entry: shown in logs, metrics labels, /stats and /readyz. */
export const nameSchema: JsonSchema = {
  type: 'string',
  description:
    'Name of this entry in logs, metrics, /stats and /readyz; required when there are several streams, or two processors of one provider',
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$',
};

/** A processor's content filter: an EventBridge event pattern matched against the CloudEvent. */
export const filterSchema: JsonSchema = {
  type: 'object',
  description:
    'Event pattern (EventBridge pattern language) matched against the CloudEvent as JSON; only matching events reach this processor',
  eventPattern: true,
};

/** Seconds a delivery that fails transiently is retried, by default. */
export const DEFAULT_RETRY_MAX_DURATION_S = 120;
/** The longest wait between two attempts, by default (seconds). */
export const DEFAULT_RETRY_MAX_BACKOFF_S = 10;

/**
 * The options the delivery runner reads for every processor, with this
 * sink's default of sends in flight. Retries are bounded by time
 * (`retry_max_duration`), and by a count only when the entry sets `retries`.
 */
export function deliveryOptions(defaults: { maxInFlight: number }) {
  return {
    max_in_flight: intOption('Sends in flight at once before the processor waits', 1, defaults.maxInFlight),
    retry_max_duration: intOption(
      'Seconds a delivery that failed transiently (the peer unreachable, restarting or busy) is retried, from its first attempt; then it is counted as failed (and dead-lettered when dead_letter_file is set). 0: never retried',
      0,
      DEFAULT_RETRY_MAX_DURATION_S,
    ),
    retry_max_backoff: intOption(
      "Longest wait in seconds between two attempts of a delivery (the wait starts at 0.2 s and doubles); a peer's Retry-After may ask for more, up to 60 s",
      1,
      DEFAULT_RETRY_MAX_BACKOFF_S,
    ),
    retries: optionalIntOption(
      'At most this many retries of a delivery, when set: retries end at whichever of retries and retry_max_duration comes first (0: never retried). Unset: only retry_max_duration bounds them',
      0,
    ),
    dead_letter_file: stringOption(
      'File (JSON lines) for events the processor gives up on; with it, a checkpoint may move past them',
    ),
  };
}

type DeliveryFields = ReturnType<typeof deliveryOptions>;

/** The options the delivery runner of a processor reads. */
export type DeliveryOptions = OptionsOf<DeliveryFields>;

/** A sink that declares no delivery options is sent to one event at a time and never retried. */
const UNDECLARED_DELIVERY: DeliveryFields = {
  ...deliveryOptions({ maxInFlight: 1 }),
  retries: intOption('Retries of a delivery', 0, 0),
};

/** Read the delivery options of a processor entry, with the defaults its sink declares. */
export function readDeliveryOptions(declared: OptionFields, entry: ConfigEntry): DeliveryOptions {
  const fields = Object.fromEntries(
    Object.entries(UNDECLARED_DELIVERY).map(([name, field]) => [name, declared[name] ?? field]),
  ) as DeliveryFields;
  return readOptions(fields, entry);
}

export interface EntrySchemaSpec {
  type: string | string[];
  provider: string | string[];
  description: string;
  address?: { schema: JsonSchema; required: boolean };
  auth?: { schema: JsonSchema; required: boolean };
  options?: OptionFields;
}

/** The schema of a whole entry; unknown keys at every level are errors. */
export function entrySchema(spec: EntrySchemaSpec): JsonSchema {
  const constOrEnum = (v: string | string[]): JsonSchema => (Array.isArray(v) ? { enum: v } : { const: v });
  const properties: Record<string, JsonSchema> = {
    type: constOrEnum(spec.type),
    provider: constOrEnum(spec.provider),
  };
  const required = ['type', 'provider'];
  const kinds = Array.isArray(spec.type) ? spec.type : [spec.type];
  if (kinds.includes('stream') || kinds.includes('processor')) properties.name = nameSchema;
  if (kinds.includes('processor')) properties.filter = filterSchema;
  if (spec.address) {
    properties.address = spec.address.schema;
    if (spec.address.required) required.push('address');
  } else {
    properties.address = { type: 'string', description: 'not used by this provider' };
  }
  if (spec.auth) {
    properties.auth = spec.auth.schema;
    if (spec.auth.required) required.push('auth');
  }
  properties.options = optionsSchema(spec.options ?? {});
  if (requiredOptions(spec.options ?? {}).length) required.push('options');
  return {
    description: spec.description,
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
}

/** A TCP port, 0 to 65535, as a regular expression (addresses are strings). */
export const PORT_PATTERN =
  '(?:[0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

/** A host: a bracketed IPv6 address, or a name / IPv4 address (no `:`, `@`, `/`, space). */
export const HOST_PATTERN = '(?:\\[[0-9a-fA-F:.]+\\]|[^\\s/?#:@\\[\\]]+)';

/** `scheme://[userinfo@]host[:port]`: the port, when given, is 0-65535. */
export const URL_AUTHORITY_PATTERN = `https?://(?:[^\\s/?#]*@)?${HOST_PATTERN}(?::${PORT_PATTERN})?`;

/** A bind address `HOST:PORT` (an empty host means every interface), the port 0-65535. */
export const bindAddress = (description: string): JsonSchema => ({
  type: 'string',
  description,
  pattern: `^(?:\\[[0-9a-fA-F:.]+\\]|[^\\s:/\\[\\]@]*):${PORT_PATTERN}$`,
});

export const httpUrl = (description: string): JsonSchema => ({
  type: 'string',
  description,
  pattern: `^${URL_AUTHORITY_PATTERN}(?:/[^\\s]*)?$`,
});
