/**
 * The vim25 type model, generated from govmomi's `vim25/types/types.go` by
 * `scripts/gen-vim25-model.mjs` into `model.generated.json` (see that script
 * for the format). This module loads it once and offers lookups.
 *
 * The JSON is read with `fs` rather than `import`, so that it is found both
 * from `src/` (ts-jest) and from the compiled `dist/src/...` (tsc does not copy
 * .json files): we look next to this module first, then walk up the
 * directories for `src/stream/vcenter/vim25/model.generated.json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Primitive field type codes used by the generated model. */
export type PrimitiveType =
  | 'string'
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'time'
  | 'bytes'
  | 'any';

export const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveType>([
  'string',
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float32',
  'float64',
  'time',
  'bytes',
  'any',
]);

export interface ModelField {
  /** Element (or attribute) name on the wire: `fullFormattedMessage`. */
  xml: string;
  /** Go field name, which is also the JSON name: `FullFormattedMessage`. */
  name: string;
  /** A primitive code, an enum name, or a struct type name (for `iface`, the base struct). */
  type: string;
  /** `[]T` */
  array: boolean;
  /** `*T` (null when absent) */
  pointer: boolean;
  /** Go `Base*` interface: polymorphic, concrete type from `xsi:type`. */
  iface: boolean;
  /** `typeattr` in the Go tag: the value carries `xsi:type` on the wire. */
  typeattr: boolean;
  omitempty: boolean;
  /** `,attr`: read from an XML attribute. */
  attr: boolean;
  /** `,chardata`: the element's text. */
  chardata: boolean;
}

export interface ModelType {
  name: string;
  base?: string;
  /** Own fields only, in declaration order. */
  fields: readonly ModelField[];
}

type RawField = [string, string, string, number];
interface RawModel {
  '//': string;
  version: string;
  enums: string[];
  aliases: Record<string, string>;
  types: Record<string, { b?: string; f: RawField[] }>;
}

const MODEL_FILE = 'model.generated.json';
const MODEL_REL = path.join('src', 'stream', 'vcenter', 'vim25', MODEL_FILE);

function locateModel(): string {
  const direct = path.join(__dirname, MODEL_FILE);
  if (fs.existsSync(direct)) return direct;
  let dir = __dirname;
  for (;;) {
    const p = path.join(dir, MODEL_REL);
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`vim25 model: ${MODEL_FILE} not found near ${__dirname}`);
}

const raw = JSON.parse(fs.readFileSync(locateModel(), 'utf8')) as RawModel;

/** govmomi version the model was generated from. */
export const modelVersion: string = raw.version;

const types = new Map<string, ModelType>();
for (const [name, t] of Object.entries(raw.types)) {
  types.set(name, {
    name,
    base: t.b,
    fields: t.f.map(([xml, goName, type, flags]) => ({
      xml,
      name: goName,
      type,
      array: (flags & 1) !== 0,
      pointer: (flags & 2) !== 0,
      iface: (flags & 4) !== 0,
      typeattr: (flags & 8) !== 0,
      omitempty: (flags & 16) !== 0,
      attr: (flags & 32) !== 0,
      chardata: (flags & 64) !== 0,
    })),
  });
}
const enums = new Set(raw.enums);
const aliases = new Map(Object.entries(raw.aliases));

/** The type named `name` (after govmomi's registry aliases), or undefined. */
export function typeOf(name: string): ModelType | undefined {
  return types.get(name) ?? types.get(aliases.get(name) ?? '');
}

/** Resolve a wire type name the way govmomi's registry does (aliases, `vim25:` prefix). */
export function resolveTypeName(name: string): string | undefined {
  if (types.has(name)) return name;
  const a = aliases.get(name);
  if (a !== undefined) return a;
  if (name.startsWith('vim25:')) return resolveTypeName(name.slice(6));
  if (enums.has(name)) return name;
  return undefined;
}

export function isEnum(name: string): boolean {
  return enums.has(name);
}

export function isStruct(name: string): boolean {
  return types.has(name);
}

const allFieldsCache = new Map<string, readonly ModelField[]>();

/**
 * All fields of a type as Go's encoding/json sees them: embedded base structs
 * flattened base-first. (A field of a derived type with the same name as a
 * base field would dominate it at its own position; the current schema has no
 * such case, but it is handled.)
 */
export function allFields(name: string): readonly ModelField[] {
  const hit = allFieldsCache.get(name);
  if (hit) return hit;
  const t = typeOf(name);
  if (!t) throw new Error(`vim25 model: unknown type ${name}`);
  let fields: ModelField[] = t.base ? [...allFields(t.base)] : [];
  const own = new Set(t.fields.map((f) => f.name));
  if (fields.some((f) => own.has(f.name))) fields = fields.filter((f) => !own.has(f.name));
  fields.push(...t.fields);
  allFieldsCache.set(name, fields);
  return fields;
}

/** Does `name` equal or embed (transitively) `ancestor`? */
export function isSubtypeOf(name: string, ancestor: string): boolean {
  for (let t = typeOf(name); t; t = t.base ? typeOf(t.base) : undefined) {
    if (t.name === ancestor) return true;
  }
  return false;
}

const eventCache = new Map<string, boolean>();

/** Is `name` the Event class or one of its subclasses known to the model? */
export function isEventClass(name: string): boolean {
  let v = eventCache.get(name);
  if (v === undefined) {
    v = isSubtypeOf(name, 'Event');
    eventCache.set(name, v);
  }
  return v;
}

/** Names of all struct types in the model (sorted). */
export function typeNames(): string[] {
  return [...types.keys()];
}
