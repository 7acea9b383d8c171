/**
 * What every read-only HTTP server of the router answers the same way (the
 * metrics server and the event_stream API): a method other than GET or HEAD
 * is 405 with `Allow`, and `/healthz` is a plain `ok` for liveness probes.
 */
import type http from 'node:http';

/** Answers the request when it is one of those; true when it did. */
export function answeredReadOnlyBasics(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return true;
  }
  if (path === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    return true;
  }
  return false;
}
