/**
 * End-to-end helpers: the real router (compiled CLI in a child process, or the
 * Router class in-process) against the govmomi simulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigEntry, RouterConfig } from '../../src/config/types';
import { createLogger, type Logger } from '../../src/log/logger';
import { RouterMetrics } from '../../src/metrics/metrics';
import { waitFor } from './wait';

export { waitFor };
import { Router } from '../../src/router';
import {
  about,
  buildHarness,
  startSimulator,
  type Simulator,
  type SimulatorOptions,
} from '../harness/simulator';
import { startViJson, type ViJsonPeer } from '../harness/vijson';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export function vcenterEntry(sim: Simulator, password = sim.password): ConfigEntry {
  return {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: sim.url,
    auth: { method: 'user_password', secret: { username: sim.username, password } },
    options: { insecure: 'true', call_timeout: '10', max_backoff: '2' },
  };
}

export function metricsEntry(auth?: { username: string; password: string }): ConfigEntry {
  return {
    type: 'metrics',
    provider: 'internal',
    address: '127.0.0.1:0',
    auth: auth ? { method: 'basic_auth', secret: auth } : { method: 'none' },
  };
}

export const stdoutEntry: ConfigEntry = { type: 'processor', provider: 'stdout' };

export function writeConfig(entries: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cfg-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, typeof entries === 'string' ? entries : JSON.stringify(entries, null, 2));
  return file;
}

export interface RouterProcess {
  proc: ChildProcess;
  stdoutLines: string[];
  stderr(): string;
  /** http://127.0.0.1:PORT of the metrics server, once it listens. */
  metricsUrl: string;
  /** Parsed CloudEvents printed so far (stdout processor). */
  events(): Array<Record<string, unknown>>;
  /** Send a signal and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Until the router's /readyz answers 200; a failure carries the router's log, which says why. */
export async function routerReady(router: RouterProcess, timeoutMs?: number): Promise<void> {
  await waitFor(
    'router ready',
    async () => (await fetch(`${router.metricsUrl}/readyz`)).status === 200,
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${router.stderr()}`);
  });
}

/** Run the compiled CLI with `args`; resolves with its exit code and output (for config errors). */
export function runCli(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d: string) => (stdout += d));
    p.stderr.on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`CLI did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start the compiled router with a config (entries), wait until its metrics server listens. */
export async function startRouterProcess(
  entries: unknown,
  extraArgs: string[] = [],
  /** Variables added to the router's environment. */
  env: Record<string, string> = {},
): Promise<RouterProcess> {
  const file = writeConfig(entries);
  const proc = spawn(process.execPath, [CLI, '-config', file, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const stdoutLines: string[] = [];
  let partial = '';
  let stderr = '';
  // setEncoding: a UTF-8 character split across two chunks must not be decoded half by half.
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    stdoutLines.push(...lines.filter((l) => l.length > 0));
  });
  proc.stderr!.on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  let port = '';
  await waitFor('the router metrics server', () => {
    if (proc.exitCode !== null) throw new Error(`router exited with ${proc.exitCode}: ${stderr}`);
    const m = /metrics server listening address=[^\s]*:(\d+)/.exec(stderr);
    if (m) port = m[1];
    return port !== '';
  });
  return {
    proc,
    stdoutLines,
    stderr: () => stderr,
    metricsUrl: `http://127.0.0.1:${port}`,
    events: () => stdoutLines.map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
    exited,
  };
}

export interface InProcessRouter {
  router: Router;
  metrics: RouterMetrics;
  logs: string[];
  logger: Logger;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** The Router class in this process (processor tests that need the metrics objects). */
export async function startRouterInProcess(config: RouterConfig): Promise<InProcessRouter> {
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', json: false, write: (l) => logs.push(l) });
  const metrics = new RouterMetrics({ defaultMetrics: false });
  const router = await Router.create(config, { logger, metrics });
  await router.start();
  const port = router.metricsServer.address?.port;
  return {
    router,
    metrics,
    logs,
    logger,
    metricsUrl: `http://127.0.0.1:${port}`,
    stop: () => router.stop(5000),
  };
}

export interface Stack {
  sim: Simulator;
  router: RouterProcess;
  /** The VI/JSON peer the router follows the simulator through (with `protocol` other than soap). */
  peer?: ViJsonPeer;
  /** Stop the router (SIGTERM), then the peer and the simulator. */
  stop(): Promise<void>;
}

/** The stream's `protocol` option. */
export type StackProtocol = 'soap' | 'vi_json' | 'auto';

/** The two wire protocols the fidelity tests run over (`auto` picks one of them). */
export const WIRE_PROTOCOLS: StackProtocol[] = ['soap', 'vi_json'];

export interface StackOptions {
  simulator?: SimulatorOptions;
  metricsAuth?: { username: string; password: string };
  /** The stream entry for the started simulator (default: vcenterEntry). */
  stream?: (sim: Simulator) => ConfigEntry;
  /**
   * The stream's `protocol` (default: none set, i.e. SOAP). Other than soap, the
   * router follows the simulator through the VI/JSON peer (test/harness/vijson.ts),
   * with System.hello on unless `hello` is false; tools still post to the simulator.
   */
  protocol?: StackProtocol;
  hello?: boolean;
  /** The processor entries (default: the stdout processor alone). */
  processors?: ConfigEntry[];
}

/**
 * The usual end-to-end set-up: a simulator, vctool logged in first (its
 * UserLoginSessionEvent predates the router), and the compiled router with
 * the stdout processor (or `processors`), ready.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  buildHarness();
  const sim = await startSimulator(opts.simulator);
  await about(sim);
  let stream = (opts.stream ?? vcenterEntry)(sim);
  let peer: ViJsonPeer | undefined;
  if (opts.protocol && opts.protocol !== 'soap') {
    peer = await startViJson({ target: sim, hello: opts.hello ?? true });
    stream = { ...stream, address: peer.url, options: { ...stream.options, protocol: opts.protocol } };
  } else if (opts.protocol) {
    stream = { ...stream, options: { ...stream.options, protocol: opts.protocol } };
  }
  let router: RouterProcess | undefined;
  try {
    router = await startRouterProcess([
      stream,
      ...(opts.processors ?? [stdoutEntry]),
      metricsEntry(opts.metricsAuth),
    ]);
    await routerReady(router);
  } catch (err) {
    await router?.stop();
    await peer?.stop();
    await sim.stop();
    throw err;
  }
  const started = router;
  return {
    sim,
    router: started,
    peer,
    stop: async () => {
      await started.stop();
      await peer?.stop();
      await sim.stop();
    },
  };
}
