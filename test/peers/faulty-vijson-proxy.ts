/**
 * An HTTP proxy in front of a VI/JSON server (the harness peer) that injects
 * the failures of a VI/JSON vCenter or its network: a reply that is not JSON,
 * a VI/JSON fault, a stalled reply, a redirect. Rules apply to the next N
 * requests whose method (the last path segment of `/sdk/vim25/...`, or
 * `hello`) matches.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ViJsonFault =
  | { kind: 'garbage'; status?: number; body: string; contentType?: string }
  | { kind: 'fault'; typeName: string; faultstring: string }
  | { kind: 'stall' }
  | { kind: 'redirect'; status: number; location: string };

interface Rule {
  method: string;
  remaining: number;
  fault: ViJsonFault;
}

export class FaultyViJsonProxy {
  private server?: http.Server;
  private rules: Rule[] = [];
  private readonly stalled = new Set<http.ServerResponse>();
  /** Every method seen, in order. */
  readonly methods: string[] = [];
  readonly injected: Array<{ method: string; kind: string }> = [];

  constructor(private readonly target: URL) {}

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}/sdk`;
  }

  inject(method: string, fault: ViJsonFault, count = 1): void {
    this.rules.push({ method, remaining: count, fault });
  }

  /** Injections still to come. */
  pending(): number {
    return this.rules.reduce((n, r) => n + r.remaining, 0);
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    const method = path.startsWith('/api/') ? 'hello' : (path.split('/').pop() ?? '');
    this.methods.push(method);
    const rule = this.rules.find((r) => r.remaining > 0 && (r.method === method || r.method === '*'));
    if (rule) {
      rule.remaining--;
      this.injected.push({ method, kind: rule.fault.kind });
      const f = rule.fault;
      if (f.kind === 'garbage') {
        res.writeHead(f.status ?? 200, { 'Content-Type': f.contentType ?? 'application/json' }).end(f.body);
      } else if (f.kind === 'fault') {
        res
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ _typeName: f.typeName, faultstring: f.faultstring }));
      } else if (f.kind === 'redirect') {
        res.writeHead(f.status, { Location: f.location }).end();
      } else {
        this.stalled.add(res);
        res.on('close', () => this.stalled.delete(res));
      }
      return;
    }
    const up = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: this.target.host },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end('bad gateway');
      else res.destroy();
    });
    up.end(body);
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
