/**
 * An HTTP(S) server on 127.0.0.1 that a test can take down (every open
 * connection cut, as when the peer process dies) and bring back on the same
 * port: the router must see the outage and then reconnect to the same address.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export class RestartableServer {
  private server: http.Server | https.Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** `port` 0 picks a free port at the first `listen`, kept for every later one. */
  constructor(
    private readonly handler: RequestHandler,
    private readonly opts: { tls?: https.ServerOptions; port?: number; keepAliveTimeoutMs?: number } = {},
  ) {
    this.port = opts.port ?? 0;
  }

  port: number;

  get listening(): boolean {
    return this.server !== undefined;
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = this.opts.tls
      ? https.createServer(this.opts.tls, this.handler)
      : http.createServer(this.handler);
    if (this.opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = this.opts.keepAliveTimeoutMs;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stop listening and cut every connection; the port is kept for the next `listen`. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.cutConnections();
    await closed;
  }

  /** Cut every open connection, listening on. */
  cutConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
