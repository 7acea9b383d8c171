/**
 * VI/JSON transport to a vCenter (vSphere 8.0 Update 1 and later): the same
 * vim25 API as SOAP, as JSON over plain HTTP on node:http(s).
 *
 * - `GET  /sdk/vim25/{release}/{MoType}/{moId}/{property}` reads a property;
 *   `POST /sdk/vim25/{release}/{MoType}/{moId}/{Method}` with the parameters
 *   as a JSON object (without `_this`) invokes a method. A method without a
 *   result answers 204.
 * - The session key comes back in the `vmware-api-session-id` response header
 *   of Login and goes with every later request in the same header.
 * - A fault is HTTP 500 with the fault object as the body (`_typeName` is its
 *   type, `faultstring` its message): the same VimFault the SOAP client
 *   throws, so the stream's handling (wrong password, expired session) is the
 *   same whichever protocol carries the calls.
 *
 * The HTTP exchange is the SOAP client's (../http-exchange.ts): a per-call
 * timeout that also covers a body that stalls, the reply cap, redirects
 * refused (a redirect would carry the Login password, or the session key, to
 * a host the operator never configured), keep-alive sockets, and every call
 * abortable at shutdown. Here only the requests are built and the replies read.
 */
import type http from 'node:http';
import { quotePeer } from '../../../log/logger';
import { answeredOf, exchange, vcenterAgent, VimTransportError } from '../http-exchange';
import { SessionSecret } from '../session-secret';
import { VimFault, type MoRef, type TransportOptions } from '../transport';
import { parseViJson } from '../vim25/convert-json';
import { jsonShapeProblem } from '../../../util/reply-shape';

export const SESSION_HEADER = 'vmware-api-session-id';

/** The VI/JSON releases the router is tested with, in order of preference (System.hello's input). */
export const SUPPORTED_RELEASES = ['8.0.3.0', '8.0.2.0', '8.0.1.0'];
/** The release of a vCenter without System.hello (8.0 Update 1, where VI/JSON began). */
export const RELEASE_WITHOUT_HELLO = '8.0.1.0';

export interface JsonReply {
  status: number;
  /** The parsed body; undefined for 204 or an empty body. */
  value: unknown;
  /** When the reply's bytes were complete (performance.now() ms), before parsing. */
  arrivedAt: number;
  headers: http.IncomingHttpHeaders;
}

/** The `https://HOST[:PORT]` of a stream address `https://HOST[:PORT]/sdk` (userinfo dropped). */
export function originOf(address: string): string {
  const u = new URL(address);
  return `${u.protocol}//${u.host}`;
}

function notJson(method: string, status: number, headers: http.IncomingHttpHeaders, text: string) {
  const excerpt = text.trim() === '' ? 'an empty body' : quotePeer(text.trim());
  return new VimTransportError(
    method,
    `reply is not JSON (HTTP ${status}): ${excerpt}`,
    'EBADREPLY',
    `${answeredOf(status, headers)}, a body that is not VI/JSON`,
  );
}

/** The fault of a VI/JSON HTTP 500 body, or undefined when the body is not one. */
function faultOf(method: string, value: unknown): VimFault | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o._typeName !== 'string' || o._typeName === '') return undefined;
  return new VimFault(method, o._typeName, typeof o.faultstring === 'string' ? o.faultstring : '');
}

/**
 * One VI/JSON exchange, JSON in and out. Rejects with VimFault for a VI/JSON
 * fault and VimTransportError for everything else (including HTTP errors
 * other than a fault: the caller decides what a 404 means).
 */
export async function requestJson(
  url: string,
  opts: {
    method: 'GET' | 'POST';
    /** The vim25 method (or `System.hello`) the errors name. */
    name: string;
    /** The stream address (an untrusted certificate's message names the vCenter by it). */
    address: string;
    body?: unknown;
    headers?: Record<string, string>;
    agent: http.Agent;
    timeoutMs: number;
    /** Aborting it (shutdown) ends the exchange; the call timeout aborts it too. */
    abort: AbortController;
  },
): Promise<JsonReply> {
  const { name } = opts;
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', ...opts.headers };
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = payload.length;
  }
  const reply = await exchange({
    url,
    method: opts.method,
    name,
    protocol: 'VI/JSON',
    address: opts.address,
    headers,
    body: payload,
    agent: opts.agent,
    timeoutMs: opts.timeoutMs,
    abort: opts.abort,
  });
  const { status, body: text } = reply;
  let value: unknown;
  let parsed = true;
  if (status !== 204 && text.trim() !== '') {
    // Checked before JSON.parse builds anything: a hostile nesting would take many times the reply.
    const shape = jsonShapeProblem(text);
    if (shape)
      throw new VimTransportError(
        name,
        `reply refused (HTTP ${status}): ${shape}`,
        'EBADREPLY',
        `${answeredOf(status, reply.headers)}, a body ${shape}`,
      );
    try {
      // Integers beyond 2^53 (int64 fields of events) keep their digits.
      value = parseViJson(text);
    } catch {
      parsed = false;
    }
  }
  if (status === 500 && parsed) {
    const fault = faultOf(name, value);
    if (fault) throw fault;
  }
  if (status < 200 || status >= 300) {
    throw new VimTransportError(name, `HTTP ${status}`, `HTTP_${status}`, answeredOf(status, reply.headers));
  }
  if (!parsed) throw notJson(name, status, reply.headers, text);
  return { status, value, arrivedAt: reply.arrivedAt, headers: reply.headers };
}

/** A VI/JSON client at one release, holding the session key. */
export class ViJsonClient {
  private session?: string;
  /** The session key, withheld from quoted peer text while it is the session. */
  private readonly sessionKey = new SessionSecret();
  private readonly base: string;
  private readonly active = new Set<AbortController>();

  constructor(
    private readonly address: string,
    readonly release: string,
    private readonly opts: TransportOptions,
    private readonly agent: http.Agent = vcenterAgent(address, opts),
  ) {
    this.base = `${originOf(address)}/sdk/vim25/${encodeURIComponent(release)}`;
  }

  private url(ref: MoRef, member: string): string {
    return `${this.base}/${encodeURIComponent(ref.type)}/${encodeURIComponent(ref.value)}/${member}`;
  }

  private async exchange(
    method: 'GET' | 'POST',
    name: string,
    url: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<JsonReply> {
    const abort = new AbortController();
    this.active.add(abort);
    try {
      const reply = await requestJson(url, {
        method,
        name,
        address: this.address,
        body,
        headers: this.session ? { [SESSION_HEADER]: this.session } : {},
        agent: this.agent,
        timeoutMs,
        abort,
      });
      const key = reply.headers[SESSION_HEADER];
      if (typeof key === 'string' && key) {
        this.session = key;
        this.sessionKey.set(key);
      }
      return reply;
    } finally {
      this.active.delete(abort);
    }
  }

  /** Read property `property` of `ref`; errors name `name` (the SOAP method that reads it). */
  get(ref: MoRef, property: string, name: string, timeoutMs = this.opts.timeoutMs): Promise<JsonReply> {
    return this.exchange('GET', name, this.url(ref, property), undefined, timeoutMs);
  }

  /** Invoke `method` on `ref` with `params` (without `_this`). */
  invoke(
    ref: MoRef,
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = this.opts.timeoutMs,
  ): Promise<JsonReply> {
    return this.exchange('POST', method, this.url(ref, method), params, timeoutMs);
  }

  resetSession(): void {
    this.session = undefined;
    this.sessionKey.set(undefined);
  }

  hasSession(): boolean {
    return this.session !== undefined;
  }

  abortAll(): void {
    for (const c of this.active) c.abort();
  }

  close(): void {
    this.sessionKey.set(undefined);
    this.agent.destroy();
  }
}
