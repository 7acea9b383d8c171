/**
 * vim25 XML -> govmomi-compatible JSON.
 *
 * Produces, for an event element of a SOAP reply, the object that govmomi's
 * `json.Marshal` prints for the same event after govmomi's XML decoder read it
 * (that JSON is the CloudEvent data of the original router, which functions
 * in the field parse). The rules, checked against govmomi 0.24's
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
import { isEventClass } from './model';
import { markExactRoot } from '../../../util/exact-json';
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
  parseNum,
  parseSigned,
  parseUint,
  PRIM_KIND,
  subPlan,
  upperFirst,
  vimEvent,
  type ExactValue,
  type FieldPlan,
  type TypePlan,
  type VimEvent,
} from './plan';

export { formatTime, ZERO_TIME, type VimEvent } from './plan';

// ---- XML reading ---------------------------------------------------------------

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
  let exacts: ExactValue[] | undefined;
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
    if (exact.pending !== undefined) {
      (exacts ??= []).push([i, at, exact.pending]);
      exact.pending = undefined;
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
  exact.pending = undefined;
  return buildObject(p, vals, exacts);
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
  exact.saw = false;
  exact.pending = undefined;
  const v = convertValueOf(el, typeName);
  if (exact.saw && typeof v === 'object' && v !== null) markExactRoot(v);
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

/** Convert one event element (`<returnval xsi:type="VmPoweredOnEvent">`, `<Event xsi:type=...>`). */
export function convertEvent(el: XmlElement): VimEvent {
  const xt = xsiTypeOf(el);
  let className = 'Event';
  if (xt !== undefined) {
    const i = xt.indexOf(':');
    className = i < 0 ? xt : xt.slice(i + 1);
  }
  const r = lookupType(className);
  exact.saw = false;
  exact.pending = undefined;
  if (r !== null && r !== ENUM && isEventClass(r.name)) return vimEvent(className, convStruct(el, r), true);
  return vimEvent(className, convGeneric(el, eventPlan()), false);
}
