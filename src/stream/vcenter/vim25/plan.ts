/**
 * The compiled conversion plans shared by both vim25 readers: the SOAP reader
 * (convert.ts, XML elements) and the VI/JSON reader (convert-json.ts, parsed
 * JSON). A plan lists a type's fields as govmomi's `json.Marshal` prints them
 * (Go names, base fields first, declaration order) with their wire names and
 * value kinds, and builds each object with one fixed shape. The value rules
 * (Go zero values, integer wrapping, float32 printing, time format) live here
 * once, so that both protocols give the same `data` for the same event.
 */
import { allFields, isEnum, resolveTypeName, typeOf, type ModelField } from './model';
import { markExactRoot, recordExact } from '../../../util/exact-json';

export interface VimEvent {
  /** Event class from `xsi:type` (prefix removed), e.g. `VmPoweredOnEvent`. */
  className: string;
  key: number;
  chainId: number;
  /** `createdTime` as govmomi prints it. */
  createdTime: string;
  /** For EventEx / ExtendedEvent (and anything else carrying one). */
  eventTypeId?: string;
  /** govmomi-compatible JSON object. */
  data: Record<string, unknown>;
  /** false when the class is not in the model and `data` was built generically. */
  known: boolean;
}

// ---- compiled plans ----------------------------------------------------------

export const K = {
  Str: 0,
  Bool: 1,
  Int: 2,
  Uint8: 3,
  Uint16: 4,
  Uint32: 5,
  Uint64: 6,
  Float32: 7,
  Float64: 8,
  Time: 9,
  Bytes: 10,
  Any: 11,
  Struct: 12,
  Iface: 13,
} as const;
export type K = (typeof K)[keyof typeof K];

export interface FieldPlan {
  xml: string;
  json: string;
  k: K;
  type: string;
  array: boolean;
  pointer: boolean;
  attr: boolean;
  chardata: boolean;
  /** Plan of the (declared) struct type, resolved lazily. */
  sub: TypePlan | undefined;
}

export interface TypePlan {
  name: string;
  fields: FieldPlan[];
  /** xml element name -> field index (element fields only). */
  index: Map<string, number>;
  attrFields: number[];
  chardata: number;
  isMoRef: boolean;
  /** Builds the JSON object from the collected values (fixed shape, generated once). */
  build: (vals: unknown[], zero: (i: number) => unknown) => Record<string, unknown>;
  /** Zero value of field i (for non-constant zero values: non-pointer structs). */
  zero: (i: number) => unknown;
}

export const PRIM_KIND: Record<string, K> = {
  string: K.Str,
  bool: K.Bool,
  int8: K.Int,
  int16: K.Int,
  int32: K.Int,
  int64: K.Int,
  uint8: K.Uint8,
  uint16: K.Uint16,
  uint32: K.Uint32,
  uint64: K.Uint64,
  float32: K.Float32,
  float64: K.Float64,
  time: K.Time,
  bytes: K.Bytes,
  any: K.Any,
};

function fieldKind(f: ModelField): K {
  const p = PRIM_KIND[f.type];
  if (p !== undefined) return p;
  if (f.iface) return K.Iface;
  if (isEnum(f.type)) return K.Str;
  if (typeOf(f.type)) return K.Struct;
  throw new Error(`vim25 model: field ${f.name} has unknown type ${f.type}`);
}

const plans = new Map<string, TypePlan>();

export function planOf(name: string): TypePlan {
  let p = plans.get(name);
  if (p) return p;
  const fields: FieldPlan[] = allFields(name).map((f) => ({
    xml: f.xml,
    json: f.name,
    k: fieldKind(f),
    type: f.type,
    array: f.array,
    pointer: f.pointer,
    attr: f.attr,
    chardata: f.chardata,
    sub: undefined,
  }));
  const index = new Map<string, number>();
  const attrFields: number[] = [];
  let chardata = -1;
  fields.forEach((f, i) => {
    if (f.attr) attrFields.push(i);
    else if (f.chardata) chardata = i;
    else if (!index.has(f.xml)) index.set(f.xml, i);
  });
  p = {
    name,
    fields,
    index,
    attrFields,
    chardata,
    isMoRef: name === 'ManagedObjectReference',
    build: compileBuild(fields),
    zero: (i) => zeroOf(fields[i]),
  };
  plans.set(name, p);
  return p;
}

/**
 * An object literal per type, `{"Key": v[0] !== undefined ? v[0] : 0, ...}`,
 * so that V8 creates every object of a type with one fixed shape (several
 * times faster than adding keys one by one). Zero values that are constants
 * are inlined; struct zero values come from `zero(i)`.
 */
function compileBuild(fields: FieldPlan[]): TypePlan['build'] {
  const props = fields.map((f, i) => {
    const z = zeroLiteral(f);
    return `${JSON.stringify(f.json)}: v[${i}] !== undefined ? v[${i}] : ${z ?? `zero(${i})`}`;
  });
  return new Function('v', 'zero', `return {${props.join(', ')}};`) as TypePlan['build'];
}

function zeroLiteral(f: FieldPlan): string | undefined {
  if (f.array || f.pointer) return 'null';
  switch (f.k) {
    case K.Str:
      return "''";
    case K.Bool:
      return 'false';
    case K.Time:
      return JSON.stringify(ZERO_TIME);
    case K.Bytes:
    case K.Any:
    case K.Iface:
      return 'null';
    case K.Struct:
      return undefined;
    default:
      return '0';
  }
}

export function subPlan(f: FieldPlan): TypePlan {
  return (f.sub ??= planOf(typeOf(f.type)!.name));
}

/** Resolution of wire type names (cached): struct plan, enum marker, or null. */
export const ENUM = 1 as const;
const typeCache = new Map<string, TypePlan | typeof ENUM | null>();
export function lookupType(wire: string): TypePlan | typeof ENUM | null {
  let r = typeCache.get(wire);
  if (r === undefined) {
    const n = resolveTypeName(wire);
    r = n === undefined ? null : isEnum(n) ? ENUM : planOf(n);
    typeCache.set(wire, r);
  }
  return r;
}

export function parseBool(s: string): boolean {
  switch (s.length > 5 ? s.trim() : s) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    default:
      return false;
  }
}

/**
 * `pending`: the exact decimal text of the integer parsed last, when a JS
 * number cannot hold it (beyond 2^53: int64/uint64 values); taken by the
 * caller that stores the value (a reader's struct conversion), which records
 * it for the serializer (util/exact-json). `saw`: some value of the current
 * conversion was recorded with its exact text.
 */
export const exact: { pending: string | undefined; saw: boolean } = { pending: undefined, saw: false };

const INT_RE = /^\s*[+-]?\d+\s*$/;

export function parseNum(s: string): number {
  if (s.length === 0) return 0;
  const n = Number(s);
  return Number.isNaN(n) ? 0 : n;
}

/** A signed integer (int8..int64); beyond 2^53 its exact text goes to exact.pending. */
export function parseSigned(s: string): number {
  const n = parseNum(s);
  if (s.length > 15 && !Number.isSafeInteger(n) && INT_RE.test(s))
    exact.pending = BigInt(s.trim()).toString();
  return n;
}

export function parseUint(s: string, bits: number): number {
  const n = parseNum(s);
  if (n >= 0) return n;
  // govmomi: negative value for an unsigned field is read as two's complement.
  if (bits === 8) return n & 0xff;
  if (bits === 16) return n & 0xffff;
  if (bits === 32) return n >>> 0;
  const u = BigInt.asUintN(64, BigInt(s.trim()));
  const r = Number(u);
  exact.pending = Number.isSafeInteger(r) ? undefined : u.toString();
  return r;
}

export function parseFloat32(s: string): number {
  const f = Math.fround(parseNum(s));
  if (!Number.isFinite(f) || f === 0) return f;
  for (let p = 1; p < 10; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return f;
}

const TIME_RE = /^(\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/;
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** An xsd:dateTime as Go's time.Time.MarshalJSON prints it (RFC3339Nano). */
export function formatTime(s: string): string {
  const m = TIME_RE.exec(s.trim());
  if (!m) return s; // govmomi would fail to decode; keep the text
  let frac = m[2] ?? '';
  if (frac.length > 9) frac = frac.slice(0, 9);
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  frac = end > 0 ? '.' + frac.slice(0, end) : '';
  const zone = m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : m[3];
  return m[1] + frac + zone;
}

export function zeroStruct(p: TypePlan): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of p.fields) o[f.json] = zeroOf(f);
  return o;
}

export function zeroOf(f: FieldPlan): unknown {
  if (f.array || f.pointer) return null;
  switch (f.k) {
    case K.Str:
      return '';
    case K.Bool:
      return false;
    case K.Time:
      return ZERO_TIME;
    case K.Bytes:
    case K.Any:
    case K.Iface:
      return null;
    case K.Struct:
      return zeroStruct(subPlan(f));
    default:
      return 0;
  }
}

export function upperFirst(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}

let eventPlanCache: TypePlan | undefined;
/** The plan of `Event`, the base of every event class (generic conversion of unknown classes). */
export function eventPlan(): TypePlan {
  return (eventPlanCache ??= planOf('Event'));
}

/** The VimEvent of converted event `data` (marked for exact printing when a value needed it). */
export function vimEvent(className: string, data: Record<string, unknown>, known: boolean): VimEvent {
  if (exact.saw) markExactRoot(data);
  const ev: VimEvent = {
    className,
    key: data.Key as number,
    chainId: data.ChainId as number,
    createdTime: data.CreatedTime as string,
    data,
    known,
  };
  const etid = data.EventTypeId;
  if (typeof etid === 'string' && etid !== '') ev.eventTypeId = etid;
  return ev;
}

/** [field index, array index or -1, exact text] of a value beyond 2^53. */
export type ExactValue = [number, number, string];

/** The object of plan `p` from the values a reader collected, with their exact texts recorded. */
export function buildObject(
  p: TypePlan,
  vals: unknown[],
  exacts: ExactValue[] | undefined,
): Record<string, unknown> {
  const o = p.build(vals, p.zero);
  if (exacts !== undefined) {
    exact.saw = true;
    for (const [i, at, text] of exacts) {
      if (at < 0) recordExact(o, p.fields[i].json, text);
      else recordExact(vals[i] as unknown[], at, text);
    }
  }
  return o;
}
