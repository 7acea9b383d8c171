/**
 * Building blocks for the JSON Schema of config entries. Components use these
 * in their definitions so that every entry is described the same way.
 */
import type { JsonSchema } from './json-schema';
import {
  intOption,
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

/**
 * The options the delivery runner reads for every processor, with this
 * sink's defaults: sends in flight and retries of transient failures.
 */
export function deliveryOptions(defaults: { maxInFlight: number; retries: number }) {
  return {
    max_in_flight: intOption('Sends in flight at once before the processor waits', 1, defaults.maxInFlight),
    retries: intOption(
      'Retries of a transient delivery failure before it is counted as failed',
      0,
      defaults.retries,
    ),
    dead_letter_file: stringOption(
      'File (JSON lines) for events the processor gives up on; with it, a checkpoint may move past them',
    ),
  };
}

/** The options the delivery runner of a processor reads. */
export type DeliveryOptions = OptionsOf<ReturnType<typeof deliveryOptions>>;

/** A sink that declares no delivery options is sent to one event at a time and never retried. */
const UNDECLARED_DELIVERY = deliveryOptions({ maxInFlight: 1, retries: 0 });

/** Read the delivery options of a processor entry, with the defaults its sink declares. */
export function readDeliveryOptions(declared: OptionFields, entry: ConfigEntry): DeliveryOptions {
  const fields: ReturnType<typeof deliveryOptions> = {
    max_in_flight: declared.max_in_flight ?? UNDECLARED_DELIVERY.max_in_flight,
    retries: declared.retries ?? UNDECLARED_DELIVERY.retries,
    dead_letter_file: declared.dead_letter_file ?? UNDECLARED_DELIVERY.dead_letter_file,
  };
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
