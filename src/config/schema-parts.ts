/**
 * Building blocks for the JSON Schema of config entries. Components use these
 * in their definitions so that every entry is described the same way.
 */
import type { JsonSchema } from '../components/component';

/** `"true"`/`"false"` as the original's string options, or a JSON boolean. */
export const boolOption = (description: string, defaultValue?: boolean): JsonSchema => ({
  description,
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
  anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['true', 'false', 'True', 'False', 'TRUE', 'FALSE'] }],
});

/** An integer given as a JSON number or a string of digits; `defaultValue` is the one place its default is written. */
export const intOption = (description: string, minimum = 0, defaultValue?: number): JsonSchema => ({
  description,
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
  anyOf: [
    { type: 'integer', minimum },
    { type: 'string', pattern: '^[0-9]+$' },
  ],
});

export const stringOption = (description: string, extra: JsonSchema = {}): JsonSchema => ({
  description,
  type: 'string',
  minLength: 1,
  ...extra,
});

/** A list of files, each a non-empty path (an empty list, as a template may write it, is no file). */
export const fileListOption = (description: string): JsonSchema => ({
  description,
  type: 'array',
  items: { type: 'string', minLength: 1 },
});

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
export function deliveryOptions(defaults: {
  maxInFlight: number;
  retries: number;
}): Record<string, JsonSchema> {
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

export interface EntrySchemaSpec {
  type: string | string[];
  provider: string | string[];
  description: string;
  address?: { schema: JsonSchema; required: boolean };
  auth?: { schema: JsonSchema; required: boolean };
  options?: { properties: Record<string, JsonSchema>; required?: string[] };
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
  properties.options = {
    type: 'object',
    properties: spec.options?.properties ?? {},
    required: spec.options?.required ?? [],
    additionalProperties: false,
  };
  if (spec.options?.required?.length) required.push('options');
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

/** The numeric default an option's schema declares (a definition without one is a programming error). */
export function defaultNumber(schema: JsonSchema, option: string): number {
  const v = optionDefault(schema, option);
  if (typeof v !== 'number') throw new Error(`option ${option} declares no numeric default`);
  return v;
}

/** The boolean default an option's schema declares. */
export function defaultBool(schema: JsonSchema, option: string): boolean {
  const v = optionDefault(schema, option);
  if (typeof v !== 'boolean') throw new Error(`option ${option} declares no boolean default`);
  return v;
}

/** The default an option's schema declares, if any. */
export function optionDefault(schema: JsonSchema, option: string): unknown {
  const options = (schema.properties as Record<string, JsonSchema> | undefined)?.options;
  const prop = (options?.properties as Record<string, JsonSchema> | undefined)?.[option];
  return prop?.default;
}
