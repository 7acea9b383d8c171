/**
 * A host nobody configured: it records every request that reaches it (method,
 * path, headers, body) and answers 500. Tests send redirects towards it and
 * assert that nothing, credentials least of all, ever arrives.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AttackerHost {
  server: http.Server;
  url: string;
  requests: string[];
}

export async function attackerHost(): Promise<AttackerHost> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}
