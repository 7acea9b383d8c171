/**
 * One HTTP exchange on node:http(s) with a keep-alive agent, as the HTTP
 * sinks make each request (a delivery's POST, the OpenFaaS gateway's
 * `/system` GETs): one deadline for the whole exchange (connect, the peer's
 * work, its reply body: a peer that sends the headers then stalls the body is
 * cut off too), and the reply read only up to a cap. Redirects are never
 * followed (node:http does not): a 3xx comes back as it is, so credentials
 * never go to a host nobody configured.
 */
import http from 'node:http';
import https from 'node:https';

/** A request error with a code (`ETIMEDOUT`, `ERR_CANCELED`...), as the sinks' retry decisions read it. */
export function requestError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** The code of a failed request for logs, metric labels and http-outcome.ts: its `code`, else its name. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

/** The code a GET rejects with when the reply is larger than its cap. */
export const REPLY_TOO_LARGE = 'ERR_REPLY_TOO_LARGE';

/** What every exchange needs. */
export interface ExchangeRequest {
  url: URL;
  /** Path (and query) to request, replacing the URL's. */
  path: string;
  agent: http.Agent;
  headers: http.OutgoingHttpHeaders;
  signal: AbortSignal;
  timeoutMs: number;
  /** Reading stops after this many bytes of reply. */
  maxReplyBytes: number;
  /** The errors to reject with when the deadline passes and when the reply is cut off. */
  timeoutError: () => Error;
  abortedError: () => Error;
}

export interface PostRequest extends ExchangeRequest {
  body: Buffer;
  /** Characters of the reply's start to keep. */
  headChars: number;
}

export interface PostReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The reply's first `headChars` characters, as the peer wrote them (quote before logging). */
  head: string;
}

export interface GetReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The whole reply body (at most `maxReplyBytes`). */
  body: Buffer;
}

interface Received {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The reply's first chunks, at least `keepBytes` bytes of it when it has them. */
  kept: Buffer[];
  /** More than `maxReplyBytes` came: reading stopped there. */
  overflow: boolean;
}

/** One request and its reply, of which the first `keepBytes` are kept (a POST's start for the log, a GET's whole). */
function exchange(
  r: ExchangeRequest,
  method: 'GET' | 'POST',
  body: Buffer | undefined,
  keepBytes: number,
): Promise<Received> {
  const secure = r.url.protocol === 'https:';
  return new Promise<Received>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, res?: Received): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(res!);
    };
    const req = (secure ? https : http).request(
      {
        protocol: r.url.protocol,
        hostname: r.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: r.url.port || (secure ? 443 : 80),
        path: r.path,
        method,
        agent: r.agent,
        signal: r.signal,
        headers: body ? { ...r.headers, 'Content-Length': body.length } : r.headers,
      },
      (res) => {
        const kept: Buffer[] = [];
        let bytes = 0;
        const received = (overflow: boolean): Received => ({
          status: res.statusCode ?? 0,
          headers: res.headers,
          kept,
          overflow,
        });
        res.on('data', (chunk: Buffer) => {
          if (bytes < keepBytes) kept.push(chunk);
          bytes += chunk.length;
          if (bytes > r.maxReplyBytes) {
            // Stop reading at the cap; the status is known already.
            finish(undefined, received(true));
            res.destroy();
          }
        });
        res.on('end', () => finish(undefined, received(false)));
        res.on('error', (err) => finish(err));
        res.on('aborted', () => finish(r.abortedError()));
      },
    );
    const timer = setTimeout(() => {
      const err = r.timeoutError();
      finish(err);
      req.destroy(err);
    }, r.timeoutMs);
    req.on('error', (err: Error & { code?: string }) =>
      finish(err.name === 'AbortError' ? requestError('canceled', 'ERR_CANCELED') : err),
    );
    req.end(body);
  });
}

/**
 * POST `body`, as the sinks send each delivery. A reply larger than
 * `maxReplyBytes` is not an error: the status is what matters, and reading
 * stops at the cap.
 */
export async function postOnce(r: PostRequest): Promise<PostReply> {
  const got = await exchange(r, 'POST', r.body, r.headChars * 4);
  return {
    status: got.status,
    headers: got.headers,
    // Enough bytes for headChars characters of UTF-8.
    head: Buffer.concat(got.kept)
      .toString('utf8', 0, r.headChars * 4)
      .slice(0, r.headChars),
  };
}

/**
 * GET a reply that is read whole (a JSON document to parse). One larger than
 * `maxReplyBytes` is refused: rejects with code REPLY_TOO_LARGE once the cap
 * is passed, without reading the rest.
 */
export async function getOnce(r: ExchangeRequest): Promise<GetReply> {
  const got = await exchange(r, 'GET', undefined, r.maxReplyBytes);
  if (got.overflow) {
    throw requestError(`reply larger than ${r.maxReplyBytes} bytes: refused`, REPLY_TOO_LARGE);
  }
  return { status: got.status, headers: got.headers, body: Buffer.concat(got.kept) };
}

/** The `Authorization` header of HTTP basic auth (user and password as UTF-8). */
export function basicAuthorization(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}
