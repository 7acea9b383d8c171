// The one helper library of the bench scripts (run.mjs and its phases,
// sinks.mjs, stalled.mjs): child processes that die with the script, the
// simulator, vctool, the router, /proc sampling. The figures and the report
// are bench/report.ts, loaded compiled from dist/ (scripts/bench.sh builds it).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'test', 'harness', 'bin');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 23)}]`, ...a);

/** A compiled module of this repository (dist/), with the command that builds it when missing. */
export function distModule(rel) {
  const file = path.join(ROOT, 'dist', rel);
  if (!fs.existsSync(file)) throw new Error(`${file} missing: run npm run build`);
  return createRequire(import.meta.url)(file);
}

/** bench/report.ts: quantiles, the latency analysis, the tables, the docs text. */
export const report = distModule('bench/report.js');

/** The flags the image starts the router's node with (the bench measures what ships), and the heap growth main.ts sets. */
export const { NODE_FLAGS, HEAP_GROWING_FLAG } = distModule('src/cli/node-flags.js');

/** The scratch directory of this script run; removed at exit. */
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ver-bench-'));

// ------------------------------------------------------------------ children

const children = new Set();

/**
 * A child process that is killed when the script ends. Its output is kept
 * (the last MiB of each stream) as `outText` / `errText`.
 */
export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdin.on('error', () => undefined);
  child.errText = '';
  child.outText = '';
  child.stderr.on('data', (d) => {
    child.errText += d.toString();
    if (child.errText.length > 1 << 20) child.errText = child.errText.slice(-(1 << 19));
  });
  child.stdout.on('data', (d) => {
    child.outText += d.toString();
    if (child.outText.length > 1 << 20) child.outText = child.outText.slice(-(1 << 19));
  });
  return child;
}

/** Resolves with the exit code once the child has exited. */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/**
 * Resolves with the exit code once the child has exited AND its output streams
 * closed: only then are `outText` / `errText` complete ('exit' can come first).
 */
export function finished(child) {
  if (child.stdout.closed && child.stderr.closed && (child.exitCode !== null || child.signalCode !== null))
    return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('close', (code) => r(code)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
export async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited(child);
  clearTimeout(t);
  child.stdin.destroy();
  return code;
}

/** Stops every child still running (SIGTERM, then SIGKILL) and removes the scratch directory. */
export async function cleanup(graceMs = 3000) {
  for (const c of [...children]) await stopChild(c, graceMs);
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Whatever way the script ends, no child outlives it.
process.once('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Runs one part of the bench within `ms`: `run(own)` registers with `own(child)`
 * the processes it starts, and every one of them is stopped when the part ends,
 * in time or not (a part past its limit rejects with the reason).
 */
export async function withinLimit(what, ms, run) {
  const owned = new Set();
  const own = (child) => {
    owned.add(child);
    return child;
  };
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: time limit of ${ms / 1000} s reached`)), ms);
  });
  try {
    return await Promise.race([run(own), limit]);
  } finally {
    clearTimeout(timer);
    await Promise.all([...owned].map((c) => stopChild(c)));
  }
}

/** `fn` over `items`, at most `concurrency` at a time; resolves with the results in order. */
export async function pool(items, concurrency, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** Resolves with the first stdout line that is JSON and that `pred` accepts. */
export function waitLine(child, pred, what, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      for (const line of child.outText.split('\n')) {
        if (!line.trim().startsWith('{')) continue;
        try {
          const v = JSON.parse(line);
          if (pred(v)) return done(null, v);
        } catch {
          /* partial line */
        }
      }
    };
    const onExit = (code) => done(new Error(`${what}: exited with ${code}: ${child.errText.slice(-2000)}`));
    const timer = setTimeout(
      () => done(new Error(`${what}: timed out; stderr: ${child.errText.slice(-2000)}`)),
      timeoutMs,
    );
    let finished = false;
    function done(err, v) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(v);
    }
    child.stdout.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

export async function waitFor(what, cond, timeoutMs = 30_000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------ simulator, vctool, peers

/**
 * A harness simulator (`bin`: vcsim, or the vcsim-tick20ms test variant) on a
 * free port, user/pass, sessions never idle out. Resolves with
 * {child, url, sessionFile}: vctool calls share one login through the file.
 */
export async function startSimulator(bin = 'vcsim', { timeoutMs = 30_000 } = {}) {
  const dir = fs.mkdtempSync(path.join(tmp, `${bin}-`));
  const child = start(
    path.join(BIN, bin),
    [
      '-listen',
      '127.0.0.1:0',
      '-username',
      'user',
      '-password',
      'pass',
      '-session-idle-timeout',
      '0',
      '-exit-on-stdin-eof',
    ],
    { env: { ...process.env, TMPDIR: dir } },
  );
  const { url } = await waitLine(child, (v) => typeof v.url === 'string', bin, timeoutMs);
  return { child, url, sessionFile: path.join(dir, 'vctool-session') };
}

/** The arguments that point vctool at a simulator, in its session. */
export const vctoolTarget = (sim) => [
  '-url',
  sim.url,
  '-username',
  'user',
  '-password',
  'pass',
  '-session-file',
  sim.sessionFile,
];

/** Runs vctool against `sim` with `input` on stdin; resolves with its stdout. */
export function vctool(sim, args, input = '', timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const c = start(path.join(BIN, 'vctool'), [...vctoolTarget(sim), ...args]);
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    // 'close', not 'exit': the output is complete only once its streams closed
    c.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(c.outText);
      else reject(new Error(`vctool ${args[0]} failed (${code}): ${c.errText.trim()}`));
    });
    c.stdin.end(input);
  });
}

/** vctool's last output line (its JSON result). */
export const lastJson = (text) => JSON.parse(text.trim().split('\n').pop());

/** bench/peer.mjs, a recording OpenFaaS gateway whose function router-bench has the topic `topic`. */
export async function startPeer(topic, credentials = { username: 'admin', password: 'bench-pw' }) {
  const child = start(process.execPath, [
    path.join(ROOT, 'bench', 'peer.mjs'),
    '--topic',
    topic,
    '--username',
    credentials.username,
    '--password',
    credentials.password,
  ]);
  const { url } = await waitLine(child, (v) => typeof v.url === 'string', 'peer');
  return { child, url, auth: { method: 'basic_auth', secret: { ...credentials } } };
}

// ------------------------------------------------------------------ the router

export const vcenterEntry = (simUrl, options = {}) => ({
  type: 'stream',
  provider: 'vmware_vcenter',
  address: simUrl,
  auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
  ...(Object.keys(options).length ? { options } : {}),
});

/** The OpenFaaS processor to a bench peer (startPeer), synchronous: each invocation waits for its reply. */
export const openfaasEntry = (peer) => ({
  type: 'processor',
  provider: 'openfaas',
  address: peer.url,
  auth: peer.auth,
  options: { async: 'false' },
});

export const metricsEntry = {
  type: 'metrics',
  provider: 'internal',
  address: '127.0.0.1:0',
  auth: { method: 'none' },
};

/** The Node.js line the image ships (Dockerfile); the router is measured on it. */
export const ROUTER_NODE_LINE = '24';

const nodeBins = new Map();

/**
 * The `node` binary of a Node.js line, taken as scripts/test.sh takes it (the
 * npm package `node@LINE` through npx): the machine's own node may be another line.
 * BENCH_ROUTER_NODE=/path/to/node overrides the router's line (not written to the report's target rows).
 */
export function nodeBinary(line = ROUTER_NODE_LINE) {
  if (line === ROUTER_NODE_LINE && process.env.BENCH_ROUTER_NODE) return process.env.BENCH_ROUTER_NODE;
  if (!nodeBins.has(line)) {
    const bin = execFileSync('npx', ['-y', '-p', `node@${line}`, 'node', '-p', 'process.execPath'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .toString()
      .trim();
    if (!fs.existsSync(bin)) throw new Error(`npx -p node@${line} gave no node binary (${bin})`);
    nodeBins.set(line, bin);
  }
  return nodeBins.get(line);
}

/** `node --version` of a binary. */
export const nodeVersion = (bin) => execFileSync(bin, ['--version']).toString().trim();

/**
 * Starts the compiled router on `entries` (NODE_FLAGS, then `nodeArgs`, before the script,
 * `env` added to this process's environment) without waiting; `routerReady`
 * waits for it. It runs on `node` (default: the line the image ships).
 */
export function launchRouter(entries, nodeArgs = [], env = {}, node = nodeBinary()) {
  const file = path.join(fs.mkdtempSync(path.join(tmp, 'cfg-')), 'config.json');
  fs.writeFileSync(file, JSON.stringify(entries, null, 2));
  return start(node, [...NODE_FLAGS, ...nodeArgs, CLI, '-config', file], { env: { ...process.env, ...env } });
}

/**
 * Resolves with the router's metrics URL once its /readyz answers 200, polling
 * every `everyMs` (the start-to-readyz figure polls every 10 ms).
 */
export async function routerReady(proc, { timeoutMs = 30_000, everyMs = 50 } = {}) {
  let metricsUrl = '';
  await waitFor(
    'the router metrics server',
    () => {
      if (proc.exitCode !== null) throw new Error(`router exited ${proc.exitCode}: ${proc.errText}`);
      const m = /metrics server listening address=[^\s]*:(\d+)/.exec(proc.errText + proc.outText);
      if (m) metricsUrl = `http://127.0.0.1:${m[1]}`;
      return metricsUrl !== '';
    },
    timeoutMs,
    everyMs,
  ).catch((e) => {
    throw new Error(`${e.message}; router stderr: ${proc.errText.slice(-2000)}`);
  });
  await waitFor(
    'router /readyz',
    async () => (await fetch(metricsUrl + '/readyz').catch(() => ({ ok: false }))).ok,
    timeoutMs,
    everyMs,
  );
  return metricsUrl;
}

/** The compiled router on `entries`, ready: {proc, metricsUrl}. */
export async function startRouter(entries, nodeArgs = [], env = {}) {
  const proc = launchRouter(entries, nodeArgs, env);
  return { proc, metricsUrl: await routerReady(proc) };
}

// ------------------------------------------------------------------ /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm) ": f[0] is field 3 (state); utime is field 14, stime field 15.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function statusKb(pid, field) {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** A memory figure of /proc/PID/status (VmRSS, VmHWM) in MB; NaN when the process is gone. */
export const statusMb = (pid, field) => statusKb(pid, field) / 1024;

/** Peak resident memory of a process (VmHWM), in MB. */
export function peakRssMb(pid) {
  const kb = statusKb(pid, 'VmHWM');
  return Number.isFinite(kb) ? Number((kb / 1024).toFixed(1)) : 0;
}

/** Resident memory (VmRSS) of named processes every 50 ms. */
export class Sampler {
  constructor(pids) {
    this.pids = pids; // {name: pid}
    this.samples = Object.fromEntries(Object.keys(pids).map((k) => [k, []])); // [t, kb]
    this.timer = setInterval(() => this.sample(), 50);
  }
  sample() {
    const t = Date.now();
    for (const [k, pid] of Object.entries(this.pids)) {
      const kb = statusKb(pid, 'VmRSS');
      if (Number.isFinite(kb)) this.samples[k].push([t, kb]);
    }
  }
  /** {min, median, max, n} in MB of the samples of `name` taken in [from, to]. */
  stats(name, from, to) {
    return report.rssStats(
      this.samples[name].filter(([t]) => t >= from && t <= to).map(([, kb]) => kb / 1024),
    );
  }
  stop() {
    clearInterval(this.timer);
  }
}

// ------------------------------------------------------------------ the machine

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'n/a';
  }
}

/** What the report says about the machine the bench ran on. */
export function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'n/a';
  let goVersion = sh('go', ['version']);
  if (goVersion === 'n/a') goVersion = sh('/usr/lib/go/bin/go', ['version']);
  return {
    nproc: sh('nproc', []),
    free: execFileSync('free', ['-h']).toString().trimEnd(),
    cpu,
    node: process.version,
    routerNode: nodeVersion(nodeBinary()),
    go: goVersion,
    kernel: os.release(),
    govmomi: sh('dpkg-query', ['-W', '-f=${Version}', 'golang-github-vmware-govmomi-dev']),
  };
}
