/**
 * A test OpenFaaS gateway: a real HTTP server implementing the parts of the
 * published gateway API (openfaas/faas api-docs/spec.openapi.yml, plus the
 * `/system/namespaces` endpoint of faas-netes and faasd) that the router uses.
 *
 * - `GET /system/namespaces`: JSON array of namespace names (404 when the
 *   gateway is built with `namespaces: false`, like a provider without them).
 * - `GET /system/functions[?namespace=NS]`: JSON array of FunctionStatus
 *   (`name`, `image`, `namespace`, `labels`, `annotations`, `replicas`,
 *   `availableReplicas`, `invocationCount`); without `namespace` the default
 *   namespace; an unknown namespace is a 400.
 * - `/system/*` requires basic auth: 401 with `WWW-Authenticate` otherwise.
 * - `POST /function/NAME[.NS]` (sync: the function's latency, then its
 *   status) and `POST /async-function/NAME[.NS]` (202 with `X-Call-Id`,
 *   queued); an unknown function is a 404. Function calls need no auth,
 *   as on the OpenFaaS gateway.
 *
 * Each function has annotations, latency, a status, and "fail the first N
 * calls" (with a status or a connection reset) set per test. Every request
 * to a function is recorded, and the gateway can go down and come back on
 * the same port.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { RestartableServer } from './restartable-server';

export const DEFAULT_NAMESPACE = 'openfaas-fn';

export type Failure = number | 'reset';

export interface FunctionSpec {
  name: string;
  namespace?: string;
  annotations?: Record<string, string> | null;
  labels?: Record<string, string> | null;
  /** Milliseconds a sync call takes before the reply. */
  latencyMs?: number;
  /** Status of every call (sync: after the latency; async: instead of 202). Default 200/202. */
  status?: number;
  /** The first `count` calls fail with `failure` (a status, or the connection reset). */
  failFirst?: { count: number; failure: Failure };
  /**
   * Hostile replies (issue 17), sync calls: `echo` answers with the request
   * body JSON-quoted in the reply (`ECHO[...]`), `bytes` with a body of that
   * size (streamed), `redirect` with a 3xx to `location`.
   */
  reply?: { echo: true } | { bytes: number } | { redirect: number; location: string };
}

interface FunctionState extends Required<Pick<FunctionSpec, 'name' | 'namespace'>> {
  annotations: Record<string, string> | null;
  labels: Record<string, string> | null;
  latencyMs: number;
  status?: number;
  failFirst?: { count: number; failure: Failure };
  reply?: FunctionSpec['reply'];
  calls: number;
  open: number;
  peakOpen: number;
}

export interface Invocation {
  /** Order of arrival at the gateway (0-based, over all functions). */
  seq: number;
  name: string;
  namespace: string;
  async: boolean;
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  body: unknown;
  /** What the gateway answered: a status, `reset`, or `pending` while a sync call runs. */
  outcome: number | 'reset' | 'pending';
  /** Requests already open on this function when this one arrived (sync calls). */
  openAtReceipt: number;
  receivedAt: number;
  repliedAt?: number;
}

export interface SystemRequest {
  path: string;
  authorized: boolean;
  /** Whether the request carried an Authorization header. */
  sentCredentials: boolean;
  status: number;
}

export interface GatewayOptions {
  /** false: a gateway run without auth (`/system/*` open to all). Default true. */
  auth?: boolean;
  username?: string;
  password?: string;
  /** Whether `/system/namespaces` exists (default true). */
  namespaces?: boolean;
  /** Namespaces listed even without functions (the default namespace always is). */
  extraNamespaces?: string[];
  port?: number;
  /** Serve https with this key and certificate (PEM text), e.g. issued by a test CA. */
  tls?: { key: string; cert: string };
}

export class OpenFaasGateway {
  /** Pending replies of functions with a latency. */
  private readonly latencyTimers = new Set<NodeJS.Timeout>();
  readonly invocations: Invocation[] = [];
  readonly systemRequests: SystemRequest[] = [];
  private readonly functions = new Map<string, FunctionState>();
  private readonly server: RestartableServer;
  private username: string;
  private password: string;
  private seq = 0;
  private hostile: { systemRedirect?: { status: number; location: string }; functionListBytes?: number } = {};
  /** Bytes of oversized function lists written so far. */
  hugeBytesSent = 0;

  private constructor(private readonly opts: GatewayOptions) {
    this.username = opts.username ?? 'admin';
    this.password = opts.password ?? 'gateway-secret-pw';
    this.server = new RestartableServer((req, res) => this.handle(req, res), {
      ...opts,
      keepAliveTimeoutMs: 5000,
    });
  }

  static async start(opts: GatewayOptions = {}): Promise<OpenFaasGateway> {
    const gw = new OpenFaasGateway(opts);
    await gw.up();
    return gw;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.server.port}`;
  }

  get isUp(): boolean {
    return this.server.listening;
  }

  get credentials(): { username: string; password: string } {
    return { username: this.username, password: this.password };
  }

  setCredentials(username: string, password: string): void {
    this.username = username;
    this.password = password;
  }

  /**
   * Hostile `/system/*` behaviour (issue 17): answer every authorized request
   * with a redirect, or `/system/functions` with a JSON array of this many
   * bytes (streamed, never held in memory). `{}` restores the normal gateway.
   */
  setHostile(h: { systemRedirect?: { status: number; location: string }; functionListBytes?: number }): void {
    this.hostile = h;
  }

  /** Deploy (or replace) a function. */
  deploy(spec: FunctionSpec): void {
    const namespace = spec.namespace ?? DEFAULT_NAMESPACE;
    const prev = this.functions.get(key(spec.name, namespace));
    this.functions.set(key(spec.name, namespace), {
      name: spec.name,
      namespace,
      annotations: spec.annotations === undefined ? null : spec.annotations,
      labels: spec.labels ?? null,
      latencyMs: spec.latencyMs ?? 0,
      status: spec.status,
      failFirst: spec.failFirst,
      reply: spec.reply,
      calls: prev?.calls ?? 0,
      open: prev?.open ?? 0,
      peakOpen: prev?.peakOpen ?? 0,
    });
  }

  /** Replace a function's annotations (as `faas-cli deploy --annotation` would). */
  annotate(name: string, namespace: string, annotations: Record<string, string> | null): void {
    this.fn(name, namespace).annotations = annotations;
  }

  /** Change latency, status or failures of a deployed function; calls already running keep theirs. */
  configure(
    name: string,
    namespace: string,
    change: Partial<Omit<FunctionSpec, 'name' | 'namespace'>>,
  ): void {
    const f = this.fn(name, namespace);
    if (change.latencyMs !== undefined) f.latencyMs = change.latencyMs;
    if ('status' in change) f.status = change.status;
    if ('failFirst' in change) {
      f.failFirst = change.failFirst;
      f.calls = 0;
    }
    if (change.annotations !== undefined) f.annotations = change.annotations;
  }

  remove(name: string, namespace = DEFAULT_NAMESPACE): void {
    this.functions.delete(key(name, namespace));
  }

  /** Requests currently open on a function, and the most ever open at once. */
  concurrency(name: string, namespace = DEFAULT_NAMESPACE): { open: number; peak: number } {
    const f = this.fn(name, namespace);
    return { open: f.open, peak: f.peakOpen };
  }

  /** Invocations of one function (every request, whatever its outcome). */
  invocationsOf(name: string, namespace = DEFAULT_NAMESPACE): Invocation[] {
    return this.invocations.filter((i) => i.name === name && i.namespace === namespace);
  }

  /** Invocations the function accepted (2xx). */
  delivered(name?: string, namespace = DEFAULT_NAMESPACE): Invocation[] {
    return this.invocations.filter(
      (i) =>
        typeof i.outcome === 'number' &&
        i.outcome >= 200 &&
        i.outcome < 300 &&
        (name === undefined || (i.name === name && i.namespace === namespace)),
    );
  }

  /** Accepted invocations per `X-Topic` header. */
  deliveredPerTopic(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const i of this.delivered()) {
      const topic = String(i.headers['x-topic'] ?? '');
      out[topic] = (out[topic] ?? 0) + 1;
    }
    return out;
  }

  /** Start listening (again, on the same port after `down()`). */
  up(): Promise<void> {
    return this.server.listen();
  }

  /** Stop listening and cut every connection (the gateway crashed); the port is kept for `up()`. */
  down(): Promise<void> {
    return this.server.close();
  }

  async close(): Promise<void> {
    for (const t of this.latencyTimers) clearTimeout(t);
    this.latencyTimers.clear();
    await this.down();
  }

  private fn(name: string, namespace: string): FunctionState {
    const f = this.functions.get(key(name, namespace));
    if (!f) throw new Error(`test gateway: no function ${name}.${namespace}`);
    return f;
  }

  private namespaceList(): string[] {
    const set = new Set<string>([DEFAULT_NAMESPACE, ...(this.opts.extraNamespaces ?? [])]);
    for (const f of this.functions.values()) set.add(f.namespace);
    return [...set].sort();
  }

  private authorized(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Basic\s+(\S+)$/i.exec(h);
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    return decoded === `${this.username}:${this.password}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      if (url.pathname.startsWith('/system/')) return this.handleSystem(req, res, url);
      const m = /^\/(function|async-function)\/([^/]+)\/?$/.exec(url.pathname);
      if (m && req.method === 'POST')
        return this.handleInvoke(req, res, m[1] === 'async-function', m[2], rawBody);
      if (url.pathname === '/healthz') return send(res, 200, 'OK');
      send(res, 404, 'Not Found');
    });
  }

  private handleSystem(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const authorized = this.opts.auth === false || this.authorized(req);
    const sentCredentials = req.headers.authorization !== undefined;
    const record = (status: number): void => {
      this.systemRequests.push({ path: url.pathname + url.search, authorized, sentCredentials, status });
    };
    if (!authorized) {
      record(401);
      res.setHeader('WWW-Authenticate', 'Basic realm="Restricted"');
      return send(res, 401, 'Unauthorized');
    }
    if (this.hostile.systemRedirect) {
      record(this.hostile.systemRedirect.status);
      res
        .writeHead(this.hostile.systemRedirect.status, { Location: this.hostile.systemRedirect.location })
        .end();
      return;
    }
    if (this.hostile.functionListBytes && url.pathname === '/system/functions') {
      record(200);
      return streamFunctionList(res, this.hostile.functionListBytes, (n) => (this.hugeBytesSent += n));
    }
    if (req.method !== 'GET') {
      record(405);
      return send(res, 405, 'Method Not Allowed');
    }
    if (url.pathname === '/system/namespaces') {
      if (this.opts.namespaces === false) {
        record(404);
        return send(res, 404, '404 page not found');
      }
      record(200);
      return sendJson(res, 200, this.namespaceList());
    }
    if (url.pathname === '/system/functions') {
      const ns = url.searchParams.get('namespace') || DEFAULT_NAMESPACE;
      if (this.opts.namespaces !== false && !this.namespaceList().includes(ns)) {
        record(400);
        return send(res, 400, 'namespace not valid');
      }
      record(200);
      const list = [...this.functions.values()]
        .filter((f) => f.namespace === ns)
        .map((f) => ({
          name: f.name,
          image: `ghcr.io/example/${f.name}:latest`,
          namespace: f.namespace,
          envProcess: '',
          labels: f.labels,
          annotations: f.annotations,
          replicas: 1,
          availableReplicas: 1,
          invocationCount: f.calls,
        }));
      return sendJson(res, 200, list);
    }
    record(404);
    send(res, 404, 'Not Found');
  }

  private handleInvoke(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    isAsync: boolean,
    target: string,
    rawBody: string,
  ): void {
    const decoded = decodeURIComponent(target);
    const dot = decoded.lastIndexOf('.');
    const name = dot > 0 ? decoded.slice(0, dot) : decoded;
    const namespace = dot > 0 ? decoded.slice(dot + 1) : DEFAULT_NAMESPACE;
    const f = this.functions.get(key(name, namespace));
    if (!f) return send(res, 404, `error finding function ${decoded}: not found`);
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const inv: Invocation = {
      seq: this.seq++,
      name,
      namespace,
      async: isAsync,
      path: req.url ?? '',
      headers: req.headers,
      rawBody,
      body,
      outcome: 'pending',
      openAtReceipt: f.open,
      receivedAt: Date.now(),
    };
    this.invocations.push(inv);
    f.calls++;
    const failing = f.failFirst && f.calls <= f.failFirst.count ? f.failFirst.failure : undefined;
    if (failing === 'reset') {
      inv.outcome = 'reset';
      inv.repliedAt = Date.now();
      req.socket.destroy();
      return;
    }
    const reply = (status: number, text: string): void => {
      inv.outcome = status;
      inv.repliedAt = Date.now();
      if (isAsync && status === 202) res.setHeader('X-Call-Id', randomUUID());
      send(res, status, text);
    };
    if (failing !== undefined) return reply(failing, `function failed (${failing})`);
    if (isAsync) return reply(f.status ?? 202, '');
    f.open++;
    f.peakOpen = Math.max(f.peakOpen, f.open);
    const latency = f.latencyMs;
    const status = f.status ?? 200;
    const finish = (): void => {
      f.open--;
      const hostile = f.reply;
      if (!res.destroyed && hostile && 'redirect' in hostile) {
        inv.outcome = hostile.redirect;
        inv.repliedAt = Date.now();
        res.writeHead(hostile.redirect, { Location: hostile.location }).end();
      } else if (!res.destroyed && hostile && 'echo' in hostile) {
        reply(status, `ECHO[${JSON.stringify(rawBody)}]`);
      } else if (!res.destroyed && hostile && 'bytes' in hostile) {
        inv.outcome = status;
        inv.repliedAt = Date.now();
        res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': String(hostile.bytes) });
        const chunk = Buffer.alloc(64 * 1024, 'z');
        let left = hostile.bytes;
        const pump = (): void => {
          while (left > 0) {
            const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= piece.length;
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('error', () => undefined);
        pump();
      } else if (!res.destroyed) reply(status, status < 300 ? `${name} handled the event` : `${name} failed`);
      else {
        inv.outcome = 'reset';
        inv.repliedAt = Date.now();
      }
    };
    if (latency > 0) {
      // Tracked so that close() ends a long latency too (it would keep the test process alive).
      const timer = setTimeout(() => {
        this.latencyTimers.delete(timer);
        finish();
      }, latency);
      this.latencyTimers.add(timer);
    } else finish();
  }
}

/** A JSON array of functions of about `bytes` bytes, written as it drains; `sent` counts the bytes. */
function streamFunctionList(res: http.ServerResponse, bytes: number, sent: (n: number) => void): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.write('[');
  let written = 1;
  let i = 0;
  const pump = (): void => {
    while (written < bytes) {
      const items: string[] = [];
      for (let k = 0; k < 200; k++, i++)
        items.push(
          JSON.stringify({
            name: `fn-${i}`,
            image: `ghcr.io/example/fn-${i}:latest`,
            namespace: DEFAULT_NAMESPACE,
            annotations: { topic: 'VmPoweredOnEvent' },
            replicas: 1,
          }),
        );
      const piece = (i > 200 ? ',' : '') + items.join(',');
      written += piece.length;
      sent(piece.length);
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(']');
  };
  res.on('error', () => undefined);
  pump();
}

function key(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}

function send(res: http.ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(value));
}
