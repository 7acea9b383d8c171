/**
 * SOAP transport to a vCenter, on node:http(s).
 *
 * Every request envelope is written by ./envelope.ts and posted through the
 * bounded exchange both protocols share (../http-exchange.ts) on one
 * keep-alive agent, with its timeout, reply cap, redirect refusal and error
 * classification. Replies are parsed once, into the small `XmlElement` tree,
 * which the vim25 converter walks with the generated type model.
 *
 * The vCenter session lives in the `vmware_soap_session` cookie: it is taken
 * from every reply that sets it and sent with every request.
 */
import type http from 'node:http';
import { quotePeer } from '../../../log/logger';
import { answeredOf, exchange, VimTransportError, vcenterAgent } from '../http-exchange';
import { SessionSecret } from '../session-secret';
import { child, parseXmlFast as parseXml, type XmlElement } from '../vim25/xml';
import { VimFault, type MoRef, type TransportOptions } from '../transport';
import { SOAP_ACTION, soapRequest, type SoapFields } from './envelope';

export { VimTransportError };

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

  constructor(
    readonly address: string,
    private readonly opts: TransportOptions,
  ) {
    this.agent = vcenterAgent(address, opts);
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
   * Call vim25 `method` on `_this` with its other parameters (WSDL order);
   * resolves to the `...Response` element. Rejects with VimFault for SOAP
   * faults and VimTransportError for everything else.
   */
  async call(
    method: string,
    _this: MoRef,
    params: SoapFields = [],
    timeoutMs = this.opts.timeoutMs,
  ): Promise<XmlElement> {
    const body = Buffer.from(soapRequest(method, _this, params));
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

  close(): void {
    this.sessionKey.set(undefined);
    this.agent.destroy();
  }
}
