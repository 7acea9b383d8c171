/**
 * SOAP transport to a vCenter, on the `soap` package.
 *
 * node-soap builds the request envelopes from the committed WSDL subset
 * (`vim25-subset.wsdl`) and does the HTTP exchange. Its own reply mapping is
 * replaced: replies are parsed once, into the small `XmlElement` tree, which
 * the vim25 converter walks with the generated type model. node-soap's
 * generic mapping would parse every reply a second time at half the speed and
 * without the type information the govmomi-compatible encoding needs.
 *
 * The vCenter session lives in the `vmware_soap_session` cookie: it is taken
 * from every reply that sets it and sent with every request.
 *
 * The one call made in a loop, `WaitForUpdatesEx` (up to 50 times a second
 * when a vCenter answers promptly), skips node-soap and axios: its envelope
 * is a fixed string with three escaped values, posted through the bounded
 * exchange both protocols share (../http-exchange.ts) on the same keep-alive
 * agent and parsed by the same parser, with the same timeout, reply cap,
 * redirect refusal, cookie and error classification. The
 * profile of a steady 100 events/s showed node-soap's envelope building and
 * axios' request pipeline as about a fifth of the router's CPU.
 */
import { accessSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import * as soap from 'soap';
import { quotePeer } from '../../../log/logger';
import {
  answeredOf,
  exchange,
  MAX_REPLY_BYTES,
  redirectRefused,
  tooLarge,
  untrustedCertificate,
  vcenterAgent,
  VimTransportError,
} from '../http-exchange';
import { SessionSecret } from '../session-secret';
import { child, parseXmlFast as parseXml, type XmlElement } from '../vim25/xml';
import { VimFault, type MoRef, type TransportOptions } from '../transport';

export { VimTransportError };

const WSDL = path.join(__dirname, 'vim25-subset.wsdl');
const WSDL_SOURCE = path.resolve(__dirname, '../../../../../src/stream/vcenter/soap/vim25-subset.wsdl');

function wsdlPath(): string {
  // Compiled code runs from dist/src/...: the WSDL stays in src/ (tsc does not copy it).
  try {
    accessSync(WSDL);
    return WSDL;
  } catch {
    return WSDL_SOURCE;
  }
}

/** Text or attribute value escaped for XML. */
function xmlEscape(v: string): string {
  return v.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** The SOAPAction node-soap sends for every method of the WSDL subset (its binding's soapAction). */
const SOAP_ACTION = '"urn:vim25/6.7"';

function faultFrom(method: string, body: XmlElement): VimFault | undefined {
  const fault = child(body, 'Fault');
  if (!fault) return undefined;
  const faultString = child(fault, 'faultstring')?.text ?? '';
  const detail = child(fault, 'detail');
  const detailEl = detail?.children[0];
  let faultType = child(fault, 'faultcode')?.text ?? 'Fault';
  if (detailEl) {
    const xsi = Object.entries(detailEl.attrs).find(([k]) => k.endsWith(':type'))?.[1];
    faultType = (xsi ?? detailEl.name).replace(/^.*:/, '').replace(/Fault$/, '');
  }
  return new VimFault(method, faultType, faultString);
}

/** Result of parsing a reply: the response element, or a fault. */
type Parsed = { response: XmlElement } | { fault: VimFault };

function parseReply(method: string, xml: string): Parsed {
  const env = parseXml(xml);
  const body = child(env, 'Body');
  if (!body) throw new VimTransportError(method, 'reply has no SOAP Body');
  const fault = faultFrom(method, body);
  if (fault) return { fault };
  const response = body.children[0];
  if (!response) throw new VimTransportError(method, 'reply has an empty SOAP Body');
  return { response };
}

/** When each reply's bytes were complete (performance.now() ms), by its response element. */
const replyArrivals = new WeakMap<XmlElement, number>();

/**
 * When the reply holding `response` had arrived, before it was parsed
 * (performance.now() ms): the start of the router's own share of an event's latency.
 */
export function replyArrivedAt(response: XmlElement): number | undefined {
  return replyArrivals.get(response);
}

export class VimClient {
  private cookie?: string;
  /** The session key (the cookie's value), withheld from quoted peer text while it is the session. */
  private readonly sessionKey = new SessionSecret();
  private readonly agent: http.Agent;
  private readonly active = new Set<AbortController>();

  private constructor(
    private readonly client: soap.Client,
    private readonly opts: TransportOptions,
    readonly address: string,
  ) {
    this.agent = vcenterAgent(address, opts);
    client.on('response', (_body: unknown, response: { headers?: Record<string, unknown> } | undefined) => {
      const setCookie = response?.headers?.['set-cookie'];
      if (setCookie !== undefined) this.takeCookie(setCookie as string | string[]);
    });
    // Our own single-pass reply parsing (see the module comment). node-soap
    // calls this for every reply body, including HTTP 500 fault bodies.
    const wsdl = client.wsdl as unknown as { xmlToObject: (xml: string) => unknown };
    wsdl.xmlToObject = (xml: string) => {
      const arrivedAt = performance.now();
      const parsed = parseReply('reply', xml);
      if ('fault' in parsed) throw parsed.fault;
      replyArrivals.set(parsed.response, arrivedAt);
      return { Body: { [parsed.response.name]: parsed.response } };
    };
  }

  static async create(address: string, opts: TransportOptions): Promise<VimClient> {
    const client = await soap.createClientAsync(wsdlPath(), { endpoint: address });
    return new VimClient(client, opts, address);
  }

  /** Forget the session cookie (a new Login starts a new session). */
  resetSession(): void {
    this.cookie = undefined;
    this.sessionKey.set(undefined);
  }

  hasSession(): boolean {
    return this.cookie !== undefined;
  }

  /**
   * Call a vim25 method; resolves to the `...Response` element. Rejects with
   * VimFault for SOAP faults and VimTransportError for everything else.
   */
  async call(
    method: string,
    args: Record<string, unknown>,
    timeoutMs = this.opts.timeoutMs,
  ): Promise<XmlElement> {
    const fn = (
      this.client as unknown as Record<string, (a: unknown, o: unknown, h: unknown) => Promise<unknown[]>>
    )[`${method}Async`];
    if (!fn) throw new VimTransportError(method, 'method not in the WSDL subset');
    const headers = this.cookie ? { Cookie: this.cookie } : {};
    const controller = new AbortController();
    // axios' own timeout does not cover a server that sends headers then stalls the body.
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    this.active.add(controller);
    try {
      const [result] = await fn.call(
        this.client,
        args,
        {
          timeout: timeoutMs,
          signal: controller.signal,
          httpAgent: this.agent,
          httpsAgent: this.agent,
          maxContentLength: MAX_REPLY_BYTES,
          maxBodyLength: MAX_REPLY_BYTES,
          // A redirect would re-send the envelope (the Login password included) to
          // a host the operator never configured: never follow one, and make
          // every 3xx an error (node-soap otherwise resolves any status).
          maxRedirects: 0,
          validateStatus: (status: number) => status < 300 || status >= 400,
        },
        headers,
      );
      return result as XmlElement;
    } catch (err) {
      throw this.classify(method, err);
    } finally {
      clearTimeout(timer);
      this.active.delete(controller);
      // node-soap keeps the last request and raw reply on the client until the next call:
      // a burst's reply (megabytes) would stay alive while its events are delivered.
      const last = this.client as unknown as { lastRequest?: unknown; lastResponse?: unknown };
      last.lastRequest = undefined;
      last.lastResponse = undefined;
    }
  }

  /**
   * `WaitForUpdatesEx` on `collector` without node-soap (see the module comment):
   * resolves to the `WaitForUpdatesExResponse` element; rejects like `call`.
   */
  waitForUpdatesEx(
    collector: MoRef,
    version: string,
    maxWaitSeconds: number,
    timeoutMs = this.opts.timeoutMs,
  ): Promise<XmlElement> {
    const method = 'WaitForUpdatesEx';
    const inner =
      `<${method} xmlns="urn:vim25"><_this type="${xmlEscape(collector.type)}">${xmlEscape(collector.value)}</_this>` +
      `<version>${xmlEscape(version)}</version><options><maxWaitSeconds>${Math.floor(maxWaitSeconds)}</maxWaitSeconds></options></${method}>`;
    return this.post(method, inner, timeoutMs);
  }

  /** One SOAP exchange (../http-exchange.ts): the envelope around `inner`, the reply parsed. */
  private async post(method: string, inner: string, timeoutMs: number): Promise<XmlElement> {
    const body = Buffer.from(
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>' +
        inner +
        '</soap:Body></soap:Envelope>',
    );
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/xml; charset=utf-8',
      'Content-Length': body.length,
      SOAPAction: SOAP_ACTION,
    };
    if (this.cookie) headers.Cookie = this.cookie;
    const abort = new AbortController();
    this.active.add(abort);
    let reply;
    try {
      reply = await exchange({
        url: this.address,
        method: 'POST',
        name: method,
        protocol: 'SOAP',
        address: this.address,
        headers,
        body,
        agent: this.agent,
        timeoutMs,
        abort,
      });
    } finally {
      this.active.delete(abort);
    }
    const { status } = reply;
    const setCookie = reply.headers['set-cookie'];
    if (setCookie !== undefined) this.takeCookie(setCookie);
    let parsed: Parsed | undefined;
    try {
      parsed = parseReply(method, reply.body);
    } catch (err) {
      if (status < 400) {
        throw new VimTransportError(
          method,
          `unreadable reply (HTTP ${status}): ${quotePeer((err as Error).message || 'malformed XML')}`,
          'EBADREPLY',
          `${answeredOf(status, reply.headers)}, a body that is not a SOAP envelope`,
        );
      }
    }
    if (parsed && 'fault' in parsed) throw parsed.fault;
    if (!parsed || status >= 400) {
      throw new VimTransportError(
        method,
        `HTTP ${status}`,
        `HTTP_${status}`,
        answeredOf(status, reply.headers),
      );
    }
    replyArrivals.set(parsed.response, reply.arrivedAt);
    return parsed.response;
  }

  private takeCookie(setCookie: string | string[]): void {
    const list = Array.isArray(setCookie) ? setCookie : [String(setCookie)];
    for (const c of list) {
      const m = /^(vmware_soap_session=([^;]*))/.exec(c);
      if (m && m[1] !== this.cookie) {
        this.cookie = m[1];
        this.sessionKey.set(m[2].replace(/^"(.*)"$/, '$1'));
      }
    }
  }

  /** Abort every call in flight (shutdown interrupts a long WaitForUpdatesEx this way). */
  abortAll(): void {
    for (const c of this.active) c.abort();
  }

  private classify(method: string, err: unknown): Error {
    if (err instanceof VimFault) return new VimFault(method, err.faultType, err.faultString);
    const e = err as {
      root?: unknown;
      response?: { status?: number; data?: unknown; headers?: Record<string, unknown> };
      code?: string;
      message?: string;
    };
    if (e.root instanceof VimFault) return new VimFault(method, e.root.faultType, e.root.faultString);
    if (/maxContentLength/.test(e.message ?? '')) return tooLarge(method);
    if (e.response?.status && e.response.status >= 300 && e.response.status < 400) {
      return redirectRefused(method, e.response.status, e.response.headers?.location, 'SOAP');
    }
    if (e.response?.status) {
      const answered = answeredOf(e.response.status, (e.response.headers ?? {}) as http.IncomingHttpHeaders);
      // An HTTP error whose body is a SOAP fault is a fault; anything else is transport.
      if (typeof e.response.data === 'string' && e.response.data.includes('Fault')) {
        try {
          const parsed = parseReply(method, e.response.data);
          if ('fault' in parsed) return parsed.fault;
        } catch {
          // not XML: fall through to the HTTP status
        }
      }
      if (e.response.status < 400) {
        // node-soap hands our parser's failure over with the (successful) HTTP response.
        return new VimTransportError(
          method,
          `unreadable reply (HTTP ${e.response.status}): ${quotePeer(e.message ?? 'malformed XML')}`,
          'EBADREPLY',
          `${answered}, a body that is not a SOAP envelope`,
        );
      }
      return new VimTransportError(
        method,
        `HTTP ${e.response.status}`,
        `HTTP_${e.response.status}`,
        answered,
      );
    }
    if (e.code === 'ERR_CANCELED' || e.code === 'ECONNABORTED' || /aborted|timeout/i.test(e.message ?? '')) {
      return new VimTransportError(method, `no reply within the call timeout`, 'ETIMEDOUT');
    }
    return (
      untrustedCertificate(method, this.address, e.code) ??
      new VimTransportError(method, e.message ?? String(err), e.code)
    );
  }

  close(): void {
    this.sessionKey.set(undefined);
    this.agent.destroy();
  }
}
