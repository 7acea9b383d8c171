/**
 * vim25 XML -> govmomi-compatible JSON.
 *
 * Produces, for an event element of a SOAP reply, the object that govmomi's
 * `json.Marshal` prints for the same event after govmomi's XML decoder read it
 * (SPEC.md section 3). The rules, checked against govmomi 0.24's
 * `vim25/xml/read.go` and Go's `encoding/json`:
 *
 * - keys are the Go field names, base struct fields first (embedding is
 *   flattened), in declaration order; every field is always present;
 * - absent values are Go zero values: `null` for pointers, slices, interfaces
 *   (Base*, AnyType) and `[]byte`; `""` for strings and enums; `0`/`false`;
 *   `"0001-01-01T00:00:00Z"` for a non-pointer time.Time; an object of zero
 *   values for a non-pointer struct;
 * - numbers: empty text is 0 (govmomi's copyValue); `byte` fields are uint8
 *   (negative values wrap, two's complement); float32 values print as the
 *   shortest decimal that round-trips a float32, like Go;
 * - booleans follow strconv.ParseBool (`1`, `t`, `T`, `TRUE`, `true`, `True`);
 * - time.Time prints as RFC 3339 with nanoseconds, trailing zeros of the
 *   fraction trimmed, a zero offset as `Z`, other offsets kept;
 * - `[]byte` fields get the raw element text (govmomi does not base64-decode
 *   it), and encoding/json then prints base64 of those bytes;
 * - a Base* interface field takes its concrete type from `xsi:type`
 *   (the base type itself when there is none); an AnyType field takes its type
 *   from `xsi:type` (`xsd:int` -> number, `xsd:string` -> string,
 *   `ArrayOfString` -> `{"String": [...]}`, enum -> string, ...) and is
 *   `null` without one, or with an `xsd:` type govmomi does not map;
 * - a managed object reference is `{"Type": ..., "Value": ...}`;
 * - elements that the type does not declare are ignored, like govmomi does.
 *
 * Beyond govmomi (which would drop them to `null` or fail): an element whose
 * `xsi:type` the model does not know - an event class from a newer vCenter, a
 * new fault or device subclass - is converted generically: first the fields of
 * the declared base type (for an event: `Event`, so `Key`, `CreatedTime`, ...
 * are typed and complete), then every other child element in document order,
 * keyed by its name with the first letter upper-cased; a value is typed when
 * the element carries a known `xsi:type`, is `{"Type","Value"}` when it has a
 * `type` attribute and no children (a managed object reference), an object
 * (converted the same generic way) when it has child elements, and its text
 * otherwise; an element name that repeats becomes an array.
 */
import type { XmlElement } from './xml';
import { allFields, isEnum, isEventClass, resolveTypeName, typeOf, type ModelField } from './model';
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

const K = {
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
type K = (typeof K)[keyof typeof K];

interface FieldPlan {
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

interface TypePlan {
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

const PRIM_KIND: Record<string, K> = {
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

function planOf(name: string): TypePlan {
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

function subPlan(f: FieldPlan): TypePlan {
  return (f.sub ??= planOf(typeOf(f.type)!.name));
}

// ---- helpers -------------------------------------------------------------------

/** The `xsi:type` attribute value (with its value prefix), or undefined. */
function xsiTypeOf(el: XmlElement): string | undefined {
  const a = el.attrs;
  const v = a['xsi:type'];
  if (v !== undefined) return v;
  for (const k in a) {
    if (k.endsWith(':type')) return a[k];
  }
  return undefined;
}

/** Resolution of wire type names (cached): struct plan, enum marker, or null. */
const ENUM = 1 as const;
const typeCache = new Map<string, TypePlan | typeof ENUM | null>();
function lookupType(wire: string): TypePlan | typeof ENUM | null {
  let r = typeCache.get(wire);
  if (r === undefined) {
    const n = resolveTypeName(wire);
    r = n === undefined ? null : isEnum(n) ? ENUM : planOf(n);
    typeCache.set(wire, r);
  }
  return r;
}

function parseBool(s: string): boolean {
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
 * Exact decimal text of the integer parsed last, when a JS number cannot hold
 * it (beyond 2^53: int64/uint64 values); taken by the caller that stores the
 * value (convStruct), which records it for the serializer (util/exact-json).
 */
let pendingExact: string | undefined;
/** Some value of the current conversion was recorded with its exact text. */
let sawExact = false;

const INT_RE = /^\s*[+-]?\d+\s*$/;

function parseNum(s: string): number {
  if (s.length === 0) return 0;
  const n = Number(s);
  return Number.isNaN(n) ? 0 : n;
}

/** A signed integer (int8..int64); beyond 2^53 its exact text goes to pendingExact. */
function parseSigned(s: string): number {
  const n = parseNum(s);
  if (s.length > 15 && !Number.isSafeInteger(n) && INT_RE.test(s)) pendingExact = BigInt(s.trim()).toString();
  return n;
}

function parseUint(s: string, bits: number): number {
  const n = parseNum(s);
  if (n >= 0) return n;
  // govmomi: negative value for an unsigned field is read as two's complement.
  if (bits === 8) return n & 0xff;
  if (bits === 16) return n & 0xffff;
  if (bits === 32) return n >>> 0;
  const u = BigInt.asUintN(64, BigInt(s.trim()));
  const r = Number(u);
  pendingExact = Number.isSafeInteger(r) ? undefined : u.toString();
  return r;
}

function parseFloat32(s: string): number {
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

function moRef(el: XmlElement): { Type: string; Value: string } {
  // govmomi's `type,attr` matches any attribute whose local name is `type`; last wins.
  const a = el.attrs;
  let t = a.type;
  if (t === undefined || Object.keys(a).length > 1) {
    t = '';
    for (const k in a) if (k === 'type' || k.endsWith(':type')) t = a[k];
  }
  return { Type: t, Value: el.text };
}

function zeroStruct(p: TypePlan): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of p.fields) o[f.json] = zeroOf(f);
  return o;
}

function zeroOf(f: FieldPlan): unknown {
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

// ---- conversion ------------------------------------------------------------------

function scalar(k: K, el: XmlElement): unknown {
  const s = el.text;
  switch (k) {
    case K.Str:
      return s;
    case K.Bool:
      return parseBool(s);
    case K.Int:
      return parseSigned(s);
    case K.Uint8:
      return parseUint(s, 8);
    case K.Uint16:
      return parseUint(s, 16);
    case K.Uint32:
      return parseUint(s, 32);
    case K.Uint64:
      return parseUint(s, 64);
    case K.Float32:
      return parseFloat32(s);
    case K.Float64:
      return parseNum(s);
    case K.Time:
      return formatTime(s);
    case K.Bytes:
      return Buffer.from(s, 'utf8').toString('base64');
    default:
      throw new Error('not a scalar kind');
  }
}

const XSD_KIND: Record<string, K> = {
  'xsd:boolean': K.Bool,
  'xsd:byte': K.Int,
  'xsd:short': K.Int,
  'xsd:int': K.Int,
  'xsd:long': K.Int,
  'xsd:unsignedByte': K.Uint8,
  'xsd:unsignedShort': K.Uint16,
  'xsd:unsignedInt': K.Uint32,
  'xsd:unsignedLong': K.Uint64,
  'xsd:float': K.Float32,
  'xsd:double': K.Float64,
  'xsd:string': K.Str,
  'xsd:dateTime': K.Time,
  'xsd:base64Binary': K.Bytes,
};

/** A polymorphic value: concrete type from xsi:type, else `fallback` (a struct plan) or null. */
function polymorphic(el: XmlElement, fallback: TypePlan | undefined): unknown {
  const t = xsiTypeOf(el);
  if (t === undefined) return fallback ? convStruct(el, fallback) : null;
  const xk = XSD_KIND[t];
  if (xk !== undefined) return scalar(xk, el);
  const r = lookupType(t);
  if (r === ENUM) return el.text;
  if (r !== null) return convStruct(el, r);
  if (t.startsWith('xsd:')) return null; // not in govmomi's xsd map
  return convGeneric(el, fallback);
}

function fieldValue(f: FieldPlan, el: XmlElement): unknown {
  switch (f.k) {
    case K.Struct:
      return convStruct(el, subPlan(f));
    case K.Iface:
      return polymorphic(el, subPlan(f));
    case K.Any:
      return polymorphic(el, undefined);
    default:
      return scalar(f.k, el);
  }
}

function convStruct(el: XmlElement, p: TypePlan): Record<string, unknown> {
  if (p.isMoRef) return moRef(el);
  const fields = p.fields;
  const n = fields.length;
  const vals: unknown[] = new Array(n);
  const kids = el.children;
  /** [field index, array index or -1, exact text] of values beyond 2^53 */
  let exact: [number, number, string][] | undefined;
  for (let j = 0; j < kids.length; j++) {
    const c = kids[j];
    const i = p.index.get(c.name);
    if (i === undefined) continue;
    const f = fields[i];
    const v = fieldValue(f, c);
    let at = -1;
    if (f.array) {
      const a = vals[i] as unknown[] | undefined;
      if (a === undefined) vals[i] = [v];
      else at = a.push(v) - 1;
      if (at < 0) at = 0;
    } else {
      vals[i] = v;
    }
    if (pendingExact !== undefined) {
      (exact ??= []).push([i, at, pendingExact]);
      pendingExact = undefined;
    }
  }
  if (p.attrFields.length > 0) {
    for (const i of p.attrFields) {
      const f = fields[i];
      const a = el.attrs[f.xml];
      if (a !== undefined) vals[i] = scalar(f.k, { name: f.xml, attrs: {}, children: [], text: a });
    }
  }
  if (p.chardata >= 0) vals[p.chardata] = scalar(fields[p.chardata].k, el);
  pendingExact = undefined;
  const o = p.build(vals, p.zero);
  if (exact !== undefined) {
    sawExact = true;
    for (const [i, at, text] of exact) {
      if (at < 0) recordExact(o, fields[i].json, text);
      else recordExact(vals[i] as unknown[], at, text);
    }
  }
  return o;
}

function upperFirst(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}

function genericValue(el: XmlElement): unknown {
  if (xsiTypeOf(el) !== undefined) return polymorphic(el, undefined);
  if (el.children.length > 0) return convGeneric(el, undefined);
  if (el.attrs.type !== undefined) return moRef(el);
  return el.text;
}

/** Generic conversion (see the module comment): base type's fields, then the rest by name. */
function convGeneric(el: XmlElement, base: TypePlan | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = base ? convStruct(el, base) : {};
  const groups = new Map<string, XmlElement[]>();
  for (const c of el.children) {
    if (base && base.index.has(c.name)) continue;
    const g = groups.get(c.name);
    if (g) g.push(c);
    else groups.set(c.name, [c]);
  }
  for (const [name, els] of groups) {
    o[upperFirst(name)] = els.length > 1 ? els.map(genericValue) : genericValue(els[0]);
  }
  return o;
}

// ---- public API ------------------------------------------------------------------

/**
 * Convert an XML element holding a value of vim25 type `typeName` (a struct,
 * enum, primitive code such as `int32`/`time`/`any`, or `xsd:*`), honouring an
 * `xsi:type` on the element for polymorphic values.
 */
export function convertValue(el: XmlElement, typeName: string): unknown {
  sawExact = false;
  pendingExact = undefined;
  const v = convertValueOf(el, typeName);
  if (sawExact && typeof v === 'object' && v !== null) markExactRoot(v);
  return v;
}

function convertValueOf(el: XmlElement, typeName: string): unknown {
  const prim = PRIM_KIND[typeName] ?? XSD_KIND[typeName];
  if (prim !== undefined) return prim === K.Any ? polymorphic(el, undefined) : scalar(prim, el);
  const declared = lookupType(typeName);
  if (declared === ENUM) return el.text;
  if (declared === null) throw new Error(`vim25: unknown type ${typeName}`);
  const t = xsiTypeOf(el);
  if (t !== undefined && t !== typeName) return polymorphic(el, declared);
  return convStruct(el, declared);
}

let eventPlan: TypePlan | undefined;

/** Convert one event element (`<returnval xsi:type="VmPoweredOnEvent">`, `<Event xsi:type=...>`). */
export function convertEvent(el: XmlElement): VimEvent {
  const xt = xsiTypeOf(el);
  let className = 'Event';
  if (xt !== undefined) {
    const i = xt.indexOf(':');
    className = i < 0 ? xt : xt.slice(i + 1);
  }
  const r = lookupType(className);
  let data: Record<string, unknown>;
  let known: boolean;
  sawExact = false;
  pendingExact = undefined;
  if (r !== null && r !== ENUM && isEventClass(r.name)) {
    data = convStruct(el, r);
    known = true;
  } else {
    data = convGeneric(el, (eventPlan ??= planOf('Event')));
    known = false;
  }
  if (sawExact) markExactRoot(data);
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
