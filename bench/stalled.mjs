#!/usr/bin/env node
// Memory with one stalled processor: the router follows the simulator with two
// OpenFaaS processors, one on the bench peer (answers at once), one on a
// gateway whose functions never answer. A 10,000-event burst is posted; the
// script reports what the fast processor received, the event log's state
// (/readyz details) and the router's peak RSS (VmHWM).
//
//   npm run build && bash scripts/build-harness.sh && node bench/stalled.mjs [--count 10000]
//
// Prints one JSON object on stdout. 127.0.0.1 only; every process it starts is
// killed at the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(ROOT, 'test', 'harness', 'bin');
const COUNT = Number(process.argv[process.argv.indexOf('--count') + 1] || 10_000) || 10_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ver-stalled-'));
const children = [];

function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  children.push(child);
  return child;
}

/** The first stdout line that is JSON and satisfies `ok`. */
function firstJson(child, ok) {
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

/** A gateway whose functions accept the request and never answer. */
function stalledGateway() {
  return new Promise((resolve) => {
    const fn = { name: 'stalled', namespace: 'openfaas-fn', annotations: { topic: 'VmMessageEvent' } };
    const server = http.createServer((req, res) => {
      if (req.url.startsWith('/system/namespaces')) return res.end(JSON.stringify(['openfaas-fn']));
      if (req.url.startsWith('/system/functions')) return res.end(JSON.stringify([fn]));
      req.resume(); // read the body, never reply
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}` }),
    );
  });
}

function vctool(simUrl, args) {
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hwmKb(pid) {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function main() {
  const simTmp = path.join(tmp, 'vcsim-tmp');
  fs.mkdirSync(simTmp);
  const sim = start(path.join(BIN, 'vcsim'), ['-listen', '127.0.0.1:0', '-exit-on-stdin-eof'], {
    env: { ...process.env, TMPDIR: simTmp },
  });
  const simUrl = (await firstJson(sim, (v) => typeof v.url === 'string')).url;
  const peer = start(process.execPath, [path.join(ROOT, 'bench', 'peer.mjs'), '--topic', 'VmMessageEvent']);
  const fastUrl = (await firstJson(peer, (v) => typeof v.url === 'string')).url;
  const stalled = await stalledGateway();
  const auth = { method: 'basic_auth', secret: { username: 'admin', password: 'bench-pw' } };
  const config = [
    {
      type: 'stream',
      provider: 'vmware_vcenter',
      address: simUrl,
      auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
    },
    { type: 'processor', provider: 'openfaas', name: 'fast', address: fastUrl, auth },
    { type: 'processor', provider: 'openfaas', name: 'stalled', address: stalled.url, auth },
    { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } },
  ];
  const file = path.join(tmp, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const router = start(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), '-config', file]);
  let stderr = '';
  router.stderr.on('data', (d) => (stderr += d));
  let metricsUrl;
  for (let i = 0; i < 300 && !metricsUrl; i++) {
    const m = /metrics server listening address=[^\s]*:(\d+)/.exec(stderr);
    if (m) metricsUrl = `http://127.0.0.1:${m[1]}`;
    else await sleep(100);
  }
  for (let i = 0; i < 300; i++) {
    const r = await fetch(`${metricsUrl}/readyz`).catch(() => undefined);
    if (r?.ok) break;
    await sleep(100);
  }
  const idleKb = hwmKb(router.pid);
  const t0 = Date.now();
  await vctool(simUrl, ['burst', '-class', 'VmMessageEvent', '-count', String(COUNT), '-concurrency', '8']);
  // Until the fast peer has what it will get: all, or nothing more for 5 s (the log is full).
  let fast = 0;
  let still = 0;
  while (still < 50 && fast < COUNT) {
    await sleep(100);
    const counts = await (await fetch(`${fastUrl}/_bench/counts`)).json();
    still = counts['router-bench'] === fast ? still + 1 : 0;
    fast = counts['router-bench'];
  }
  const seconds = (Date.now() - t0) / 1000;
  const readyz = await (await fetch(`${metricsUrl}/readyz`)).json();
  const peakKb = hwmKb(router.pid);
  const result = {
    posted: COUNT,
    fast_received: fast,
    seconds_until_fast_settled: Number(seconds.toFixed(2)),
    event_log: readyz.details?.event_log,
    rss_peak_mb: Number((peakKb / 1024).toFixed(1)),
    rss_before_burst_mb: Number((idleKb / 1024).toFixed(1)),
    log_full_logged: /event log full/.test(stderr),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  stalled.server.closeAllConnections();
  stalled.server.close();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });
