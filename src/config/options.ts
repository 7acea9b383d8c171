/**
 * A component's options, declared once: each field gives the JSON Schema of
 * the option (description, default, the accepted spellings) and reads its
 * value, typed and defaulted, from a validated entry. `readOptions` turns a
 * declaration into the typed options a component's constructor receives, so
 * that no component reads an option by its name or looks its default up.
 */
import type { JsonSchema } from './json-schema';
import type { ConfigEntry, OptionValue } from './types';

/** One option: its schema, whether the entry must give it, and how its value is read. */
export interface OptionField<T> {
  readonly schema: JsonSchema;
  readonly required: boolean;
  /** The value the component uses, from what the entry wrote (undefined: not written). */
  read(raw: OptionValue | undefined): T;
}

/** A component's options, by option name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OptionFields = Record<string, OptionField<any>>;

type ValueOf<F> = F extends OptionField<infer T> ? T : never;
type OptionalKeys<F extends OptionFields> = {
  [K in keyof F]: undefined extends ValueOf<F[K]> ? K : never;
}[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] };

/** The typed options a declaration reads: an option without a default may be absent. */
export type OptionsOf<F extends OptionFields> = Simplify<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: ValueOf<F[K]> } & {
    [K in OptionalKeys<F>]?: Exclude<ValueOf<F[K]>, undefined>;
  }
>;

/** Read every declared option of an entry. */
export function readOptions<F extends OptionFields>(fields: F, entry: ConfigEntry): OptionsOf<F> {
  const options: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) {
    const value = field.read(entry.options?.[name]);
    if (value !== undefined) options[name] = value;
  }
  return options as OptionsOf<F>;
}

/** The JSON Schema `options` object of a declaration; unknown options are errors. */
export function optionsSchema(fields: OptionFields): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, field] of Object.entries(fields)) properties[name] = field.schema;
  return {
    type: 'object',
    properties,
    required: requiredOptions(fields),
    additionalProperties: false,
  };
}

/** The names of the options an entry must give. */
export function requiredOptions(fields: OptionFields): string[] {
  return Object.keys(fields).filter((name) => fields[name].required);
}

function withDefault(description: string, defaultValue: unknown): JsonSchema {
  return { description, ...(defaultValue === undefined ? {} : { default: defaultValue }) };
}

/** A boolean given as `"true"`/`"false"` (the original router's strings, any case) or a JSON boolean. */
export function boolOption(description: string, defaultValue: boolean): OptionField<boolean> {
  return {
    schema: {
      ...withDefault(description, defaultValue),
      anyOf: [
        { type: 'boolean' },
        { type: 'string', enum: ['true', 'false', 'True', 'False', 'TRUE', 'FALSE'] },
      ],
    },
    required: false,
    read: (raw) => {
      if (raw === undefined) return defaultValue;
      if (typeof raw === 'boolean') return raw;
      return String(raw).toLowerCase() === 'true';
    },
  };
}

/** An integer given as a JSON number or a string of digits, at least `minimum`. */
const intSchema = (minimum: number): JsonSchema => ({
  anyOf: [
    { type: 'integer', minimum },
    { type: 'string', pattern: '^[0-9]+$' },
  ],
});

/** An integer option's value (undefined: not written). */
function readInt(raw: OptionValue | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** An integer given as a JSON number or a string of digits, at least `minimum`. */
export function intOption(description: string, minimum: number, defaultValue: number): OptionField<number> {
  return {
    schema: { ...withDefault(description, defaultValue), ...intSchema(minimum) },
    required: false,
    read: (raw) => readInt(raw) ?? defaultValue,
  };
}

/** An integer at least `minimum` that the entry may leave out (then the component has no such limit). */
export function optionalIntOption(description: string, minimum: number): OptionField<number | undefined> {
  return { schema: { description, ...intSchema(minimum) }, required: false, read: readInt };
}

function stringSchema(description: string, extra: JsonSchema): JsonSchema {
  return { description, type: 'string', minLength: 1, ...extra };
}

const readString = (raw: OptionValue | undefined): string | undefined =>
  raw === undefined ? undefined : String(raw);

/** A non-empty string the entry may leave out. `extra`: more schema (a pattern). */
export function stringOption(description: string, extra: JsonSchema = {}): OptionField<string | undefined> {
  return { schema: stringSchema(description, extra), required: false, read: readString };
}

/** A string the entry may leave out, whose schema is written whole (a URL, an address). */
export function stringOptionWithSchema(schema: JsonSchema): OptionField<string | undefined> {
  return { schema, required: false, read: readString };
}

/** A non-empty string with a default: `extra` holds the default and any more schema (a pattern). */
export function defaultedStringOption(
  description: string,
  extra: JsonSchema & { default: string },
): OptionField<string> {
  return {
    schema: stringSchema(description, extra),
    required: false,
    read: (raw) => readString(raw) ?? extra.default,
  };
}

/**
 * A non-empty string the entry must give. The schema makes sure it is there;
 * an entry that was not validated (a test's) reads as the empty string.
 */
export function requiredStringOption(description: string, extra: JsonSchema = {}): OptionField<string> {
  return { schema: stringSchema(description, extra), required: true, read: (raw) => readString(raw) ?? '' };
}

/** One of a few words, with a default. */
export function enumOption<const V extends readonly string[]>(
  description: string,
  values: V,
  defaultValue: V[number],
): OptionField<V[number]> {
  return {
    schema: stringSchema(description, { enum: [...values], default: defaultValue }),
    required: false,
    read: (raw) => (readString(raw) ?? defaultValue) as V[number],
  };
}

/** A list of files, each a non-empty path (an empty list, as a template may write it, is no file). */
export function fileListOption(description: string): OptionField<string[]> {
  return {
    schema: { description, type: 'array', items: { type: 'string', minLength: 1 } },
    required: false,
    read: (raw) => (Array.isArray(raw) ? raw : []),
  };
}
