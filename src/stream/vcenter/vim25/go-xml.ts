/**
 * Go's `encoding/xml.Marshal` of a govmomi vim25 value, computed from the
 * SOAP element the value was decoded from, guided by the generated model.
 *
 * Why: VSphereSource (sources-for-knative) hands each govmomi event to the Go
 * CloudEvents SDK with its default payload encoding `application/xml`, whose
 * codec is the standard library's `xml.Marshal`. To give Knative consumers the
 * same `data`, we reproduce that encoder's rules for govmomi's structs:
 *
 *  - the root element is the Go type name (`<VmPoweredOnEvent>`), without a
 *    namespace or `xsi:type`; every other element is named by its field tag;
 *  - fields come in declaration order with embedded structs flattened
 *    base-first (the same order as govmomi's JSON);
 *  - nil pointers, nil interfaces and empty slices emit nothing; a field
 *    tagged `omitempty` is skipped when "", 0, false (structs, time.Time
 *    included, are never empty); other zero values are written (`<message></message>`,
 *    a zero struct with its own non-omitempty fields);
 *  - `,attr` fields are attributes (`<vm type="VirtualMachine">vm-1</vm>`),
 *    `,chardata` the element text; govmomi's `typeattr` option is unknown to
 *    the standard encoder, so polymorphic values carry no type;
 *  - values: integers in decimal, booleans `true`/`false`, floats as
 *    strconv.FormatFloat(f, 'g', -1, bits), time.Time as RFC 3339 with
 *    nanoseconds, []byte as its text; text escaped like Go's EscapeText
 *    (`"` -> `&#34;`, `'` -> `&#39;`, tab/newline/CR as `&#x9;`/`&#xA;`/`&#xD;`);
 *    Go never writes a self-closing tag.
 *
 * The reference is test/harness (vctool prints Go's xml.Marshal of the same
 * events): test/e2e/vsphere-source.test.ts compares every event class.
 */
import type { XmlElement } from './xml';
import { allFields, isEnum, resolveTypeName, typeOf, type ModelField } from './model';
import { formatTime, ZERO_TIME } from './convert';

const INTS = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);

/** xsd types an anyType value may carry, as the Go primitive govmomi decodes them into. */
const XSD_PRIM: Record<string, string> = {
  'xsd:boolean': 'bool',
  'xsd:byte': 'int8',
  'xsd:short': 'int16',
  'xsd:int': 'int32',
  'xsd:long': 'int64',
  'xsd:unsignedByte': 'uint8',
  'xsd:unsignedShort': 'uint16',
  'xsd:unsignedInt': 'uint32',
  'xsd:unsignedLong': 'uint64',
  'xsd:float': 'float32',
  'xsd:double': 'float64',
  'xsd:string': 'string',
  'xsd:dateTime': 'time',
  'xsd:base64Binary': 'bytes',
};

/** Go's escapeText (encoding/xml), which Marshal uses for text and attribute values alike. */
export function goEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '&#34;';
        break;
      case "'":
        out += '&#39;';
        break;
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '\t':
        out += '&#x9;';
        break;
      case '\n':
        out += '&#xA;';
        break;
      case '\r':
        out += '&#xD;';
        break;
      default: {
        const valid =
          (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
        out += valid ? ch : '\uFFFD';
      }
    }
  }
  return out;
}

/** strconv.FormatFloat(f, 'g', -1, bits). */
export function goFormatFloat(f: number, bits: 32 | 64): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // shortest decimal digits that read back as the same float32/float64
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 17; p++) {
    const e = Math.abs(f).toExponential(p - 1);
    const back = Number((f < 0 ? '-' : '') + e);
    if ((bits === 32 ? Math.fround(back) : back) === f) {
      const [mant, ex] = e.split('e');
      digits = mant.replace('.', '');
      exp = Number(ex);
      break;
    }
  }
  digits = digits.replace(/0+$/, '') || '0';
  const sign = f < 0 ? '-' : '';
  // shortest 'g': exponent form when the decimal exponent is < -4 or >= 6 (Go's eprec for shortest)
  const eprec = 6;
  if (exp < -4 || exp >= eprec) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

function parseGoBool(s: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s.trim());
}

/** A primitive's text as Go writes it, and whether it is the zero value (for omitempty). */
function primitive(type: string, text: string): { text: string; empty: boolean } {
  if (INTS.has(type)) {
    let v: bigint;
    try {
      v = BigInt(text.trim());
    } catch {
      v = 0n;
    }
    return { text: v.toString(), empty: v === 0n };
  }
  switch (type) {
    case 'bool': {
      const b = parseGoBool(text);
      return { text: b ? 'true' : 'false', empty: !b };
    }
    case 'float32':
    case 'float64': {
      const raw = Number(text.trim());
      const f = type === 'float32' ? Math.fround(raw) : raw;
      return { text: goFormatFloat(f, type === 'float32' ? 32 : 64), empty: f === 0 };
    }
    case 'time':
      return { text: formatTime(text), empty: false };
    default:
      // string, enums, []byte (govmomi keeps the element's text as the bytes)
      return { text: goEscape(text), empty: text === '' };
  }
}

function zeroText(type: string): { text: string; empty: boolean } {
  if (INTS.has(type) || type === 'float32' || type === 'float64') return { text: '0', empty: true };
  if (type === 'bool') return { text: 'false', empty: true };
  if (type === 'time') return { text: ZERO_TIME, empty: false };
  return { text: '', empty: true };
}

function xsiTypeOf(el: XmlElement): string | undefined {
  const v = el.attrs['xsi:type'];
  if (v !== undefined) return v;
  for (const k in el.attrs) if (k.endsWith(':type')) return el.attrs[k];
  return undefined;
}

/** govmomi's `,attr` decoding matches any attribute with that local name; the last one wins. */
function attrValue(el: XmlElement | undefined, name: string): string | undefined {
  if (!el) return undefined;
  let v: string | undefined;
  for (const k in el.attrs) if (k === name || k.endsWith(':' + name)) v = el.attrs[k];
  return v;
}

function structXml(el: XmlElement | undefined, typeName: string, elemName: string): string {
  const fields = allFields(typeName);
  let attrs = '';
  let body = '';
  const byName = new Map<string, XmlElement[]>();
  if (el) {
    for (const c of el.children) {
      const l = byName.get(c.name);
      if (l) l.push(c);
      else byName.set(c.name, [c]);
    }
  }
  for (const f of fields) {
    if (f.attr) {
      const raw = attrValue(el, f.xml);
      const v = raw === undefined ? zeroText(f.type) : primitive(f.type, raw);
      if (!(f.omitempty && v.empty)) attrs += ` ${f.xml}="${v.text}"`;
    } else if (f.chardata) {
      body += el ? primitive(f.type, el.text).text : zeroText(f.type).text;
    } else {
      const els = byName.get(f.xml);
      if (f.array) {
        for (const c of els ?? []) body += valueXml(f, c);
      } else if (els) {
        // a repeated element overwrites the field when decoded: the last one is the value
        body += valueXml(f, els[els.length - 1]);
      } else {
        body += absentXml(f);
      }
    }
  }
  return `<${elemName}${attrs}>${body}</${elemName}>`;
}

/** A field not on the wire: Go writes its zero value unless nil or omitempty. */
function absentXml(f: ModelField): string {
  if (f.pointer || f.iface || f.type === 'any') return '';
  if (typeOf(f.type) && !isEnum(f.type)) return structXml(undefined, typeOf(f.type)!.name, f.xml);
  const z = zeroText(f.type);
  if (f.omitempty && z.empty) return '';
  return `<${f.xml}>${z.text}</${f.xml}>`;
}

function valueXml(f: ModelField, c: XmlElement): string {
  if (f.iface || f.type === 'any') return polymorphicXml(c, f.xml, f.type === 'any' ? undefined : f.type);
  const t = typeOf(f.type);
  if (t && !isEnum(f.type)) return structXml(c, t.name, f.xml);
  const v = primitive(f.type, c.text);
  // a pointer that is set is written even when it points at a zero value
  if (f.omitempty && v.empty && !f.pointer) return '';
  return `<${f.xml}>${v.text}</${f.xml}>`;
}

/** An interface value: its concrete type comes from xsi:type (else the declared base struct). */
function polymorphicXml(c: XmlElement, name: string, base: string | undefined): string {
  const wire = xsiTypeOf(c);
  if (wire !== undefined) {
    const prim = XSD_PRIM[wire];
    if (prim !== undefined) return `<${name}>${primitive(prim, c.text).text}</${name}>`;
    const resolved = resolveTypeName(wire);
    if (resolved !== undefined && isEnum(resolved)) return `<${name}>${goEscape(c.text)}</${name}>`;
    if (resolved !== undefined) return structXml(c, resolved, name);
    if (wire.startsWith('xsd:')) return '';
  }
  return base ? structXml(c, typeOf(base)!.name, name) : '';
}

/**
 * `xml.Marshal(event)` of the event decoded from `el` (`className` from its
 * xsi:type). A class unknown to the model is written with the Event fields only.
 */
export function marshalEventXml(el: XmlElement, className: string): string {
  const resolved = resolveTypeName(className);
  const typeName = resolved !== undefined && !isEnum(resolved) ? resolved : 'Event';
  return structXml(el, typeName, className);
}
