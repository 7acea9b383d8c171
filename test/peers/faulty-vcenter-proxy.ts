/**
 * An HTTP proxy in front of the govmomi simulator that injects the failures a
 * real vCenter or its network produce: HTTP 500 without a SOAP body, a SOAP
 * fault, a truncated or malformed reply, a stalled reply, a redirect, and rewritten
 * replies (an event class the router does not know), and the hostile peers of
 * issue 17: an empty reply at once, a fault echoing the request, an oversized
 * reply. Rules apply to the next N requests whose SOAP method matches.
 *
 * It also plays the vCenter of a least-privilege service account, and a
 * vCenter whose collectors stop reporting (`EventsView`):
 * - `hide`: events the user may not see are filtered out of every reply that
 *   carries events (RetrievePropertiesEx, WaitForUpdatesEx, ReadNextEvents,
 *   ReadPreviousEvents), as a vCenter's collector skips them;
 * - `keyOffset`: event keys (and chain ids) are shifted, as if the
 *   simulator's counter had started near 2^31 − 1 (int32, wrapping);
 * - `EventManager.latestEvent`, which the simulator never sets, is answered
 *   with its newest event (hidden or not, as a vCenter's EventManager knows it);
 * - the pages of the router's collectors (RetrievePropertiesEx of
 *   `latestPage`) and ReadPreviousEvents after ResetCollector are answered
 *   from the events the proxy recorded, visible ones only: a page holds the
 *   newest events the user may see, and the history goes back past the
 *   simulator's 1,000-event ring (its ReadPreviousEvents only re-reads its page);
 * - `dropUpdates`: from then on WaitForUpdatesEx replies carry no event and
 *   the collectors created so far report no newer event in their page.
 * All of this needs `record(username, password)`: the proxy's own session on
 * the simulator, recording its events (see `record`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'http500' }
  | { kind: 'soapFault'; faultType: string; message: string }
  | { kind: 'truncate' }
  | { kind: 'malformed' }
  | { kind: 'stall' }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'rewrite'; from: string; to: string }
  /** 200 at once with an empty `...Response` (no `returnval`): WaitForUpdatesEx as a broken proxy answers it. */
  | { kind: 'empty' }
  /** 500 with a SOAP fault whose faultstring quotes the request body (XML-escaped, `escapes` times). */
  | { kind: 'echo'; escapes?: number }
  /** 200 with a well-formed SOAP reply of `bytes` bytes, streamed (never held in memory). */
  | { kind: 'huge'; bytes: number };

interface Rule {
  method: string;
  remaining: number;
  fault: Fault;
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const envelope = (inner: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;

/**
 * The text of the first `name` element of a request (node-soap prefixes the
 * elements, Go does not), optionally only one whose `type` attribute is `type`.
 */
function requestValue(request: string, name: string, type?: string): string | undefined {
  const attrs = type ? `\\s[^>]*\\btype="${type}"[^>]*` : '(?:\\s[^>]*)?';
  return new RegExp(`<(?:[\\w-]+:)?${name}${attrs}>([^<]*)</(?:[\\w-]+:)?${name}>`).exec(request)?.[1];
}

/** One event as the simulator wrote it: its class and its element's content. */
interface RecordedEvent {
  key: number;
  type: string;
  inner: string;
}

/** The events in `xml` (`<Event XMLSchema-instance:type="T">...</Event>`, as in latestPage values). */
function eventsIn(xml: string): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  for (const m of xml.matchAll(/<Event XMLSchema-instance:type="([^"]+)">([\s\S]*?)<\/Event>/g))
    out.push({ type: m[1], inner: m[2], key: Number(/<key>(-?\d+)<\/key>/.exec(m[2])?.[1]) });
  return out;
}

/** What the proxy changes in the events the router sees. */
export interface EventsView {
  /** The events the router's user may not see (by simulator key and class). */
  hide?: (e: { key: number; type: string }) => boolean;
  /** Added to every event key the router sees (int32 arithmetic: it wraps past 2^31 − 1). */
  keyOffset?: number;
}

export class FaultyVCenterProxy {
  private view: EventsView = {};
  /** The proxy's own session and one-event collector on the simulator (see `record`). */
  private recorder?: { cookie: string; collector: string };
  /** Every event the simulator posted since `record`, by key. */
  private readonly history = new Map<number, RecordedEvent>();
  /** Per collector of the router: its page size, the oldest key of the last page it was sent, where ReadPreviousEvents is. */
  private readonly pages = new Map<string, { size: number; oldest?: number; cursor?: number }>();
  /** After `dropUpdates`: the newest key then, and the collectors that existed. */
  private dropped?: { after: number; collectors: Set<string> };
  private server?: http.Server;
  private rules: Rule[] = [];
  private stalled = new Set<http.ServerResponse>();
  /** Every SOAP method seen, in order. */
  readonly methods: string[] = [];
  /** When each of `methods` arrived (Date.now()). */
  readonly times: number[] = [];
  /** Bytes of `huge` replies written so far. */
  hugeBytesSent = 0;
  /** Faults actually injected, per method. */
  readonly injected: Array<{ method: string; kind: string }> = [];

  constructor(private readonly target: URL) {}

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}/sdk`;
  }

  /** Apply `fault` to the next `count` requests for `method` (`*` for any). */
  inject(method: string, fault: Fault, count = 1): void {
    this.rules.push({ method, remaining: count, fault });
  }

  /** Change what the router's user sees (see EventsView). */
  setView(view: EventsView): void {
    this.view = view;
  }

  /** Router keys of a simulator key (the key offset, int32). */
  routerKey(simKey: number): number {
    return (simKey + (this.view.keyOffset ?? 0)) | 0;
  }

  /** From now on, no update carries an event, and the collectors there are now stop at the newest event. */
  async dropUpdates(): Promise<void> {
    const newest = await this.sync();
    this.dropped = { after: newest?.key ?? 0, collectors: new Set(this.pages.keys()) };
  }

  /** Updates carry events again. */
  restoreUpdates(): void {
    this.dropped = undefined;
  }

  /**
   * Start recording the simulator's events with an own session (its Login posts one
   * UserLoginSessionEvent) and a collector whose page is the simulator's whole ring
   * (1,000 events). The record is brought up to date before every answer that needs it
   * and by `sync`: between two, the simulator must not post more than 1,000 events.
   * (Updates cannot keep it: the simulator sends them to the newest session only.)
   */
  async record(username: string, password: string): Promise<void> {
    const login = await this.call(
      `<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>${username}</userName><password>${password}</password></Login>`,
    );
    const cookie = /vmware_soap_session=[^;]*/.exec(String(login.headers['set-cookie'] ?? ''))?.[0];
    if (!cookie) throw new Error('the recorder could not log in to the simulator');
    const created = await this.call(
      `<CreateCollectorForEvents xmlns="urn:vim25"><_this type="EventManager">EventManager</_this><filter><maxCount>1000</maxCount></filter></CreateCollectorForEvents>`,
      cookie,
    );
    const collector = /<returnval[^>]*>([^<]*)<\/returnval>/.exec(created.body)![1];
    this.recorder = { cookie, collector };
    await this.sync();
  }

  /** Record the simulator's newest events; resolves to the newest. */
  async sync(): Promise<RecordedEvent | undefined> {
    const rec = this.recorder;
    if (!rec) throw new Error('the proxy records no events: call record() first');
    const r = await this.call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>EventHistoryCollector</type><pathSet>latestPage</pathSet></propSet><objectSet><obj type="EventHistoryCollector">${rec.collector}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>`,
      rec.cookie,
    );
    const page = eventsIn(r.body);
    for (const e of page) this.history.set(e.key, e);
    return page.reduce<RecordedEvent | undefined>((a, e) => (a && a.key > e.key ? a : e), undefined);
  }

  /** The event with its key shifted by the offset, as a `tag` element that carries its own xsi:type. */
  private eventElement(tag: string, e: RecordedEvent): string {
    return `<${tag} xmlns:XMLSchema-instance="${XSI}" XMLSchema-instance:type="${e.type}">${this.shiftKeys(e.inner)}</${tag}>`;
  }

  private shiftKeys(inner: string): string {
    if (!this.view.keyOffset) return inner;
    return inner
      .replace(/<key>(-?\d+)<\/key>/, (_m, k: string) => `<key>${this.routerKey(Number(k))}</key>`)
      .replace(
        /<chainId>(-?\d+)<\/chainId>/,
        (_m, k: string) => `<chainId>${this.routerKey(Number(k))}</chainId>`,
      );
  }

  /** May the router see this event in a reply about `collector` (undefined: not about one)? */
  private visible(e: { key: number; type: string }, method: string, collector: string | undefined): boolean {
    const simKey = e.key;
    if (this.view.hide?.(e)) return false;
    const d = this.dropped;
    if (!d || simKey <= d.after) return true;
    if (method === 'WaitForUpdatesEx') return false;
    return !(collector !== undefined && d.collectors.has(collector));
  }

  /** The reply as the router's user sees it: hidden events out, keys shifted, pages noted. */
  private viewReply(method: string, xml: string): string {
    const filterEvents = (block: string, collector: string | undefined): string => {
      const kept: number[] = [];
      const out = block.replace(
        /<Event XMLSchema-instance:type="([^"]+)">([\s\S]*?)<\/Event>/g,
        (_m, type: string, inner: string) => {
          const key = Number(/<key>(-?\d+)<\/key>/.exec(inner)?.[1]);
          if (!this.visible({ key, type }, method, collector)) return '';
          kept.push(key);
          return `<Event XMLSchema-instance:type="${type}">${this.shiftKeys(inner)}</Event>`;
        },
      );
      return out;
    };
    if (method === 'RetrievePropertiesEx' || method === 'WaitForUpdatesEx')
      return xml.replace(/<(objects|objectSet)>([\s\S]*?)<\/\1>/g, (_m, tag: string, block: string) => {
        const collector = /<obj type="EventHistoryCollector">([^<]*)<\/obj>/.exec(block)?.[1];
        return `<${tag}>${filterEvents(block, collector)}</${tag}>`;
      });
    if (method === 'ReadNextEvents' || method === 'ReadPreviousEvents')
      return xml.replace(/<returnval([^>]*)>([\s\S]*?)<\/returnval>/g, (m, attrs: string, inner: string) => {
        const key = Number(/<key>(-?\d+)<\/key>/.exec(inner)?.[1]);
        const type = /XMLSchema-instance:type="([^"]+)"/.exec(attrs)?.[1] ?? '';
        return this.visible({ key, type }, method, undefined)
          ? `<returnval${attrs}>${this.shiftKeys(inner)}</returnval>`
          : '';
      });
    return xml;
  }

  /** Answered by the proxy itself (see the module comment), or undefined to forward. */
  private async answer(method: string, request: string): Promise<string | undefined> {
    if (!this.recorder) return undefined;
    const self = requestValue(request, '_this') ?? '';
    if (method === 'RetrievePropertiesEx' && requestValue(request, 'pathSet') === 'latestEvent') {
      const newest = await this.sync();
      const val = newest
        ? `<propSet><name>latestEvent</name>${this.eventElement('val', newest)}</propSet>`
        : '';
      return envelope(
        `<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="EventManager">EventManager</obj>${val}</objects></returnval></RetrievePropertiesExResponse>`,
      );
    }
    const pageOf = requestValue(request, 'obj', 'EventHistoryCollector');
    if (method === 'RetrievePropertiesEx' && pageOf !== undefined && this.pages.has(pageOf)) {
      const page = this.pages.get(pageOf)!;
      const events = (await this.visibleHistory(method, pageOf)).slice(0, page.size);
      page.oldest = events.at(-1)?.key;
      const val = events
        .map((e) => `<Event XMLSchema-instance:type="${e.type}">${this.shiftKeys(e.inner)}</Event>`)
        .join('');
      return envelope(
        `<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="EventHistoryCollector">${pageOf}</obj><propSet><name>latestPage</name><val xmlns:XMLSchema-instance="${XSI}" XMLSchema-instance:type="ArrayOfEvent">${val}</val></propSet></objects></returnval></RetrievePropertiesExResponse>`,
      );
    }
    if (method === 'SetCollectorPageSize' && this.pages.has(self))
      this.pages.get(self)!.size = Number(requestValue(request, 'maxCount') ?? 10);
    if (method === 'ResetCollector' && this.pages.has(self)) {
      const page = this.pages.get(self)!;
      page.cursor = page.oldest;
      return undefined;
    }
    if (method === 'ReadPreviousEvents' && this.pages.get(self)?.cursor !== undefined) {
      const page = this.pages.get(self)!;
      const max = Number(requestValue(request, 'maxCount') ?? 1);
      const older = (await this.visibleHistory(method, self))
        .filter((e) => e.key < page.cursor!)
        .slice(0, max);
      if (older.length) page.cursor = older[older.length - 1].key;
      return envelope(
        `<ReadPreviousEventsResponse xmlns="urn:vim25">${older.map((e) => this.eventElement('returnval', e)).join('')}</ReadPreviousEventsResponse>`,
      );
    }
    return undefined;
  }

  /** The recorded events the router may see through `collector`, newest first, up to the simulator's newest. */
  private async visibleHistory(method: string, collector: string): Promise<RecordedEvent[]> {
    await this.sync();
    return [...this.history.values()]
      .filter((e) => this.visible(e, method, collector))
      .sort((a, b) => b.key - a.key);
  }

  /**
   * WaitForUpdatesEx as the router's user sees it: an update whose every event
   * is hidden (or dropped) is no update, so the wait goes on (upstream again,
   * for the rest of the wait time) and ends empty when the time is up, as a
   * vCenter's does. The first call (version "") answers at once with the state.
   */
  private async visibleUpdate(
    req: http.IncomingMessage,
    request: string,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const deadline = Date.now() + Number(requestValue(request, 'maxWaitSeconds') ?? 0) * 1000;
    let body = request;
    for (;;) {
      const upstream = await this.forward(req, Buffer.from(body));
      const text = upstream.body.toString('utf8');
      if (requestValue(request, 'version') === '' || eventsIn(text).length === 0) return upstream;
      if (eventsIn(this.viewReply('WaitForUpdatesEx', text)).length > 0) return upstream;
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0)
        return {
          status: 200,
          headers: { 'content-type': 'text/xml; charset=utf-8' },
          body: Buffer.from(
            envelope('<WaitForUpdatesExResponse xmlns="urn:vim25"></WaitForUpdatesExResponse>'),
          ),
        };
      body = request.replace(/(<(?:[\w-]+:)?maxWaitSeconds>)\d+/, `$1${left}`);
    }
  }

  /** One SOAP call of the proxy's own to the simulator. */
  private async call(
    inner: string,
    cookie?: string,
  ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    const headers = { 'content-type': 'text/xml; charset=utf-8', ...(cookie ? { cookie } : {}) };
    const r = await this.forward({ method: 'POST', headers }, Buffer.from(envelope(inner)));
    return { status: r.status, body: r.body.toString('utf8'), headers: r.headers };
  }

  /** Drop every rule not used up yet. */
  clear(): void {
    this.rules = [];
  }

  /** Rewrites apply when the reply passes (a long poll may have been sent before the rule). */
  private take(method: string, when: 'request' | 'reply'): Fault | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.method === method || r.method === '*') &&
        (r.fault.kind === 'rewrite') === (when === 'reply'),
    );
    if (!rule) return undefined;
    rule.remaining--;
    this.injected.push({ method, kind: rule.fault.kind });
    return rule.fault;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const m = /<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)/.exec(body.toString('utf8'));
    const method = m ? m[1] : 'unknown';
    this.methods.push(method);
    this.times.push(Date.now());
    let fault = this.take(method, 'request');
    if (fault?.kind === 'empty') {
      res
        .writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><${method}Response xmlns="urn:vim25"></${method}Response></soapenv:Body></soapenv:Envelope>`,
        );
      return;
    }
    if (fault?.kind === 'echo') {
      let quoted = body.toString('utf8');
      for (let i = 0; i < (fault.escapes ?? 1); i++)
        quoted = quoted.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      res
        .writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>ECHO[could not process the request ${quoted}]</faultstring><detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"></SystemErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
        );
      return;
    }
    if (fault?.kind === 'huge') {
      this.writeHuge(method, fault.bytes, res);
      return;
    }
    if (fault?.kind === 'stall') {
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return; // never answer
    }
    if (fault?.kind === 'redirect') {
      res.writeHead(fault.status, { Location: fault.location }).end();
      return;
    }
    if (fault?.kind === 'http500') {
      res
        .writeHead(500, { 'Content-Type': 'text/html' })
        .end('<html><body>Internal Server Error</body></html>');
      return;
    }
    if (fault?.kind === 'soapFault') {
      res
        .writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${fault.message}</faultstring><detail><${fault.faultType}Fault xmlns="urn:vim25" xsi:type="${fault.faultType}"></${fault.faultType}Fault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
        );
      return;
    }
    const request = body.toString('utf8');
    const answered = await this.answer(method, request);
    if (answered !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' }).end(answered);
      return;
    }
    const upstream =
      this.recorder && method === 'WaitForUpdatesEx'
        ? await this.visibleUpdate(req, request)
        : await this.forward(req, body);
    fault ??= this.take(method, 'reply');
    let data = upstream.body;
    if (this.recorder) {
      if (method === 'CreateCollectorForEvents') {
        const ref = /<returnval[^>]*>([^<]*)<\/returnval>/.exec(data.toString('utf8'))?.[1];
        const size = Number(requestValue(request, 'maxCount') ?? 10);
        if (ref) this.pages.set(ref, { size });
      }
      data = Buffer.from(this.viewReply(method, data.toString('utf8')));
    }
    const headers = { ...upstream.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    if (fault?.kind === 'truncate') data = data.subarray(0, Math.floor(data.length / 2));
    if (fault?.kind === 'malformed')
      data = Buffer.from(data.toString('utf8').replace(/<\/(\w+:)?Body>/, '<Body>'));
    if (fault?.kind === 'rewrite') data = Buffer.from(data.toString('utf8').split(fault.from).join(fault.to));
    res.writeHead(upstream.status, headers).end(data);
  }

  private writeHuge(method: string, bytes: number, res: http.ServerResponse): void {
    const head = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><${method}Response xmlns="urn:vim25"><returnval>`;
    const tail = `</returnval></${method}Response></soapenv:Body></soapenv:Envelope>`;
    const chunk = Buffer.from('<x>' + 'a'.repeat(64 * 1024 - 7) + '</x>');
    let left = bytes - head.length - tail.length;
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': String(bytes) });
    res.write(head);
    const pump = (): void => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : Buffer.from('a'.repeat(left));
        left -= piece.length;
        this.hugeBytesSent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end(tail);
    };
    res.on('error', () => undefined);
    pump();
  }

  private forward(
    req: Pick<http.IncomingMessage, 'method' | 'headers'>,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve) => {
      const up = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: req.method,
          headers: { ...req.headers, host: this.target.host },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      up.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.from('bad gateway') }));
      up.end(body);
    });
  }

  async stop(): Promise<void> {
    for (const r of this.stalled) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
