/**
 * Real NATS servers for the tests: Debian's `nats-server` (installed by
 * scripts/install-nats-server.sh, called from scripts/build-harness.sh),
 * started with JetStream (`-js`), a temporary store directory and loopback
 * ports; alone, or three joined in one JetStream cluster (`--cluster_name`,
 * `--cluster`, `--routes`). A server can be killed (SIGKILL) and started
 * again on the same ports and store directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/wait';

export const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';

/** Install nats-server when missing (the same script CI runs); throws saying how when it cannot. */
export function ensureNatsServer(): void {
  if (spawnSync(NATS_SERVER, ['--version']).status === 0) return;
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'install-nats-server.sh');
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || spawnSync(NATS_SERVER, ['--version']).status !== 0)
    throw new Error('nats-server is not installed and could not be installed: apt-get install nats-server');
}

/** A free loopback TCP port (the kernel's choice, released for the server to take). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface NatsServerOptions {
  name?: string;
  /** Client auth: a user and password, or a token. */
  auth?: { user: string; pass: string } | { token: string };
  /** Cluster: this server's cluster port and every member's route URL. */
  cluster?: { name: string; port: number; routes: string[] };
  port?: number;
  monitorPort?: number;
  /** Serve TLS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
}

export class NatsServer {
  proc: ChildProcess | undefined;
  output = '';
  readonly storeDir: string;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly monitorPort: number,
    private readonly opts: NatsServerOptions,
  ) {
    this.storeDir = mkdtempSync(path.join(os.tmpdir(), `ver-nats-${name}-`));
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async create(opts: NatsServerOptions = {}): Promise<NatsServer> {
    ensureNatsServer();
    const port = opts.port ?? (await freePort());
    const monitorPort = opts.monitorPort ?? (await freePort());
    return new NatsServer(opts.name ?? `n${port}`, port, monitorPort, opts);
  }

  /** Start (or start again, same ports and store) and wait until it serves clients. */
  async start(): Promise<void> {
    const args = ['-js', '-sd', this.storeDir, '-a', '127.0.0.1', '-p', String(this.port)];
    args.push('-m', String(this.monitorPort), '-n', this.name);
    const auth = this.opts.auth;
    if (auth && 'token' in auth) args.push('--auth', auth.token);
    else if (auth) args.push('--user', auth.user, '--pass', auth.pass);
    if (this.opts.tls) args.push('--tls', '--tlscert', this.opts.tls.cert, '--tlskey', this.opts.tls.key);
    const c = this.opts.cluster;
    if (c) {
      args.push('--cluster_name', c.name, '--cluster', `nats://127.0.0.1:${c.port}`);
      args.push('--routes', c.routes.join(','));
    }
    const proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.setEncoding('utf8');
    proc.stderr!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => (this.output += d));
    proc.stderr!.on('data', (d: string) => (this.output += d));
    await waitFor(`nats-server ${this.name} listening on ${this.port}`, () => {
      if (proc.exitCode !== null) throw new Error(`nats-server exited ${proc.exitCode}: ${this.output}`);
      const run = this.output.slice(this.output.lastIndexOf('Starting nats-server'));
      // A cluster member also binds its route port (after "Server is ready").
      return /Server is ready/.test(run) && (!c || /Listening for route connections/.test(run));
    });
  }

  /** Whether /healthz says the server (and its JetStream) is current. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`);
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Kill with SIGKILL (no shutdown) and wait for the exit. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Whether a start failed because a port picked free was taken meanwhile (tests run in parallel). */
function portTaken(err: unknown): boolean {
  return /address already in use/.test(String((err as Error)?.message));
}

/** One JetStream server on loopback (new ports when one picked was taken meanwhile). */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  for (let attempt = 1; ; attempt++) {
    const s = await NatsServer.create(opts);
    try {
      await s.start();
      return s;
    } catch (err) {
      await s.dispose();
      if (!portTaken(err) || attempt >= 5) throw err;
    }
  }
}

/** Three servers joined in one JetStream cluster on loopback; resolves once every one is healthy. */
export async function startNatsCluster(size = 3): Promise<NatsServer[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryCluster(size);
    } catch (err) {
      if (!portTaken(err) || attempt >= 5) throw err;
    }
  }
}

async function tryCluster(size: number): Promise<NatsServer[]> {
  const clusterPorts: number[] = [];
  for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
  const routes = clusterPorts.map((p) => `nats://127.0.0.1:${p}`);
  const servers: NatsServer[] = [];
  for (let i = 0; i < size; i++) {
    servers.push(
      await NatsServer.create({ name: `s${i + 1}`, cluster: { name: 'ver', port: clusterPorts[i], routes } }),
    );
  }
  try {
    await Promise.all(servers.map((s) => s.start()));
  } catch (err) {
    for (const s of servers) await s.dispose();
    throw err;
  }
  await waitFor(
    'the JetStream cluster healthy',
    async () => (await Promise.all(servers.map((s) => s.healthy()))).every(Boolean),
    60_000,
  );
  return servers;
}
