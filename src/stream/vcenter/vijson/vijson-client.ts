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
 * The same bounds as the SOAP client: a per-call timeout that also covers a
 * body that stalls, the reply cap, redirects refused (a redirect would carry
 * the Login password, or the session key, to a host the operator never
 * configured), keep-alive sockets, and every call abortable at shutdown.
 */
import http from 'node:http';
import https from 'node:https';
import { quotePeer } from '../../../log/logger';
import { isUntrustedCertificate, trustOptions, untrustedHint } from '../../../util/tls';
import type { MoRef } from '../transport';
import { parseViJson } from '../vim25/convert-json';
import {
  MAX_SOAP_REPLY_BYTES,
  redirectRefused,
  tooLarge,
  VimFault,
  VimTransportError,
  type VimClientOptions,
} from '../soap/vim-client';

export const SESSION_HEADER = 'vmware-api-session-id';

/** The VI/JSON releases the router is tested with, in order of preference (System.hello's input). */
export const SUPPORTED_RELEASES = ['8.0.3.0', '8.0.2.0', '8.0.1.0'];
/** The release of a vCenter without System.hello (8.0 Update 1, where VI/JSON began). */
export const RELEASE_WITHOUT_HELLO = '8.0.1.0';

/** Characters of a reply that is not JSON quoted in the error. */
const EXCERPT_CHARS = 120;

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

function answeredOf(status: number, headers: http.IncomingHttpHeaders): string {
  const type = headers['content-type'];
  return `HTTP ${status}${typeof type === 'string' && type ? ` (${type.split(';')[0]})` : ''}`;
}

function notJson(method: string, status: number, headers: http.IncomingHttpHeaders, text: string) {
  const excerpt = text.trim() === '' ? 'an empty body' : quotePeer(text.trim(), EXCERPT_CHARS);
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
 * One HTTP exchange with JSON in and out. Rejects with VimFault for a VI/JSON
 * fault and VimTransportError for everything else (including HTTP errors
 * other than a fault: the caller decides what a 404 means).
 */
export function requestJson(
  url: string,
  opts: {
    method: 'GET' | 'POST';
    /** The vim25 method (or `System.hello`) the errors name. */
    name: string;
    body?: unknown;
    headers?: Record<string, string>;
    agent: http.Agent;
    timeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<JsonReply> {
  const { name } = opts;
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const request = url.startsWith('https:') ? https.request : http.request;
  return new Promise<JsonReply>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const transportError = (err: Error): VimTransportError => {
      const code = (err as { code?: string }).code;
      if (controller.signal.aborted || code === 'ABORT_ERR')
        return new VimTransportError(name, `no reply within the call timeout`, 'ETIMEDOUT');
      // A certificate the router does not trust: the error says what to set, as over SOAP.
      if (code && isUntrustedCertificate(code))
        return new VimTransportError(
          name,
          untrustedHint(`vCenter ${originOf(url)}`, code, 'the stream option insecure'),
          code,
        );
      return new VimTransportError(name, err.message || String(err), code);
    };
    const headers: Record<string, string | number> = { Accept: 'application/json', ...opts.headers };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const req = request(
      url,
      { method: opts.method, agent: opts.agent, headers, signal: controller.signal },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          return fail(redirectRefused(name, status, res.headers.location, 'VI/JSON'));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_SOAP_REPLY_BYTES) return fail(tooLarge(name));
          chunks.push(c);
        });
        res.on('error', (err) => fail(transportError(err)));
        res.on('end', () => {
          if (settled) return;
          const arrivedAt = performance.now();
          const text = Buffer.concat(chunks).toString('utf8');
          chunks.length = 0;
          let value: unknown;
          let parsed = true;
          if (status !== 204 && text.trim() !== '') {
            try {
              // Integers beyond 2^53 (int64 fields of events) keep their digits.
              value = parseViJson(text);
            } catch {
              parsed = false;
            }
          }
          if (status === 500 && parsed) {
            const fault = faultOf(name, value);
            if (fault) return fail(fault);
          }
          if (status < 200 || status >= 300) {
            return fail(
              new VimTransportError(
                name,
                `HTTP ${status}`,
                `HTTP_${status}`,
                answeredOf(status, res.headers),
              ),
            );
          }
          if (!parsed) return fail(notJson(name, status, res.headers, text));
          settled = true;
          resolve({ status, value, arrivedAt, headers: res.headers });
        });
      },
    );
    req.on('error', (err) => fail(transportError(err)));
    req.end(payload);
  }).finally(() => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  });
}

/** Keep-alive agent of a VI/JSON client (and of the negotiation before it). */
export function agentFor(address: string, opts: VimClientOptions): http.Agent {
  return address.startsWith('https:')
    ? new https.Agent({
        keepAlive: true,
        maxSockets: 4,
        rejectUnauthorized: !opts.insecure,
        ...trustOptions(opts.rootCAs),
      })
    : new http.Agent({ keepAlive: true, maxSockets: 4 });
}

/** A VI/JSON client at one release, holding the session key. */
export class ViJsonClient {
  private session?: string;
  private readonly base: string;
  private readonly active = new Set<AbortController>();

  constructor(
    address: string,
    readonly release: string,
    private readonly opts: VimClientOptions,
    private readonly agent: http.Agent = agentFor(address, opts),
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
    const controller = new AbortController();
    this.active.add(controller);
    try {
      const reply = await requestJson(url, {
        method,
        name,
        body,
        headers: this.session ? { [SESSION_HEADER]: this.session } : {},
        agent: this.agent,
        timeoutMs,
        signal: controller.signal,
      });
      const key = reply.headers[SESSION_HEADER];
      if (typeof key === 'string' && key) this.session = key;
      return reply;
    } finally {
      this.active.delete(controller);
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
  }

  hasSession(): boolean {
    return this.session !== undefined;
  }

  abortAll(): void {
    for (const c of this.active) c.abort();
  }

  close(): void {
    this.agent.destroy();
  }
}
