/**
 * The metrics HTTP server: `/stats` (expvar-shaped JSON), `/metrics`
 * (Prometheus), and the Kubernetes probes `/healthz` and `/readyz`, which
 * never ask for credentials (kubelet probes cannot send them).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ComponentContext } from '../components/component';
import { basicAuthCredentials, type ConfigEntry } from '../config/types';
import { bindHostPort } from '../util/address';
import { BasicAuth } from '../util/basic-auth';
import { answeredReadOnlyBasics } from '../util/read-only-http';
import { buildStats, type StatsSources } from './stats';

export interface Readiness {
  /** Each check's name and state; ready when all are true. */
  checks(): Record<string, boolean>;
  /** Per component: what is and is not working (shown beside the checks). */
  details?(): Record<string, unknown>;
}

export class MetricsServer {
  private server?: http.Server;
  private sources?: StatsSources;
  private readiness?: Readiness;
  private readonly auth: BasicAuth;

  constructor(
    private readonly entry: ConfigEntry,
    private readonly ctx: ComponentContext,
  ) {
    this.auth = new BasicAuth(basicAuthCredentials(entry.auth));
  }

  attach(sources: StatsSources, readiness: Readiness): void {
    this.sources = sources;
    this.readiness = readiness;
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async start(): Promise<void> {
    const { host, port } = bindHostPort(this.entry.address ?? '0.0.0.0:8080');
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.ctx.logger.error('metrics request failed', { path: req.url, error: err as Error });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.ctx.logger.info('metrics server listening', {
      address: `${host}:${this.address?.port}`,
      auth: this.auth.method,
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (answeredReadOnlyBasics(req, res, path)) return;
    if (path === '/readyz') {
      const checks = this.readiness?.checks() ?? { started: false };
      const ready = Object.values(checks).every(Boolean);
      const details = this.readiness?.details?.();
      res
        .writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ ready, checks, ...(details ? { details } : {}) }) + '\n');
      return;
    }
    if (path !== '/stats' && path !== '/metrics' && path !== '/debug/vars') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!this.auth.authorized(req)) {
      BasicAuth.challenge(res);
      return;
    }
    if (path === '/metrics') {
      const body = await this.ctx.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.ctx.metrics.registry.contentType }).end(body);
      return;
    }
    if (!this.sources) {
      res.writeHead(503).end();
      return;
    }
    const stats = await buildStats(this.ctx.metrics, this.sources);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats, null, 2) + '\n');
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
