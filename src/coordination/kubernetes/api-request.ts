/**
 * One request to the Kubernetes API server on node:http(s): one deadline for
 * the whole exchange, the reply read up to a cap, redirects never followed
 * (node:http does not; the caller refuses a 3xx, so the bearer token never
 * goes to another host).
 */
import http from 'node:http';
import https from 'node:https';
import { requestError } from '../../util/http-post';

export interface ApiRequest {
  base: URL;
  method: 'GET' | 'POST' | 'PUT';
  /** Path below the base address (which may itself have a path, as behind a proxy). */
  path: string;
  agent: http.Agent;
  headers: http.OutgoingHttpHeaders;
  body?: string;
  timeoutMs: number;
  /** A longer reply is an error (code `ETOOLARGE`). */
  maxReplyBytes: number;
}

export interface ApiReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function apiRequest(r: ApiRequest): Promise<ApiReply> {
  const secure = r.base.protocol === 'https:';
  const body = r.body === undefined ? undefined : Buffer.from(r.body, 'utf8');
  return new Promise<ApiReply>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, reply?: ApiReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(reply!);
    };
    const req = (secure ? https : http).request(
      {
        protocol: r.base.protocol,
        hostname: r.base.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: r.base.port || (secure ? 443 : 80),
        path: r.base.pathname.replace(/\/+$/, '') + r.path,
        method: r.method,
        agent: r.agent,
        headers: {
          ...r.headers,
          Accept: 'application/json',
          ...(body ? { 'Content-Type': 'application/json', 'Content-Length': body.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > r.maxReplyBytes) {
            finish(requestError(`reply longer than ${r.maxReplyBytes} bytes`, 'ETOOLARGE'));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', (err) => finish(err));
        res.on('aborted', () => finish(requestError('the reply was cut off', 'ECONNRESET')));
      },
    );
    const timer = setTimeout(() => {
      const err = requestError(`no answer within ${r.timeoutMs / 1000} s`, 'ETIMEDOUT');
      finish(err);
      req.destroy(err);
    }, r.timeoutMs);
    req.on('error', (err) => finish(err));
    req.end(body);
  });
}
