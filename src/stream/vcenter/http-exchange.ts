/**
 * The one HTTP exchange both vCenter protocols make (SOAP's hot
 * `WaitForUpdatesEx` and every VI/JSON call), on node:http(s) with a
 * keep-alive agent. Each protocol builds its own request and reads its own
 * reply; what is the same for both lives here:
 *
 * - one deadline for the whole exchange, the body included (a server that
 *   sends the headers and then stalls is cut off like one that never
 *   answers), and an abort (shutdown) that ends it at once;
 * - redirects refused: a redirect would carry the Login password, or the
 *   session key, to a host the operator never configured; the error names the
 *   Location without its credentials;
 * - the reply read up to MAX_REPLY_BYTES, refused beyond it;
 * - when the reply's bytes were complete (before any parsing);
 * - transport errors as VimTransportError: a timeout, an untrusted
 *   certificate (saying what to set), anything else with its code.
 *
 * Any status other than a redirect is handed back: a fault (SOAP or VI/JSON
 * HTTP 500) is the protocol's to read.
 */
import http from 'node:http';
import https from 'node:https';
import { quotePeer } from '../../log/logger';
import { withoutCredentials } from '../../util/address';
import { isUntrustedCertificate, type RootCAs, trustOptions, untrustedHint } from '../../util/tls';

/** The vCenter did not answer usably: connection failure, timeout, HTTP error, unparseable body. */
export class VimTransportError extends Error {
  constructor(
    readonly method: string,
    message: string,
    readonly code?: string,
    /** What answered when it was not the protocol's reply: `HTTP 404 (text/html)`. */
    readonly answered?: string,
  ) {
    super(`${method}: ${message}`);
    this.name = 'VimTransportError';
  }
}

/**
 * The largest vCenter reply read (16 MiB: a 1,000-event page of 16 KB events),
 * over either protocol. A bigger one is refused (a transport error that names
 * the cap; the stream backs off and retries) instead of being parsed: a parsed
 * reply costs several times its size, and the router must stay within its
 * memory limit (256 Mi in deploy/).
 */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** The protocols' names as the errors give them. */
export type ProtocolName = 'SOAP' | 'VI/JSON';

export interface AgentOptions {
  insecure: boolean;
  /** The operator's root CAs, trusted besides the default ones. */
  rootCAs?: RootCAs;
}

/** The keep-alive agent of one vCenter client (either protocol, and the negotiation before them). */
export function vcenterAgent(address: string, opts: AgentOptions): http.Agent {
  return address.startsWith('https:')
    ? new https.Agent({
        keepAlive: true,
        maxSockets: 4,
        rejectUnauthorized: !opts.insecure,
        ...trustOptions(opts.rootCAs),
      })
    : new http.Agent({ keepAlive: true, maxSockets: 4 });
}

/** `HTTP 404 (text/html)`: what answered, for the errors. */
export function answeredOf(status: number, headers: http.IncomingHttpHeaders): string {
  const type = headers['content-type'];
  return `HTTP ${status}${typeof type === 'string' && type ? ` (${type.split(';')[0]})` : ''}`;
}

export function tooLarge(method: string): VimTransportError {
  return new VimTransportError(
    method,
    `reply larger than ${MAX_REPLY_BYTES / 1024 / 1024} MiB refused (the cap keeps the router within its memory limit)`,
    'ETOOLARGE',
  );
}

function redirectRefused(
  method: string,
  status: number,
  location: unknown,
  protocol: ProtocolName,
): VimTransportError {
  const where =
    typeof location === 'string' && location ? quotePeer(withoutCredentials(location)) : 'no Location';
  return new VimTransportError(
    method,
    `HTTP ${status} redirect to ${where} refused (${protocol} calls never follow redirects: set the stream address to the vCenter's own https://HOST/sdk)`,
    'EREDIRECT',
    `HTTP ${status} redirect to ${where}`,
  );
}

/**
 * An untrusted certificate of the vCenter at `address` (the stream address,
 * whichever protocol and path the call used): the error says what to set.
 */
function untrustedCertificate(
  method: string,
  address: string,
  code: string | undefined,
): VimTransportError | undefined {
  if (!code || !isUntrustedCertificate(code)) return undefined;
  const peer = `vCenter ${withoutCredentials(address)}`;
  return new VimTransportError(method, untrustedHint(peer, code, 'the stream option insecure'), code);
}

/** A failed exchange (no reply, or a reply cut off) as the stream reads it. */
export function transportError(
  method: string,
  address: string,
  err: Error,
  signal: AbortSignal,
): VimTransportError {
  const code = (err as { code?: string }).code;
  if (signal.aborted || code === 'ABORT_ERR')
    return new VimTransportError(method, `no reply within the call timeout`, 'ETIMEDOUT');
  return (
    untrustedCertificate(method, address, code) ??
    new VimTransportError(method, err.message || String(err), code)
  );
}

export interface ExchangeRequest {
  url: string;
  method: 'GET' | 'POST';
  /** The vim25 method (or `System.hello`) the errors name. */
  name: string;
  protocol: ProtocolName;
  /** The stream address, as an untrusted certificate's message names the vCenter. */
  address: string;
  headers: http.OutgoingHttpHeaders;
  body?: Buffer;
  agent: http.Agent;
  timeoutMs: number;
  /**
   * Aborting it ends the exchange (ETIMEDOUT, as the deadline does); the
   * deadline aborts it too. The caller's, so that it can abort every call in
   * flight without a second controller per call.
   */
  abort: AbortController;
}

export interface ExchangeReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  body: string;
  /** When the reply's bytes were complete (performance.now() ms), before parsing. */
  arrivedAt: number;
}

/** One bounded exchange (see the module comment). */
export function exchange(r: ExchangeRequest): Promise<ExchangeReply> {
  const { abort, name } = r;
  const timer = setTimeout(() => abort.abort(), r.timeoutMs);
  const request = r.url.startsWith('https:') ? https.request : http.request;
  return new Promise<ExchangeReply>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const req = request(
      r.url,
      { method: r.method, agent: r.agent, headers: r.headers, signal: abort.signal },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          return fail(redirectRefused(name, status, res.headers.location, r.protocol));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_REPLY_BYTES) return fail(tooLarge(name));
          chunks.push(c);
        });
        res.on('error', (err) => fail(transportError(name, r.address, err, abort.signal)));
        res.on('end', () => {
          if (settled) return;
          const arrivedAt = performance.now();
          const body =
            chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
          chunks.length = 0;
          settled = true;
          resolve({ status, headers: res.headers, body, arrivedAt });
        });
      },
    );
    req.on('error', (err) => fail(transportError(name, r.address, err, abort.signal)));
    req.end(r.body);
  }).finally(() => clearTimeout(timer));
}
