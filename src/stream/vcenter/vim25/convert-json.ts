/**
 * vim25 VI/JSON -> govmomi-compatible JSON: the second reader of the compiled
 * plans (plan.ts). For an event object of a VI/JSON reply it produces the same
 * `data` that convert.ts produces for the same event read over SOAP.
 *
 * VI/JSON (vCenter 8.0U1+, and govmomi's `vim25/json` codec) writes a value as:
 * - a data object: its members under their WSDL names (`createdTime`), and
 *   `_typeName` with its vim25 type, which is how a polymorphic value says its
 *   concrete type; absent (omitempty) members are Go zero values here;
 * - a managed object reference: `{"_typeName": "ManagedObjectReference",
 *   "type": ..., "value": ...}` -> `{"Type": ..., "Value": ...}`;
 * - an `anyType` value: `{"_typeName": "int", "_value": 5}` for the primitive
 *   names (boolean, byte, short, int, long, float, double, string, binary,
 *   dateTime), an enum, or an `ArrayOf*` type (the items under `_value`);
 *   a data object directly, with its `_typeName`;
 * - numbers as JSON numbers: integers beyond 2^53 come from parseViJson as
 *   ExactInteger, so that their digits survive as they do on the SOAP path;
 * - `binary` as base64 text: the bytes govmomi holds are that text's decoding,
 *   and its json.Marshal prints base64 again, i.e. the same text;
 * - dateTime as RFC 3339 text, printed like Go's time.Time.
 *
 * Unknown classes and types are converted generically like the XML reader
 * does: the declared base type's fields, then every other member, keyed by its
 * name with the first letter upper-cased.
 */
import { isEventClass } from './model';
import {
  buildObject,
  ENUM,
  eventPlan,
  exact,
  formatTime,
  K,
  lookupType,
  parseBool,
  parseFloat32,
  parseUint,
  subPlan,
  upperFirst,
  vimEvent,
  type ExactValue,
  type FieldPlan,
  type TypePlan,
  type VimEvent,
} from './plan';

export type JsonObject = Record<string, unknown>;

/** An integer literal of a VI/JSON reply that a JS number cannot hold exactly. */
export class ExactInteger {
  constructor(
    /** The nearest JS number. */
    readonly value: number,
    /** The literal's decimal digits. */
    readonly text: string,
  ) {}
}

// Sixteen digits in a row anywhere (even inside a string) send a reply to the
// slower parse that keeps literals; without any, no integer can exceed 2^53.
const LONG_DIGITS = /\d{16}/;
const INTEGER_LITERAL = /^-?\d+$/;

function keepExactIntegers(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    const source = context?.source;
    if (source !== undefined && INTEGER_LITERAL.test(source)) return new ExactInteger(value, source);
  }
  return value;
}

/** JSON.parse of a VI/JSON reply, keeping the digits of integers beyond 2^53 (ExactInteger). */
export function parseViJson(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, keepExactIntegers as (this: unknown, key: string, value: unknown) => unknown);
}

/** Primitive `_typeName`s of anyType values (govmomi vim25/types/json.go). */
const VI_PRIMITIVE: Record<string, K> = {
  boolean: K.Bool,
  byte: K.Int,
  short: K.Int,
  int: K.Int,
  long: K.Int,
  float: K.Float32,
  double: K.Float64,
  string: K.Str,
  binary: K.Bytes,
  dateTime: K.Time,
};

/** A VI/JSON object (not an array, nor an integer parseViJson kept exact). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof ExactInteger);
}

function integer(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof ExactInteger) {
    exact.pending = BigInt(v.text).toString();
    return v.value;
  }
  if (typeof v === 'string') return Number(v) || 0;
  return 0;
}

function scalar(k: K, v: unknown): unknown {
  switch (k) {
    case K.Str:
      return typeof v === 'string' ? v : String(v);
    case K.Bool:
      return typeof v === 'boolean' ? v : parseBool(String(v));
    case K.Int:
      return integer(v);
    case K.Uint8:
    case K.Uint16:
    case K.Uint32:
    case K.Uint64: {
      const n = integer(v);
      if (n >= 0) return n;
      exact.pending = undefined;
      return parseUint(v instanceof ExactInteger ? v.text : String(n), BITS[k]);
    }
    case K.Float32:
      return typeof v === 'number' ? parseFloat32(String(v)) : parseFloat32(String(integer(v)));
    case K.Float64:
      return v instanceof ExactInteger ? v.value : typeof v === 'number' ? v : Number(v) || 0;
    case K.Time:
      return formatTime(String(v));
    case K.Bytes:
      return typeof v === 'string' ? v : null;
    default:
      throw new Error('not a scalar kind');
  }
}

const BITS: Record<number, number> = { [K.Uint8]: 8, [K.Uint16]: 16, [K.Uint32]: 32, [K.Uint64]: 64 };

/** The items of array field `f` (index `i`), with the exact texts of integers beyond 2^53 added to `exacts`. */
function arrayItems(
  f: FieldPlan,
  i: number,
  items: unknown[],
  exacts: ExactValue[] | undefined,
): [unknown[], ExactValue[] | undefined] {
  const a: unknown[] = new Array(items.length);
  for (let j = 0; j < items.length; j++) {
    a[j] = fieldValue(f, items[j]);
    if (exact.pending !== undefined) {
      (exacts ??= []).push([i, j, exact.pending]);
      exact.pending = undefined;
    }
  }
  return [a, exacts];
}

/** An `ArrayOf*` value: its items under `_value` fill the type's one array field. */
function arrayOf(o: JsonObject, p: TypePlan): Record<string, unknown> {
  const items = o._value as unknown[];
  if (items.length === 0) return buildObject(p, [], undefined);
  const [a, exacts] = arrayItems(p.fields[0], 0, items, undefined);
  return buildObject(p, [a], exacts);
}

/** A polymorphic value: concrete type from `_typeName`, else `fallback` (a struct plan) or null. */
function polymorphic(v: unknown, fallback: TypePlan | undefined): unknown {
  if (!isObject(v)) return v === undefined ? null : v;
  const t = v._typeName;
  if (typeof t !== 'string') return fallback ? convStruct(v, fallback) : null;
  const pk = VI_PRIMITIVE[t];
  if (pk !== undefined) return scalar(pk, v._value);
  const r = lookupType(t);
  if (r === ENUM) return String(v._value);
  if (r !== null) {
    if (Array.isArray(v._value) && r.fields.length === 1 && r.fields[0].array) return arrayOf(v, r);
    return convStruct(v, r);
  }
  return convGeneric(v, fallback);
}

function fieldValue(f: FieldPlan, v: unknown): unknown {
  switch (f.k) {
    case K.Struct:
      return isObject(v) ? convStruct(v, subPlan(f)) : null;
    case K.Iface:
      return polymorphic(v, subPlan(f));
    case K.Any:
      return polymorphic(v, undefined);
    default:
      return scalar(f.k, v);
  }
}

function convStruct(o: JsonObject, p: TypePlan): Record<string, unknown> {
  if (p.isMoRef) return { Type: String(o.type ?? ''), Value: String(o.value ?? '') };
  const fields = p.fields;
  const n = fields.length;
  const vals: unknown[] = new Array(n);
  let exacts: ExactValue[] | undefined;
  for (let i = 0; i < n; i++) {
    const f = fields[i];
    const v = o[f.xml];
    if (v === undefined || v === null) continue;
    if (f.array) {
      if (!Array.isArray(v) || v.length === 0) continue;
      [vals[i], exacts] = arrayItems(f, i, v, exacts);
    } else {
      vals[i] = fieldValue(f, v);
      if (exact.pending !== undefined) {
        (exacts ??= []).push([i, -1, exact.pending]);
        exact.pending = undefined;
      }
    }
  }
  return buildObject(p, vals, exacts);
}

function genericValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(genericValue);
  if (v instanceof ExactInteger) return v.value;
  if (!isObject(v)) return v;
  if (v._typeName === 'ManagedObjectReference')
    return { Type: String(v.type ?? ''), Value: String(v.value ?? '') };
  if (typeof v._typeName === 'string') return polymorphic(v, undefined);
  return convGeneric(v, undefined);
}

/** Generic conversion (see the module comment): base type's fields, then the rest by name. */
function convGeneric(o: JsonObject, base: TypePlan | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = base ? convStruct(o, base) : {};
  for (const key of Object.keys(o)) {
    if (key === '_typeName' || (base && base.index.has(key))) continue;
    out[upperFirst(key)] = genericValue(o[key]);
  }
  return out;
}

/** Convert one VI/JSON event object (`{"_typeName": "VmPoweredOnEvent", "key": 42, ...}`). */
export function convertJsonEvent(o: JsonObject): VimEvent {
  const className = typeof o._typeName === 'string' ? o._typeName : 'Event';
  const r = lookupType(className);
  exact.saw = false;
  exact.pending = undefined;
  if (r !== null && r !== ENUM && isEventClass(r.name)) return vimEvent(className, convStruct(o, r), true);
  return vimEvent(className, convGeneric(o, eventPlan()), false);
}
