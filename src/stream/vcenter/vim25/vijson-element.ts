/**
 * A VI/JSON event seen as the SOAP element vCenter would have sent for it.
 *
 * Only for consumers that need the wire element rather than the converted
 * `data`: the `vsphere_source` dialect writes Go's `xml.Marshal` of the event
 * (go-xml.ts), which needs each polymorphic value's concrete type and each
 * value's own text. Guided by the model, so that `binary` values (base64 in
 * VI/JSON, the element text itself in SOAP) get their SOAP text back; the
 * events' hot path (convert-json.ts) never builds these elements.
 */
import type { XmlElement } from './xml';
import { allFields, isEnum, resolveTypeName, typeOf, type ModelField } from './model';
import { ExactInteger, isObject, type JsonObject } from './convert-json';

/** VI/JSON primitive `_typeName`s as the `xsi:type` of the same anyType value over SOAP. */
const XSD_OF: Record<string, string> = {
  boolean: 'xsd:boolean',
  byte: 'xsd:byte',
  short: 'xsd:short',
  int: 'xsd:int',
  long: 'xsd:long',
  float: 'xsd:float',
  double: 'xsd:double',
  string: 'xsd:string',
  dateTime: 'xsd:dateTime',
  binary: 'xsd:base64Binary',
};

function textOf(v: unknown, binary: boolean): string {
  if (v instanceof ExactInteger) return v.text;
  if (typeof v === 'string') return binary ? Buffer.from(v, 'base64').toString('utf8') : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function element(
  name: string,
  attrs: Record<string, string>,
  children: XmlElement[],
  text: string,
): XmlElement {
  return { name, attrs, children, text };
}

function structChildren(o: JsonObject, typeName: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const f of allFields(typeName)) {
    const v = o[f.xml];
    if (v === undefined || v === null) continue;
    if (f.array && Array.isArray(v)) for (const item of v) out.push(valueElement(f.xml, item, f));
    else out.push(valueElement(f.xml, v, f));
  }
  return out;
}

function genericChildren(o: JsonObject): XmlElement[] {
  const out: XmlElement[] = [];
  for (const key of Object.keys(o)) {
    if (key === '_typeName') continue;
    const v = o[key];
    if (Array.isArray(v)) for (const item of v) out.push(valueElement(key, item, undefined));
    else out.push(valueElement(key, v, undefined));
  }
  return out;
}

function valueElement(name: string, v: unknown, f: ModelField | undefined): XmlElement {
  if (!isObject(v)) return element(name, {}, [], textOf(v, f?.type === 'bytes'));
  const t = v._typeName;
  if (t === 'ManagedObjectReference')
    return element(name, { type: String(v.type ?? '') }, [], String(v.value ?? ''));
  if (typeof t !== 'string') {
    const declared = f && typeOf(f.type);
    return element(name, {}, declared ? structChildren(v, declared.name) : genericChildren(v), '');
  }
  const xsd = XSD_OF[t];
  if (xsd !== undefined) return element(name, { 'xsi:type': xsd }, [], textOf(v._value, t === 'binary'));
  const resolved = resolveTypeName(t);
  if (resolved !== undefined && isEnum(resolved))
    return element(name, { 'xsi:type': t }, [], textOf(v._value, false));
  if (resolved === undefined) return element(name, { 'xsi:type': t }, genericChildren(v), '');
  const items = v._value;
  if (Array.isArray(items)) {
    // ArrayOfX: the items are the elements of the type's one array field
    const field = allFields(resolved)[0];
    return element(
      name,
      { 'xsi:type': t },
      items.map((item) => valueElement(field.xml, item, field)),
      '',
    );
  }
  return element(name, { 'xsi:type': t }, structChildren(v, resolved), '');
}

/** The SOAP element of a VI/JSON event object (`<returnval xsi:type="VmPoweredOnEvent">...`). */
export function elementOfViJson(o: JsonObject): XmlElement {
  return valueElement('returnval', o, undefined);
}
