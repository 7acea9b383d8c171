/**
 * The SOAP requests the router sends are the ones node-soap sent from the
 * vim25 WSDL subset before the router wrote its own envelopes
 * (src/stream/vcenter/soap/envelope.ts). fixtures/soap-exchanges.json holds
 * every request node-soap made for each vim25 method the SOAP transport calls,
 * recorded against the govmomi simulator with the simulator's replies (see
 * fixtures/README.md). A
 * peer here replays those replies in order while the transport makes the same
 * calls, and each request must carry the same XML: the same element tree
 * (names with their namespaces, order, `type` attributes, text, escaping of
 * the Login password and of managed object references), the same
 * SOAPAction, Content-Type and session cookie.
 *
 * Accepted differences, none of which a vCenter reads: the namespace
 * prefixes (node-soap wrote `vim25:Login` with `xmlns:vim25="urn:vim25"` and
 * declared the unused `xmlns:interface`; the router writes the vim25
 * namespace as the default one, as govmomi does), and node-soap's extra
 * headers (User-Agent `node-soap/<version>`, Accept, Accept-Encoding `none`,
 * Accept-Charset), which the router's WaitForUpdatesEx never sent either.
 * One deliberate difference: node-soap sent a value that starts with
 * `<![CDATA[` and ends with `]]>` unescaped (as markup); the router sends
 * every value as its text.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { soapRequest } from '../../../src/stream/vcenter/soap/envelope';
import { SoapTransport } from '../../../src/stream/vcenter/soap/soap-transport';
import { VimFault } from '../../../src/stream/vcenter/transport';

interface Recorded {
  call: string;
  args: unknown[];
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  reply: { status: number; headers: Record<string, string | string[]>; body: string };
}
const exchanges = JSON.parse(
  readFileSync(path.join(__dirname, 'fixtures', 'soap-exchanges.json'), 'utf8'),
) as Recorded[];

/** An element with its namespace resolved: what an XML reader sees, whatever the prefixes. */
interface Canonical {
  name: string;
  attrs: Record<string, string>;
  content: (Canonical | string)[];
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
});

type Ordered = Record<string, unknown>;

function resolve(qualified: string, scope: Map<string, string>, isAttribute: boolean): string {
  const i = qualified.indexOf(':');
  const prefix = i < 0 ? '' : qualified.slice(0, i);
  const local = i < 0 ? qualified : qualified.slice(i + 1);
  // An unprefixed attribute is in no namespace; an unprefixed element in the default one.
  if (isAttribute && prefix === '') return local;
  const ns = scope.get(prefix);
  if (prefix !== '' && ns === undefined) throw new Error(`undeclared prefix ${prefix}`);
  return `{${ns ?? ''}}${local}`;
}

function canonicalNode(node: Ordered, outer: Map<string, string>): Canonical | string {
  if ('#text' in node) return String(node['#text']);
  const tag = Object.keys(node).find((k) => k !== ':@')!;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const scope = new Map(outer);
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns') scope.set('', v);
    else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
  }
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs).sort(([a], [b]) => a.localeCompare(b))) {
    if (k !== 'xmlns' && !k.startsWith('xmlns:')) attrs[resolve(k, scope, true)] = v;
  }
  const content = (node[tag] as Ordered[]).map((kid) => canonicalNode(kid, scope));
  return { name: resolve(tag, scope, false), attrs, content };
}

/**
 * What an XML reader makes of raw line ends and attribute whitespace, which
 * fast-xml-parser leaves alone: a raw CR or CR LF reads as LF, a raw tab, CR
 * or LF in an attribute value as a space (character references are kept).
 * The attribute pass assumes no `="` in text, as in every envelope here
 * (both writers escape `"` in text).
 */
function normalized(xml: string): string {
  return xml.replace(/\r\n?/g, '\n').replace(/="[^"<]*"/g, (attr) => attr.replace(/[\t\n]/g, ' '));
}

/** The document's element tree, namespace declarations resolved and dropped. */
function canonical(xml: string): Canonical | string {
  const doc = parser.parse(normalized(xml)) as Ordered[];
  expect(doc).toHaveLength(1);
  return canonicalNode(doc[0], new Map());
}

/** The XML declaration, which the tree leaves out. */
const declaration = (xml: string): string | undefined => /^<\?xml[^>]*\?>/.exec(xml)?.[0];

/** Every call the recording made, by the transport method's name, with its recorded arguments. */
function callOf(t: SoapTransport, name: string, args: unknown[]): Promise<unknown> {
  const method = (t as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
  if (typeof method !== 'function') throw new Error(`no transport method ${name}`);
  return method.apply(t, args);
}

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('the comparison', () => {
  test('ignores prefixes and namespace declarations, sees every namespace, name, attribute and text', () => {
    const a = '<?xml version="1.0"?><p:A xmlns:p="urn:x" xmlns:q="urn:unused"><p:b t="1">v&amp;</p:b></p:A>';
    expect(canonical('<A xmlns="urn:x"><b t="1">v&amp;</b></A>')).toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:y"><b t="1">v&amp;</b></A>')).not.toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:x"><b xmlns="" t="1">v&amp;</b></A>')).not.toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:x"><c t="1">v&amp;</c></A>')).not.toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:x"><b t="2">v&amp;</b></A>')).not.toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:x"><b>v&amp;</b></A>')).not.toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:x"><b t="1">v&amp; </b></A>')).not.toEqual(canonical(a));
    expect(canonical('<A xmlns="urn:x"><b t="1">v&#xD;</b></A>')).not.toEqual(
      canonical('<A xmlns="urn:x"><b t="1">v&#xA;</b></A>'),
    );
    expect(canonical('<A xmlns="urn:x"><b/><c/></A>')).not.toEqual(
      canonical('<A xmlns="urn:x"><c/><b/></A>'),
    );
    // Character references are their characters; raw line ends and attribute whitespace are not.
    expect(canonical('<A><b t="&#x9;">&#xD;</b></A>')).toEqual(canonical('<A><b t="&#9;">&#13;</b></A>'));
    expect(canonical('<A><b>\r\n</b></A>')).not.toEqual(canonical('<A><b>&#xD;&#xA;</b></A>'));
    expect(canonical('<A><b>\r\n</b></A>')).toEqual(canonical('<A><b>&#xA;</b></A>'));
    expect(canonical('<A><b t="\t"/></A>')).not.toEqual(canonical('<A><b t="&#x9;"/></A>'));
  });
});

describe('SOAP requests, as node-soap sent them', () => {
  test('the recording covers every vim25 method the SOAP transport calls', () => {
    const methods = new Set(
      exchanges.map((e) => /<(?:\w+:)?Body>\s*<(?:\w+:)?(\w+)/.exec(e.request.body)?.[1]),
    );
    expect([...methods].sort()).toEqual(
      [
        'CreateCollectorForEvents',
        'CreateFilter',
        'CurrentTime',
        'DestroyCollector',
        'Login',
        'Logout',
        'ReadPreviousEvents',
        'ResetCollector',
        'RetrievePropertiesEx',
        'RetrieveServiceContent',
        'SetCollectorPageSize',
        'WaitForUpdatesEx',
      ].sort(),
    );
    const calls = new Set(exchanges.map((e) => e.call));
    const transportMethods = Object.getOwnPropertyNames(SoapTransport.prototype).filter(
      (m) =>
        !['constructor', 'resetSession', 'hasSession', 'abortAll', 'close', 'retrieveProperty'].includes(m),
    );
    expect([...calls].sort()).toEqual(transportMethods.sort());
  });

  test('each call sends the same envelope, SOAPAction, Content-Type and cookie', async () => {
    const received: Received[] = [];
    let next = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const reply = exchanges[next++].reply;
        const headers: http.OutgoingHttpHeaders = { 'Content-Type': reply.headers['content-type'] };
        if (reply.headers['set-cookie']) headers['Set-Cookie'] = reply.headers['set-cookie'];
        res.writeHead(reply.status, headers).end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const t = new SoapTransport(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`, {
      insecure: false,
      timeoutMs: 5000,
    });
    try {
      for (const [i, e] of exchanges.entries()) {
        const outcome = await callOf(t, e.call, e.args).then(
          () => 'answered',
          (err: unknown) => (err instanceof VimFault ? 'fault' : err),
        );
        expect({ call: e.call, outcome }).toEqual({
          call: e.call,
          outcome: e.reply.status === 200 ? 'answered' : 'fault',
        });
        const sent = received[i];
        expect({ call: e.call, method: sent.method, url: sent.url }).toEqual({
          call: e.call,
          method: e.request.method,
          url: e.request.url,
        });
        expect(declaration(sent.body)).toBe(declaration(e.request.body));
        expect({ call: e.call, tree: canonical(sent.body) }).toEqual({
          call: e.call,
          tree: canonical(e.request.body),
        });
        for (const h of ['soapaction', 'content-type', 'cookie']) {
          expect({ call: e.call, [h]: sent.headers[h] }).toEqual({ call: e.call, [h]: e.request.headers[h] });
        }
        expect(Number(sent.headers['content-length'])).toBe(Buffer.byteLength(sent.body));
      }
      expect(received).toHaveLength(exchanges.length);
    } finally {
      t.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the envelope writer', () => {
  test('sends every value as its text, whatever characters it holds', () => {
    const odd = ['<![CDATA[pw]]>', 'a<b>&c"d\'e', ' \t\r\n ', ']]>', 'ü€😀', '&amp;'];
    for (const value of odd) {
      const xml = soapRequest('Login', { type: value, value }, [['password', value]]);
      const login = ((canonical(xml) as Canonical).content[0] as Canonical).content[0] as Canonical;
      expect(login.content).toEqual([
        { name: '{urn:vim25}_this', attrs: { type: value }, content: [value] },
        { name: '{urn:vim25}password', attrs: {}, content: [value] },
      ]);
    }
  });
});
