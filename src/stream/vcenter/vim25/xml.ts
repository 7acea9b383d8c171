/**
 * A minimal XML element tree for SOAP replies.
 *
 * node-soap gives us the raw reply; we parse it once with fast-xml-parser
 * (much faster than node-soap's own sax-based object mapping) into this small
 * tree, and the vim25 converter walks it guided by the generated type model.
 * Namespace prefixes are stripped from element names; attributes keep their
 * qualified name (`xsi:type`), because the prefix of a type *value* matters
 * (`xsd:int` versus a vim25 type).
 */
import { XMLParser } from 'fast-xml-parser';

export interface XmlElement {
  /** Local name, namespace prefix removed (`returnval`, `key`). */
  name: string;
  /** Attributes by qualified name (`xsi:type`, `type`). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content (already entity-decoded). */
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type Ordered = Record<string, unknown>;

function localName(qualified: string): string {
  const i = qualified.indexOf(':');
  return i < 0 ? qualified : qualified.slice(i + 1);
}

function build(node: Ordered): XmlElement | undefined {
  let el: XmlElement | undefined;
  for (const key of Object.keys(node)) {
    if (key === ':@' || key === '#text') continue;
    el = { name: localName(key), attrs: {}, children: [], text: '' };
    const kids = node[key] as Ordered[];
    for (const kid of kids) {
      if ('#text' in kid) {
        el.text += String(kid['#text']);
        continue;
      }
      const c = build(kid);
      if (c) el.children.push(c);
    }
  }
  if (el && node[':@']) {
    el.attrs = node[':@'] as Record<string, string>;
  }
  return el;
}

/** Parse an XML document and return its root element. */
export function parseXml(xml: string): XmlElement {
  const doc = parser.parse(xml) as Ordered[];
  for (const n of doc) {
    const el = build(n);
    if (el) return el;
  }
  throw new Error('XML document has no root element');
}

/** First child with the given local name. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** All children with the given local name. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Text of the first child with the given name, or undefined. */
export function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text;
}

/** Depth-first search for the first descendant with the given local name. */
export function find(el: XmlElement, name: string): XmlElement | undefined {
  for (const c of el.children) {
    if (c.name === name) return c;
    const d = find(c, name);
    if (d) return d;
  }
  return undefined;
}

/** The `xsi:type` attribute with any namespace prefix kept (`xsd:int`, `VmPoweredOnEvent`). */
export function xsiType(el: XmlElement): string | undefined {
  for (const [k, v] of Object.entries(el.attrs)) {
    if (k === 'type' || k.endsWith(':type')) {
      if (k !== 'type') return v;
    }
  }
  return undefined;
}
