/**
 * Building blocks for the JSON Schema of config entries. Components use these
 * in their definitions so that every entry is described the same way.
 */
import type { JsonSchema } from '../components/component';

/** `"true"`/`"false"` as the original's string options, or a JSON boolean. */
export const boolOption = (description: string): JsonSchema => ({
  description,
  anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['true', 'false', 'True', 'False', 'TRUE', 'FALSE'] }],
});

/** An integer given as a JSON number or a string of digits. */
export const intOption = (description: string, minimum = 0): JsonSchema => ({
  description,
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

export const httpUrl = (description: string): JsonSchema => ({
  type: 'string',
  description,
  pattern: '^https?://[^\\s/?#]+(/[^\\s]*)?$',
});
