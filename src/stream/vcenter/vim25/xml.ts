/**
 * A minimal XML element tree for SOAP replies.
 *
 * The SOAP client (../soap/vim-client.ts) parses each raw reply once with
 * fast-xml-parser into this small tree, and the vim25 converter walks it
 * guided by the generated type model.
 * Namespace prefixes are stripped from element names; attributes keep their
 * qualified name (`xsi:type`), because the prefix of a type *value* matters
 * (`xsd:int` versus a vim25 type).
 */
import { XMLParser } from 'fast-xml-parser';
import {
  containerBudget,
  MAX_REPLY_NESTING,
  tooDeep,
  tooManyContainers,
  xmlStartTags,
} from '../../../util/reply-shape';

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
  htmlEntities: true,
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

// ---------------------------------------------------------------------------
// A dedicated, faster parser producing the same XmlElement tree.
//
// fast-xml-parser (parseXml above) caps the event pipeline at about 10k
// events/s on a 1,000-event reply; this single-pass scanner is several times
// faster. It handles what SOAP replies contain: the XML declaration,
// processing instructions, comments, CDATA, DOCTYPE (skipped, no internal
// entities), elements with single- or double-quoted attributes, and the five
// predefined entities plus decimal / hex character references (in text and
// attribute values). Element names lose their namespace prefix; attribute
// names keep theirs, as in parseXml. Text is concatenated as-is (no
// trimming), like parseXml. Malformed input throws.
// ---------------------------------------------------------------------------

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ENTITY_RE = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g;

function decodeEntity(m: string, body: string): string {
  if (body.charCodeAt(0) === 35 /* # */) {
    const cp = body.charCodeAt(1) === 120 /* x */ ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  }
  return NAMED_ENTITIES[body] ?? m;
}

function decodeText(s: string): string {
  return s.indexOf('&') < 0 ? s : s.replace(ENTITY_RE, decodeEntity);
}

function isNameEnd(c: number): boolean {
  // whitespace, '/', '>', '='
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62 || c === 61;
}

// Most elements have no attributes and many no children: they share these two
// (frozen, so that nothing can add to them) instead of an empty object and an
// empty array each, which made a reply's tree about a quarter larger.
const NO_ATTRS = Object.freeze({}) as Record<string, string>;
const NO_CHILDREN = Object.freeze([]) as unknown as XmlElement[];

/** Parse an XML document and return its root element (fast path, same tree as parseXml). */
export function parseXmlFast(xml: string): XmlElement {
  const n = xml.length;
  // Counted before anything is built: a reply packed with tiny elements costs many times its size as a tree.
  if (xmlStartTags(xml) > containerBudget(n)) throw new Error(`XML: ${tooManyContainers(n)}`);
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let cur: XmlElement | undefined;
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`XML: ${what} at offset ${i}`);
  };
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    if (end > i && cur) cur.text += decodeText(xml.slice(i, end));
    if (lt < 0) break;
    i = lt;
    const c1 = xml.charCodeAt(i + 1);
    if (c1 === 47 /* / */) {
      const gt = xml.indexOf('>', i);
      if (gt < 0 || !cur) fail('unexpected end tag');
      const qn = xml.slice(i + 2, gt).trim();
      const colon = qn.indexOf(':');
      if ((colon < 0 ? qn : qn.slice(colon + 1)) !== cur!.name) fail(`mismatched end tag </${qn}>`);
      stack.pop();
      cur = stack.length > 0 ? stack[stack.length - 1] : undefined;
      i = gt + 1;
      continue;
    }
    if (c1 === 63 /* ? */) {
      const e = xml.indexOf('?>', i + 2);
      if (e < 0) fail('unterminated processing instruction');
      i = e + 2;
      continue;
    }
    if (c1 === 33 /* ! */) {
      if (xml.startsWith('<!--', i)) {
        const e = xml.indexOf('-->', i + 4);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (xml.startsWith('<![CDATA[', i)) {
        const e = xml.indexOf(']]>', i + 9);
        if (e < 0) fail('unterminated CDATA');
        if (cur) cur.text += xml.slice(i + 9, e);
        i = e + 3;
      } else {
        // DOCTYPE: skip, including a bracketed internal subset
        const br = xml.indexOf('[', i);
        const gt = xml.indexOf('>', i);
        if (gt < 0) fail('unterminated declaration');
        i = br >= 0 && br < gt ? xml.indexOf(']>', br) + 2 : gt + 1;
        if (i < 2) fail('unterminated DOCTYPE');
      }
      continue;
    }
    // start tag
    let j = i + 1;
    while (j < n && !isNameEnd(xml.charCodeAt(j))) j++;
    const qn = xml.slice(i + 1, j);
    if (qn.length === 0) fail('empty element name');
    const colon = qn.indexOf(':');
    const el: XmlElement = {
      name: colon < 0 ? qn : qn.slice(colon + 1),
      attrs: NO_ATTRS,
      children: NO_CHILDREN,
      text: '',
    };
    let selfClose = false;
    for (;;) {
      let c = xml.charCodeAt(j);
      while (c === 32 || c === 9 || c === 10 || c === 13) c = xml.charCodeAt(++j);
      if (c === 62 /* > */) {
        j++;
        break;
      }
      if (c === 47 /* / */ && xml.charCodeAt(j + 1) === 62) {
        selfClose = true;
        j += 2;
        break;
      }
      if (j >= n) fail('unterminated start tag');
      const as = j;
      while (j < n && !isNameEnd(xml.charCodeAt(j))) j++;
      const an = xml.slice(as, j);
      c = xml.charCodeAt(j);
      while (c === 32 || c === 9 || c === 10 || c === 13) c = xml.charCodeAt(++j);
      if (c !== 61 /* = */ || an.length === 0) fail('malformed attribute');
      c = xml.charCodeAt(++j);
      while (c === 32 || c === 9 || c === 10 || c === 13) c = xml.charCodeAt(++j);
      if (c !== 34 && c !== 39) fail('unquoted attribute value');
      const close = xml.indexOf(c === 34 ? '"' : "'", j + 1);
      if (close < 0) fail('unterminated attribute value');
      if (el.attrs === NO_ATTRS) el.attrs = {};
      el.attrs[an] = decodeText(xml.slice(j + 1, close));
      j = close + 1;
    }
    if (cur) {
      if (cur.children === NO_CHILDREN) cur.children = [el];
      else cur.children.push(el);
    } else if (!root) root = el;
    else fail('second root element');
    if (!selfClose) {
      if (stack.length >= MAX_REPLY_NESTING) fail(tooDeep());
      stack.push(el);
      cur = el;
    }
    i = j;
  }
  if (stack.length > 0) fail(`unclosed element <${stack[stack.length - 1].name}>`);
  if (!root) throw new Error('XML document has no root element');
  return root;
}
