/**
 * One POST on node:http(s) with a keep-alive agent, as the HTTP sinks send
 * each delivery: one deadline for the whole exchange (connect, the peer's
 * work, its reply), the reply read only up to a cap (the status is what
 * matters; reading stops there and the status is kept), and the start of the
 * body kept for the log. Redirects are never followed (node:http does not).
 */
import http from 'node:http';
import https from 'node:https';

/** A request error with a code (`ETIMEDOUT`, `ERR_CANCELED`...), as the sinks' retry decisions read it. */
export function requestError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

export interface PostRequest {
  url: URL;
  /** Path (and query) to request, replacing the URL's. */
  path: string;
  agent: http.Agent;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
  signal: AbortSignal;
  timeoutMs: number;
  /** Reading stops after this many bytes of reply. */
  maxReplyBytes: number;
  /** Characters of the reply's start to keep. */
  headChars: number;
  /** The errors to reject with when the deadline passes and when the reply is cut off. */
  timeoutError: () => Error;
  abortedError: () => Error;
}

export interface PostReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The reply's first `headChars` characters, as the peer wrote them (quote before logging). */
  head: string;
}

export function postOnce(r: PostRequest): Promise<PostReply> {
  const secure = r.url.protocol === 'https:';
  return new Promise<PostReply>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, res?: PostReply): void => {
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
        method: 'POST',
        agent: r.agent,
        signal: r.signal,
        headers: { ...r.headers, 'Content-Length': r.body.length },
      },
      (res) => {
        const head: Buffer[] = [];
        let bytes = 0;
        const reply = (): PostReply => ({
          status: res.statusCode ?? 0,
          headers: res.headers,
          // Enough bytes for headChars characters of UTF-8.
          head: Buffer.concat(head)
            .toString('utf8', 0, r.headChars * 4)
            .slice(0, r.headChars),
        });
        res.on('data', (chunk: Buffer) => {
          if (bytes < r.headChars * 4) head.push(chunk);
          bytes += chunk.length;
          if (bytes > r.maxReplyBytes) {
            // Stop reading at the cap but keep the status: the rest of the body is not needed.
            finish(undefined, reply());
            res.destroy();
          }
        });
        res.on('end', () => finish(undefined, reply()));
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
    req.end(r.body);
  });
}
