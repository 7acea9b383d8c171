// Shared pieces of the standalone bench scripts (stalled.mjs, sinks.mjs): child
// processes that die with the script, the simulator, vctool, the router.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const BIN = path.join(ROOT, 'test', 'harness', 'bin');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ver-bench-'));

export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.push(child);
  return child;
}

/** Kill every child and remove the scratch directory. */
export function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** The first stdout line that is JSON and satisfies `ok`. */
export function firstJson(child, ok) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      try {
        const v = JSON.parse(line);
        if (ok(v)) resolve(v);
      } catch {
        // not JSON
      }
    });
    child.on('exit', (code) => reject(new Error(`${child.spawnfile} exited with ${code}`)));
  });
}

/** The harness simulator (`variant`: '' or '-tick20ms'); resolves with its SDK URL. */
export async function startSimulator(variant = '') {
  const simTmp = fs.mkdtempSync(path.join(tmp, 'vcsim-'));
  const sim = start(path.join(BIN, `vcsim${variant}`), ['-listen', '127.0.0.1:0', '-exit-on-stdin-eof'], {
    env: { ...process.env, TMPDIR: simTmp },
  });
  return (await firstJson(sim, (v) => typeof v.url === 'string')).url;
}

export function vctool(simUrl, args) {
  return new Promise((resolve, reject) => {
    const c = start(path.join(BIN, 'vctool'), [
      '-url',
      simUrl,
      '-username',
      'user',
      '-password',
      'pass',
      ...args,
    ]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`vctool ${args[0]} exited ${code}`)),
    );
  });
}

/** The compiled router on `entries`; resolves once /readyz answers 200. */
export async function startRouter(entries) {
  const file = path.join(fs.mkdtempSync(path.join(tmp, 'cfg-')), 'config.json');
  fs.writeFileSync(file, JSON.stringify(entries));
  const proc = start(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), '-config', file]);
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  let metricsUrl;
  for (let i = 0; i < 300 && !metricsUrl; i++) {
    const m = /metrics server listening address=[^\s]*:(\d+)/.exec(stderr);
    if (m) metricsUrl = `http://127.0.0.1:${m[1]}`;
    else await sleep(100);
  }
  if (!metricsUrl) throw new Error(`the router did not start: ${stderr}`);
  for (let i = 0; i < 300; i++) {
    const r = await fetch(`${metricsUrl}/readyz`).catch(() => undefined);
    if (r?.ok) break;
    await sleep(100);
  }
  return { proc, metricsUrl, stderr: () => stderr };
}

export const vcenterEntry = (simUrl) => ({
  type: 'stream',
  provider: 'vmware_vcenter',
  address: simUrl,
  auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
});

export const metricsEntry = {
  type: 'metrics',
  provider: 'internal',
  address: '127.0.0.1:0',
  auth: { method: 'none' },
};

/** Peak resident memory of a process (VmHWM), in MB. */
export function peakRssMb(pid) {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number((Number(m[1]) / 1024).toFixed(1)) : 0;
}

/** The q-quantile of a sorted array. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
