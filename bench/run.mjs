#!/usr/bin/env node
// `npm run bench` driver (scripts/bench.sh builds the router and the Go harness first).
//
// One run, all on 127.0.0.1, against ONE govmomi simulator:
//   - bench/peer.mjs: a test OpenFaaS gateway that records every invocation;
//   - our router (dist/src/cli/main.js, openfaas processor, sync), subscribed to
//     the bench event class through the peer's topic map (function router-bench);
//   - the reference client (test/harness/bin/reffollower: govmomi
//     event.Manager.Events, page size 1, tail, one POST per event, function ref-bench);
// then posts a steady 100 events/s for 10 s, a 1,000-event burst and a 10,000-event
// burst (vctool, as fast as the simulator takes them), and reports per client:
// lost/duplicated events, latency (arrival at the peer - event createdTime),
// RSS idle/peak and CPU seconds per 1,000 events; plus conversion throughput
// (bench/convert.mjs on a captured 1,000-event RetrievePropertiesEx reply).
// Writes docs/benchmarks.md and prints a summary. Every child is stopped on exit.
//
//   node bench/run.mjs [--quick] [--no-write] [--out docs/benchmarks.md]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setInterval, clearInterval, clearTimeout } from 'node:timers';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'test', 'harness', 'bin');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const QUICK = process.argv.includes('--quick');
const WRITE = !process.argv.includes('--no-write');
const outIdx = process.argv.indexOf('--out');
const OUT = outIdx > 0 ? path.resolve(process.argv[outIdx + 1]) : path.join(ROOT, 'docs', 'benchmarks.md');
const CLASS = 'VmMessageEvent'; // no message template in the simulator, not emitted by it
const GW_USER = 'admin';
const GW_PASS = 'bench-gateway-pw';
const TOTAL_LIMIT_MS = 9 * 60_000;
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ver-bench-'));
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 23)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ children

const children = new Set();
function start(cmd, args, opts = {}) {
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
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}
async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited(child);
  clearTimeout(t);
  child.stdin.destroy();
  return code;
}
function killAllSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.once('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    process.exit(130);
  });
}
const deadline = setTimeout(() => {
  log(`time limit (${TOTAL_LIMIT_MS / 60000} min) reached: stopping every process`);
  process.exit(2);
}, TOTAL_LIMIT_MS);
deadline.unref();

/** Resolves with the first stdout line that `pred` accepts (parsed JSON). */
function waitLine(child, pred, what, timeoutMs = 30_000) {
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

async function waitFor(what, cond, timeoutMs = 30_000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------ simulator + vctool

/**
 * The simulators the bench runs on, in order. vcsim-tick20ms is the harness's TEST VARIANT
 * (scripts/build-harness.sh): Debian's govmomi with only the WaitForUpdates tick changed from
 * 250 ms to 20 ms, like newer govmomi simulators; the targets of issue 11 are judged on it.
 */
const SIMULATORS = [
  { bin: 'vcsim-tick20ms', tickMs: 20, targets: true },
  { bin: 'vcsim', tickMs: 250, targets: false },
];

const VIJSON_BIN = path.join(BIN, 'vijson');

/** The VI/JSON harness peer in front of the running simulator (SOAP passes through it unchanged). */
async function startViJsonPeer() {
  const child = start(VIJSON_BIN, ['-target', simUrl, '-listen', '127.0.0.1:0', '-exit-on-stdin-eof']);
  const { url } = await waitLine(child, (v) => typeof v.url === 'string', 'vijson');
  return { child, url };
}

let sim;
let simUrl;
let sessionFile = path.join(tmp, 'vctool-session');

async function startSimulator(bin) {
  const simTmp = path.join(tmp, `${bin}-tmp`);
  sessionFile = path.join(tmp, `${bin}-vctool-session`);
  fs.mkdirSync(simTmp, { recursive: true });
  sim = start(
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
    { env: { ...process.env, TMPDIR: simTmp } },
  );
  const ready = await waitLine(sim, (v) => typeof v.url === 'string', 'vcsim');
  simUrl = ready.url;
}

function vctool(args, input = '', timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const c = start(path.join(BIN, 'vctool'), [
      '-url',
      simUrl,
      '-username',
      'user',
      '-password',
      'pass',
      '-session-file',
      sessionFile,
      ...args,
    ]);
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(c.outText);
      else reject(new Error(`vctool ${args[0]} failed (${code}): ${c.errText.trim()}`));
    });
    c.stdin.end(input);
  });
}

/** The newest event key the simulator holds. */
async function newestKey() {
  const out = await vctool(['events', '-page-size', '1']);
  let max = -Infinity;
  for (const line of out.split('\n')) if (line.trim()) max = Math.max(max, JSON.parse(line).key);
  return max;
}

// ------------------------------------------------------------------ /proc sampling

function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm) ": state is f[0] = field 3; utime = field 14, stime = field 15
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
function procRssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

class Sampler {
  constructor(pids) {
    this.pids = pids; // {router: pid, ref: pid}
    this.samples = Object.fromEntries(Object.keys(pids).map((k) => [k, []])); // [t, kb]
    this.timer = setInterval(() => this.sample(), 50);
  }
  sample() {
    const t = Date.now();
    for (const [k, pid] of Object.entries(this.pids)) {
      const kb = procRssKb(pid);
      if (Number.isFinite(kb)) this.samples[k].push([t, kb]);
    }
  }
  /** {min, median, max} MB of the samples of `name` taken in [from, to]. */
  stats(name, from, to) {
    const v = this.samples[name]
      .filter(([t]) => t >= from && t <= to)
      .map(([, kb]) => kb / 1024)
      .sort((a, b) => a - b);
    if (v.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
    return { min: v[0], median: v[Math.floor(v.length / 2)], max: v[v.length - 1], n: v.length };
  }
  stop() {
    clearInterval(this.timer);
  }
}

// ------------------------------------------------------------------ peer

let peer;
let peerUrl;
async function peerGet(p) {
  const res = await fetch(peerUrl + p);
  if (!res.ok) throw new Error(`peer ${p}: ${res.status}`);
  return res.json();
}

// ------------------------------------------------------------------ router's own share (/metrics)

const SHARE_METRIC = 'vmware_event_router_router_latency_seconds';

/** The router's `router_latency_seconds` histogram (summed over processors): cumulative bucket counts. */
async function scrapeShare(metricsUrl) {
  const text = await (await fetch(metricsUrl + '/metrics')).text();
  const buckets = new Map();
  let count = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(SHARE_METRIC)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    const le = /le="([^"]+)"/.exec(line);
    if (line.startsWith(SHARE_METRIC + '_bucket') && le) {
      const k = le[1] === '+Inf' ? Infinity : Number(le[1]);
      buckets.set(k, (buckets.get(k) ?? 0) + v);
    } else if (line.startsWith(SHARE_METRIC + '_count')) count += v;
    else if (line.startsWith(SHARE_METRIC + '_sum')) sum += v;
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), count, sum };
}

/** b - a, bucket by bucket. */
function shareDelta(a, b) {
  const before = new Map(a.buckets);
  return {
    buckets: b.buckets.map(([le, n]) => [le, n - (before.get(le) ?? 0)]),
    count: b.count - a.count,
    sum: b.sum - a.sum,
  };
}
function shareAdd(a, b) {
  if (!a) return b;
  const m = new Map(a.buckets);
  return {
    buckets: b.buckets.map(([le, n]) => [le, n + (m.get(le) ?? 0)]),
    count: a.count + b.count,
    sum: a.sum + b.sum,
  };
}

/** The q-quantile (0..1) in ms, interpolated linearly inside its bucket (Prometheus' histogram_quantile). */
function shareQuantile(h, q) {
  if (!h || h.count <= 0) return NaN;
  const rank = q * h.count;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of h.buckets) {
    if (n >= rank) {
      if (le === Infinity) return prevLe * 1000;
      return (prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN)) * 1000;
    }
    prevLe = le;
    prevN = n;
  }
  return NaN;
}

function shareStats(h) {
  return {
    n: h?.count ?? 0,
    mean: h && h.count > 0 ? (h.sum / h.count) * 1000 : NaN,
    p50: shareQuantile(h, 0.5),
    p99: shareQuantile(h, 0.99),
  };
}

// ------------------------------------------------------------------ statistics

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Per source: lost/duplicated/latencies over the keys in (k0, k1] (all of the bench class). */
/** `ranges`: [[k0, k1], ...], the keys of the phase's repetitions. */
function analyse(records, ranges, batchGapMs = 50) {
  const inRange = (key) => ranges.some(([k0, k1]) => key > k0 && key <= k1);
  const expected = ranges.reduce((n, [k0, k1]) => n + (k1 - k0), 0);
  const seen = new Map();
  let dup = 0;
  let outOfOrder = 0;
  let lastKey = -Infinity;
  for (const [key, created, arrival] of records) {
    if (!inRange(key)) continue;
    if (seen.has(key)) {
      dup++;
      continue;
    }
    if (key < lastKey) outOfOrder++;
    lastKey = key;
    seen.set(key, arrival - created);
  }
  const lat = [...seen.values()].sort((a, b) => a - b);
  // The simulator's WaitForUpdatesEx wakes every 250 ms (20 ms on the variant): events arrive in batches.
  // "After wake-up" latency = arrival - the newest createdTime of the event's batch
  // (the wake-up came after that), i.e. the part a WaitForUpdatesEx follower adds
  // once the simulator answers. Batches: arrivals more than batchGapMs apart.
  const once = new Set();
  const firsts = records
    .filter(([key]) => inRange(key) && !once.has(key) && once.add(key))
    .sort((a, b) => a[2] - b[2]);
  const afterWake = [];
  let batches = 0;
  for (let i = 0; i < firsts.length;) {
    let j = i + 1;
    while (j < firsts.length && firsts[j][2] - firsts[j - 1][2] <= batchGapMs) j++;
    let newest = -Infinity;
    for (let x = i; x < j; x++) newest = Math.max(newest, firsts[x][1]);
    for (let x = i; x < j; x++) afterWake.push(Math.max(0, firsts[x][2] - newest));
    batches++;
    i = j;
  }
  afterWake.sort((a, b) => a - b);
  return {
    batches,
    wakeP50: percentile(afterWake, 50),
    wakeP99: percentile(afterWake, 99),
    expected,
    delivered: seen.size,
    lost: expected - seen.size,
    duplicated: dup,
    outOfOrder,
    min: lat.length ? lat[0] : NaN,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.length ? lat[lat.length - 1] : NaN,
  };
}

// ------------------------------------------------------------------ phases

const SOURCES = { ours: 'router-bench', ref: 'ref-bench' };

async function counts() {
  const c = await peerGet('/_bench/counts');
  return { ours: c[SOURCES.ours], ref: c[SOURCES.ref], bad: c.bad };
}

/**
 * Wait until both sources received `n` more events than at `base`, or nothing
 * arrived for `quietMs` (a source that lost events never gets there), or `capMs`.
 */
async function drain(base, n, quietMs, capMs) {
  const end = Date.now() + capMs;
  let last = await counts();
  let lastChange = Date.now();
  for (;;) {
    await sleep(100);
    const c = await counts();
    if (c.ours !== last.ours || c.ref !== last.ref) lastChange = Date.now();
    last = c;
    if (c.ours - base.ours >= n && c.ref - base.ref >= n) return { ...c, why: 'complete' };
    if (Date.now() - lastChange > quietMs) return { ...c, why: `quiet ${quietMs} ms` };
    if (Date.now() > end) return { ...c, why: `cap ${capMs} ms` };
  }
}

async function postSteady(rate, seconds) {
  const total = rate * seconds;
  const c = start(path.join(BIN, 'vctool'), [
    '-url',
    simUrl,
    '-username',
    'user',
    '-password',
    'pass',
    '-session-file',
    sessionFile,
    'post',
  ]);
  const t0 = performance.now();
  let i = 0;
  while (i < total) {
    const due = t0 + (i * 1000) / rate;
    const now = performance.now();
    if (due > now) await sleep(Math.max(0, due - now - 0.5));
    while (i < total && t0 + (i * 1000) / rate <= performance.now() + 0.5) {
      i++;
      c.stdin.write(
        JSON.stringify({
          class: CLASS,
          entities: 'vm:DC0_H0_VM0',
          fields: { FullFormattedMessage: `steady ${i}` },
        }) + '\n',
      );
    }
  }
  c.stdin.end();
  const code = await exited(c);
  if (code !== 0) throw new Error(`vctool post failed: ${c.errText}`);
  const res = JSON.parse(c.outText.trim().split('\n').pop());
  return { posted: res.posted, seconds: (performance.now() - t0) / 1000 };
}

async function postBurst(count) {
  const out = await vctool(['burst', '-class', CLASS, '-count', String(count), '-concurrency', '8']);
  return JSON.parse(out.trim().split('\n').pop());
}

/**
 * Post `n` events with `post()` and wait until both clients drained them, `repeat` times
 * (1 s apart); lost/duplicated/latency/CPU are computed over all repetitions together,
 * and the p99 of each repetition is kept too.
 */
async function runPhase(
  name,
  pids,
  sampler,
  post,
  n,
  quietMs,
  capMs,
  repeat = 1,
  metricsUrl = '',
  tickMs = 250,
) {
  // arrivals further apart than this are different wake-ups of the simulator
  const batchGapMs = Math.min(50, tickMs / 2);
  const ranges = [];
  const posts = [];
  const drains = [];
  const warnings = [];
  const windows = [];
  let cpuSeconds = { ours: 0, ref: 0 };
  let share;
  for (let r = 0; r < repeat; r++) {
    if (r > 0) await sleep(1000);
    log(`phase ${name}${repeat > 1 ? ` (${r + 1}/${repeat})` : ''}: posting ${n} ${CLASS}`);
    const k0 = await newestKey();
    const base = await counts();
    const share0 = metricsUrl ? await scrapeShare(metricsUrl) : undefined;
    const cpu0 = { ours: procStat(pids.ours), ref: procStat(pids.ref) };
    const tStart = Date.now();
    const posted = await post();
    const d = await drain(base, n, quietMs, capMs);
    const tEnd = Date.now();
    const cpu1 = { ours: procStat(pids.ours), ref: procStat(pids.ref) };
    if (share0) share = shareAdd(share, shareDelta(share0, await scrapeShare(metricsUrl)));
    const k1 = await newestKey();
    for (const s of ['ours', 'ref']) cpuSeconds[s] += cpu1[s] - cpu0[s];
    if (k1 - k0 !== posted.posted)
      warnings.push(`key range ${k0}..${k1} holds ${k1 - k0} events, ${posted.posted} were posted`);
    ranges.push([k0, k1]);
    posts.push(posted);
    drains.push(d.why);
    windows.push([tStart, tEnd]);
  }
  const records = await peerGet('/_bench/records');
  const total = posts.reduce((a, p) => a + p.posted, 0);
  const res = {
    name,
    repeat,
    posted: { posted: total, seconds: posts.reduce((a, p) => a + p.seconds, 0) },
    k0: ranges[0][0],
    k1: ranges[ranges.length - 1][1],
    ranges,
    drain: [...new Set(drains)].join(', '),
    seconds: windows.reduce((a, [s0, s1]) => a + (s1 - s0) / 1000, 0),
    share: shareStats(share),
  };
  if (warnings.length) res.warning = warnings.join('; ');
  for (const s of ['ours', 'ref']) {
    const a = analyse(records[SOURCES[s]], ranges, batchGapMs);
    a.p99Each = ranges.map((rg) => analyse(records[SOURCES[s]], [rg], batchGapMs).p99);
    a.cpuSeconds = cpuSeconds[s];
    a.cpuPer1000 = a.delivered > 0 ? (a.cpuSeconds * 1000) / a.delivered : NaN;
    a.cpuPer1000Posted = (a.cpuSeconds * 1000) / total;
    const st = windows.map(([s0, s1]) => sampler.stats(s, s0, s1));
    a.rss = { max: Math.max(...st.map((x) => x.max)) };
    res[s] = a;
  }
  log(
    `phase ${name}: posted ${total} in ${res.posted.seconds.toFixed(2)} s; ` +
      `ours lost ${res.ours.lost} dup ${res.ours.duplicated} p50 ${res.ours.p50?.toFixed(1)} ms p99 ${res.ours.p99?.toFixed(1)}; ` +
      `ref lost ${res.ref.lost} dup ${res.ref.duplicated} p50 ${res.ref.p50?.toFixed(1)} ms p99 ${res.ref.p99?.toFixed(1)} (${res.drain}); ` +
      `router's own share p50 ${fmt(res.share.p50)} ms p99 ${fmt(res.share.p99)} ms`,
  );
  return res;
}

// ------------------------------------------------------------------ conversion capture

const MIX = [
  { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
  { class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM1' },
  {
    class: 'UserLoginSessionEvent',
    fields: { IpAddress: '10.0.0.7', UserAgent: 'govc/0.24', Locale: 'en', SessionId: 'a1b2' },
  },
  {
    class: 'EventEx',
    entities: 'vm:DC0_H0_VM0',
    fields: {
      EventTypeId: 'com.vmware.applmgmt.backup.job.failed.event',
      Severity: 'error',
      Message: 'Backup job failed <&> "ünïcödé"',
      Arguments: [
        { Key: 'jobId', Value: 42 },
        { Key: 'target', Value: 'sftp://backup.example.com/vc' },
      ],
    },
  },
  {
    class: 'AlarmStatusChangedEvent',
    entities: 'vm:DC0_C0_RP0_VM0',
    fields: {
      Alarm: { Name: 'VM CPU Usage', Alarm: { Type: 'Alarm', Value: 'alarm-6' } },
      Source: { Name: 'vcenter', Entity: { Type: 'Folder', Value: 'group-d1' } },
      Entity: { Name: 'DC0_C0_RP0_VM0', Entity: { Type: 'VirtualMachine', Value: 'vm-60' } },
      From: 'green',
      To: 'red',
    },
  },
  {
    class: 'VmReconfiguredEvent',
    entities: 'vm:DC0_C0_RP0_VM1',
    fields: { ConfigSpec: { NumCPUs: 4, MemoryMB: 8192, Annotation: 'resized by bench' } },
  },
  {
    class: 'TaskEvent',
    entities: 'vm:DC0_H0_VM1',
    fields: {
      Info: {
        Key: 'task-101',
        Task: { Type: 'Task', Value: 'task-101' },
        Name: 'PowerOnVM_Task',
        DescriptionId: 'VirtualMachine.powerOn',
        EntityName: 'DC0_H0_VM1',
        State: 'success',
        Cancelled: false,
        Cancelable: false,
        QueueTime: '2024-01-01T10:00:00Z',
        EventChainId: 7,
      },
    },
  },
  {
    class: 'VmMessageEvent',
    entities: 'vm:DC0_H0_VM0',
    fields: { FullFormattedMessage: 'message', Message: 'hello' },
  },
  {
    class: 'ExtendedEvent',
    fields: {
      EventTypeId: 'com.vmware.vc.sdrs.StorageDrsEnabledEvent',
      ManagedObject: { Type: 'Datastore', Value: 'datastore-1' },
      Data: [{ Key: 'cluster', Value: 'DC0_C0' }],
    },
  },
  { class: 'VmStartingEvent', entities: 'vm:DC0_C0_RP0_VM0' },
];

function soapEnvelope(body) {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    body +
    '</soapenv:Body></soapenv:Envelope>'
  );
}

/**
 * Posts 1,000 mixed events, then captures the raw RetrievePropertiesEx reply of a 1000-event latestPage,
 * over SOAP and (with the VI/JSON harness peer, when built) over VI/JSON: the same collector read in the
 * same session both ways, so that both replies hold the same page.
 */
async function captureReply() {
  const lines = [];
  for (let i = 0; i < 1000; i++) lines.push(JSON.stringify(MIX[i % MIX.length]));
  await vctool(['post'], lines.join('\n') + '\n');
  let cookie = '';
  const call = async (body) => {
    const res = await fetch(simUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        SOAPAction: 'urn:vim25/7.0',
        ...(cookie ? { Cookie: cookie } : {}),
      },
      body: soapEnvelope(body),
    });
    const sc = res.headers.get('set-cookie');
    if (sc) cookie = sc.split(';')[0];
    const text = await res.text();
    if (!res.ok) throw new Error(`SOAP ${res.status}: ${text.slice(0, 500)}`);
    return text;
  };
  const sc = await call(
    '<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>',
  );
  const ref = (name) => {
    const m = new RegExp(`<${name} type="([^"]+)">([^<]+)</${name}>`).exec(sc);
    if (!m) throw new Error(`ServiceContent has no ${name}`);
    return `type="${m[1]}">${m[2]}`;
  };
  await call(
    `<Login xmlns="urn:vim25"><_this ${ref('sessionManager')}</_this><userName>user</userName><password>pass</password></Login>`,
  );
  const cc = await call(
    `<CreateCollectorForEvents xmlns="urn:vim25"><_this ${ref('eventManager')}</_this><filter><entity><entity ${ref('rootFolder')}</entity><recursion>all</recursion></entity></filter></CreateCollectorForEvents>`,
  );
  const m = /<returnval type="EventHistoryCollector">([^<]+)<\/returnval>/.exec(cc);
  if (!m) throw new Error(`CreateCollectorForEvents: ${cc.slice(0, 500)}`);
  const collector = m[1];
  await call(
    `<SetCollectorPageSize xmlns="urn:vim25"><_this type="EventHistoryCollector">${collector}</_this><maxCount>1000</maxCount></SetCollectorPageSize>`,
  );
  const reply = await call(
    `<RetrievePropertiesEx xmlns="urn:vim25"><_this ${ref('propertyCollector')}</_this><specSet><propSet><type>EventHistoryCollector</type><all>false</all><pathSet>latestPage</pathSet></propSet><objectSet><obj type="EventHistoryCollector">${collector}</obj><skip>false</skip></objectSet></specSet><options></options></RetrievePropertiesEx>`,
  );
  let json;
  if (fs.existsSync(VIJSON_BIN)) {
    // The peer's VI/JSON session id is the simulator's session cookie: the same session, no new Login event.
    const vj = await startViJsonPeer();
    const pc = /<propertyCollector type="[^"]+">([^<]+)</.exec(sc)[1];
    const res = await fetch(
      `${vj.url}/vim25/8.0.3.0/PropertyCollector/${encodeURIComponent(pc)}/RetrievePropertiesEx`,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'vmware-api-session-id': cookie.replace(/^vmware_soap_session=/, '').replace(/^"|"$/g, ''),
        },
        body: JSON.stringify({
          specSet: [
            {
              _typeName: 'PropertyFilterSpec',
              propSet: [
                {
                  _typeName: 'PropertySpec',
                  type: 'EventHistoryCollector',
                  all: false,
                  pathSet: ['latestPage'],
                },
              ],
              objectSet: [
                {
                  _typeName: 'ObjectSpec',
                  obj: {
                    _typeName: 'ManagedObjectReference',
                    type: 'EventHistoryCollector',
                    value: collector,
                  },
                  skip: false,
                },
              ],
            },
          ],
          options: { _typeName: 'RetrieveOptions' },
        }),
      },
    );
    json = await res.text();
    await stopChild(vj.child);
    if (!res.ok) throw new Error(`VI/JSON RetrievePropertiesEx ${res.status}: ${json.slice(0, 500)}`);
  } else log(`${VIJSON_BIN} missing: no VI/JSON figures`);
  await call(`<Logout xmlns="urn:vim25"><_this ${ref('sessionManager')}</_this></Logout>`).catch(
    () => undefined,
  );
  return { reply, json };
}

// ------------------------------------------------------------------ main

function fmt(v, d = 1) {
  return Number.isFinite(v) ? v.toFixed(d) : 'n/a';
}
function ratio(a, b, d = 2) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(d) : 'n/a';
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'n/a';
  }
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'n/a';
  let goVersion = sh('go', ['version']);
  if (goVersion === 'n/a') goVersion = sh('/usr/lib/go/bin/go', ['version']);
  return {
    nproc: sh('nproc', []),
    free: execFileSync('free', ['-h']).toString().trimEnd(),
    cpu,
    node: process.version,
    go: goVersion,
    kernel: os.release(),
    govmomi: sh('dpkg-query', ['-W', '-f=${Version}', 'golang-github-vmware-govmomi-dev']),
  };
}

// BENCH_ROUTER_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/prof": profile our router during the run
const routerNodeArgs = (process.env.BENCH_ROUTER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
// BENCH_SIMULATORS=vcsim-tick20ms: run on some of the simulators only (profiling; not written)
const onlySims = (process.env.BENCH_SIMULATORS ?? '').split(/[\s,]+/).filter(Boolean);

async function main() {
  const t0 = Date.now();
  const loadAtStart = os.loadavg();
  const sims = SIMULATORS.filter((x) => onlySims.length === 0 || onlySims.includes(x.bin));
  for (const b of [...sims.map((x) => x.bin), 'vctool', 'reffollower']) {
    if (!fs.existsSync(path.join(BIN, b)))
      throw new Error(`${BIN}/${b} missing: run bash scripts/build-harness.sh`);
  }
  if (!fs.existsSync(CLI))
    throw new Error(`${CLI} missing: run npx tsc -p . && node scripts/write-version.js`);

  const runs = [];
  // The VI/JSON path runs on the simulator that carries the targets, right after the SOAP run there,
  // with its own reference measured beside it (two routers at once would share the simulator's
  // wake-ups: it wakes only the newest of two sessions' waits).
  const viJson = fs.existsSync(VIJSON_BIN) && process.env.BENCH_VIJSON !== '0';
  const plan = sims.flatMap((simulator) =>
    simulator.targets && viJson
      ? [
          { simulator, protocol: 'soap' },
          { simulator, protocol: 'vi_json' },
        ]
      : [{ simulator, protocol: 'soap' }],
  );
  for (const [i, { simulator, protocol }] of plan.entries()) {
    runs.push(await runOnSimulator(simulator, protocol));
    if (i < plan.length - 1) await stopChild(sim);
  }

  log('capturing a 1,000-event RetrievePropertiesEx reply (mixed classes)');
  const { reply, json: jsonReply } = await captureReply();
  const replyFile = path.join(tmp, 'reply.xml');
  fs.writeFileSync(replyFile, reply);
  const jsonFile = path.join(tmp, 'reply.json');
  if (jsonReply) fs.writeFileSync(jsonFile, jsonReply);
  await stopChild(sim);
  log(`converting (bench/convert.mjs, one core), reply ${(reply.length / 1024).toFixed(0)} KiB`);
  const conv = start(process.execPath, [
    path.join(ROOT, 'bench', 'convert.mjs'),
    replyFile,
    QUICK ? '1' : '5',
    simUrl,
    ...(jsonReply ? ['--vijson', jsonFile] : []),
  ]);
  const convCode = await exited(conv);
  if (convCode !== 0) throw new Error(`convert.mjs failed: ${conv.errText}`);
  const conversion = JSON.parse(conv.outText.trim().split('\n').pop());

  const result = {
    when: new Date().toISOString(),
    machine: machine(),
    quick: QUICK,
    loadAtStart,
    loadAtEnd: os.loadavg(),
    routerNodeArgs,
    runs,
    conversion,
    seconds: (Date.now() - t0) / 1000,
  };
  fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'dist', 'bench-last-result.json'), JSON.stringify(result, null, 2));
  let md = report(result);
  // The hand-written notes after NOTES_MARKER survive regeneration.
  const prev = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
  const at = prev.indexOf(NOTES_MARKER);
  md += '\n' + (at >= 0 ? prev.slice(at) : `${NOTES_MARKER}\n\n## Notes\n\n(none yet)\n`);
  if (WRITE && !QUICK && routerNodeArgs.length === 0 && onlySims.length === 0) {
    fs.writeFileSync(OUT, md);
    log(`wrote ${path.relative(ROOT, OUT)}`);
  }
  console.log(summary(result));
}

/** One complete run (peer, router, reference, warm-up, idle, phases) on one simulator; leaves it running. */
async function runOnSimulator(simulator, protocol = 'soap') {
  const steadySeconds = Number(process.env.BENCH_STEADY_SECONDS) || (QUICK ? 3 : 10);
  const bigBurst = QUICK ? 2000 : 10_000;
  const loadAtStart = os.loadavg();
  await startSimulator(simulator.bin);
  log(`simulator ${simulator.bin} ${simUrl} (pid ${sim.pid}, WaitForUpdates tick ${simulator.tickMs} ms)`);
  await vctool(['about']); // the one login of vctool (session file)
  // vi_json: our router follows the simulator through the VI/JSON peer; vctool and the reference stay on SOAP.
  const vj = protocol === 'vi_json' ? await startViJsonPeer() : undefined;
  if (vj) log(`VI/JSON peer ${vj.url} (pid ${vj.child.pid})`);

  peer = start(process.execPath, [
    path.join(ROOT, 'bench', 'peer.mjs'),
    '--topic',
    CLASS,
    '--username',
    GW_USER,
    '--password',
    GW_PASS,
  ]);
  peerUrl = (await waitLine(peer, (v) => typeof v.url === 'string', 'peer')).url;
  log(`peer ${peerUrl} (pid ${peer.pid})`);

  // our router and the reference, started at the same time
  const cfgFile = path.join(tmp, 'router-config.json');
  fs.writeFileSync(
    cfgFile,
    JSON.stringify(
      [
        {
          type: 'stream',
          provider: 'vmware_vcenter',
          address: vj ? vj.url : simUrl,
          auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
          // BENCH_CHECKPOINT=1: the same run with the stream's checkpoints on (their cost).
          options: {
            insecure: 'true',
            ...(process.env.BENCH_CHECKPOINT === '1'
              ? { checkpoint: 'true', checkpoint_dir: path.join(tmp, 'checkpoint') }
              : {}),
            ...(vj ? { protocol: 'vi_json' } : {}),
          },
        },
        {
          type: 'processor',
          provider: 'openfaas',
          address: peerUrl,
          auth: { method: 'basic_auth', secret: { username: GW_USER, password: GW_PASS } },
          options: { async: 'false' },
        },
        { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } },
      ],
      null,
      2,
    ),
  );
  const tLaunch = Date.now();
  const router = start(process.execPath, [...routerNodeArgs, CLI, '-config', cfgFile]);
  const ref = start(path.join(BIN, 'reffollower'), [
    '-url',
    simUrl,
    '-username',
    'user',
    '-password',
    'pass',
    '-post-url',
    `${peerUrl}/function/ref-bench.openfaas-fn`,
    '-subjects',
    CLASS,
    '-page-size',
    '1',
  ]);
  const pids = { ours: router.pid, ref: ref.pid };
  const sampler = new Sampler(pids);
  log(`router pid ${router.pid}, reference pid ${ref.pid}`);

  // router: metrics server address is in its log; readiness from /readyz
  let metricsUrl = '';
  await waitFor(
    'the router metrics server',
    () => {
      if (router.exitCode !== null) throw new Error(`router exited ${router.exitCode}: ${router.errText}`);
      const m = /metrics server listening address=[^\s]*:(\d+)/.exec(router.errText + router.outText);
      if (m) metricsUrl = `http://127.0.0.1:${m[1]}`;
      return metricsUrl !== '';
    },
    30_000,
  ).catch(async (e) => {
    // -log-level warn may hide the line: fall back to the default level
    throw new Error(`${e.message}; router stderr: ${router.errText.slice(-2000)}`);
  });
  await waitFor(
    'router /readyz',
    async () => (await fetch(metricsUrl + '/readyz').catch(() => ({ ok: false }))).ok,
    30_000,
  );
  await waitLine(ref, (v) => v.ready === true, 'reffollower ready', 30_000);
  const tReady = Date.now();
  log(`both ready after ${tReady - tLaunch} ms`);

  // warm-up: 20 events, both must deliver them (also proves the topic map is in place)
  const warmBase = await counts();
  await vctool(['burst', '-class', CLASS, '-count', '20', '-concurrency', '1']);
  const warm = await drain(warmBase, 20, 10_000, 30_000);
  log(`warm-up: ours ${warm.ours - warmBase.ours}/20, ref ${warm.ref - warmBase.ref}/20 (${warm.why})`);

  // idle: 3 s with nothing happening
  await sleep(1000);
  const idleFrom = Date.now();
  const idleCpu0 = { ours: procStat(pids.ours), ref: procStat(pids.ref) };
  await sleep(3000);
  const idleTo = Date.now();
  const idle = {
    ours: sampler.stats('ours', idleFrom, idleTo),
    ref: sampler.stats('ref', idleFrom, idleTo),
    cpuOurs: procStat(pids.ours) - idleCpu0.ours,
    cpuRef: procStat(pids.ref) - idleCpu0.ref,
  };
  log(`idle RSS: ours ${fmt(idle.ours.median)} MB, ref ${fmt(idle.ref.median)} MB`);

  const phases = [];
  phases.push(
    await runPhase(
      `steady 100/s × ${steadySeconds} s`,
      pids,
      sampler,
      () => postSteady(100, steadySeconds),
      100 * steadySeconds,
      5000,
      60_000,
      1,
      metricsUrl,
      simulator.tickMs,
    ),
  );
  if (process.env.BENCH_STEADY_ONLY === '1') {
    // profiling the steady phase alone (BENCH_ROUTER_NODE_ARGS="--cpu-prof ..."): stop here
    await Promise.all([stopChild(router, 10_000), stopChild(ref, 10_000)]);
    log('BENCH_STEADY_ONLY=1: stopped after the steady phase');
    process.exit(0);
  }
  await sleep(1000);
  phases.push(
    await runPhase(
      'burst 1,000',
      pids,
      sampler,
      () => postBurst(1000),
      1000,
      5000,
      60_000,
      QUICK ? 1 : 3,
      metricsUrl,
      simulator.tickMs,
    ),
  );
  await sleep(1000);
  phases.push(
    await runPhase(
      `burst ${bigBurst.toLocaleString('en-US')}`,
      pids,
      sampler,
      () => postBurst(bigBurst),
      bigBurst,
      8000,
      180_000,
      1,
      metricsUrl,
      simulator.tickMs,
    ),
  );
  const peakAll = {
    ours: sampler.stats('ours', tLaunch, Date.now()),
    ref: sampler.stats('ref', tLaunch, Date.now()),
  };
  sampler.stop();
  const peerCounts = await counts();

  const diedEarly = {
    ours: router.exitCode !== null || router.signalCode !== null,
    ref: ref.exitCode !== null || ref.signalCode !== null,
  };
  if (diedEarly.ours || diedEarly.ref)
    log(`exited before the end: ours ${diedEarly.ours}, reference ${diedEarly.ref}`);
  log('stopping router and reference');
  const tStop = Date.now();
  const [routerCode, refCode] = await Promise.all([stopChild(router, 10_000), stopChild(ref, 10_000)]);
  const stopMs = Date.now() - tStop;
  log(`router exit ${routerCode}, reference exit ${refCode} (${stopMs} ms)`);

  await stopChild(peer);
  const viJsonCalls = vj ? await (await fetch(new URL(vj.url).origin + '/vijson-stats')).json() : undefined;
  if (vj) await stopChild(vj.child);
  return {
    simulator,
    protocol,
    viJsonCalls,
    loadAtStart,
    loadAtEnd: os.loadavg(),
    idle,
    peakAll,
    phases,
    peerCounts,
    routerCode,
    refCode,
    diedEarly,
    routerErrors: router.errText
      .split('\n')
      .filter((l) => /error|warn/i.test(l))
      .slice(0, 10),
    refErrors: ref.outText.split('\n').filter((l) => l.includes('"error"')).length,
    refFinal: ref.outText.trim().split('\n').pop(),
  };
}

// ------------------------------------------------------------------ report

const NOTES_MARKER = '<!-- notes: everything below is kept when bench/run.mjs regenerates this file -->';

// issue 11 part 2, each judged against the reference measured in the same run, on the 20 ms simulator
const TARGETS = {
  rssIdle: 64,
  rssPeak1k: 100,
  cpuRatio: 0.6,
  conversion: 10_000,
};

function passFail(ok) {
  return ok ? 'met' : '**missed**';
}

function cpuAll(run, s) {
  let cpu = 0;
  let n = 0;
  for (const p of run.phases) {
    cpu += p[s].cpuSeconds;
    n += p[s].delivered;
  }
  return n ? (cpu * 1000) / n : NaN;
}

/** Rows of one simulator's run; verdicts only where the simulator carries the targets. */
function figures(run) {
  const judge = run.simulator.targets && run.protocol !== 'vi_json';
  const v = (ok) => (judge ? passFail(ok) : '');
  const t = (x) => (judge ? x : '—');
  const [steady, b1k, b10k] = run.phases;
  const rows = [];
  const row = (metric, target, ours, ref, ratioStr, verdict) =>
    rows.push({ metric, target, ours, ref, ratioStr, verdict });
  for (const p of run.phases) {
    row(
      `${p.name}${p.repeat > 1 ? ` (× ${p.repeat})` : ''}: lost / duplicated`,
      '0 / 0',
      `${p.ours.lost} / ${p.ours.duplicated}`,
      `${p.ref.lost} / ${p.ref.duplicated}`,
      '',
      passFail(p.ours.lost === 0 && p.ours.duplicated === 0),
    );
  }
  row(
    'steady: latency min (ms)',
    '—',
    fmt(steady.ours.min),
    fmt(steady.ref.min),
    ratio(steady.ours.min, steady.ref.min),
    '',
  );
  row(
    `steady: latency after the simulator's ${run.simulator.tickMs} ms wake-up, p50 (ms)`,
    '—',
    fmt(steady.ours.wakeP50),
    fmt(steady.ref.wakeP50),
    ratio(steady.ours.wakeP50, steady.ref.wakeP50),
    '',
  );
  row(
    `steady: latency after the simulator's ${run.simulator.tickMs} ms wake-up, p99 (ms)`,
    '—',
    fmt(steady.ours.wakeP99),
    fmt(steady.ref.wakeP99),
    ratio(steady.ours.wakeP99, steady.ref.wakeP99),
    '',
  );
  for (const q of ['p50', 'p99']) {
    row(
      `steady: latency ${q} (ms)`,
      t('< reference'),
      fmt(steady.ours[q]),
      fmt(steady.ref[q]),
      ratio(steady.ours[q], steady.ref[q]),
      v(steady.ours[q] < steady.ref[q]),
    );
  }
  row(
    'steady: latency max (ms)',
    '—',
    fmt(steady.ours.max),
    fmt(steady.ref.max),
    ratio(steady.ours.max, steady.ref.max),
    '',
  );
  for (const p of [b1k, b10k]) {
    const pname = p.repeat > 1 ? `${p.name} (${p.repeat} runs pooled)` : p.name;
    row(`${pname}: latency p50 (ms)`, '—', fmt(p.ours.p50), fmt(p.ref.p50), ratio(p.ours.p50, p.ref.p50), '');
    row(
      `${pname}: latency p99 (ms)`,
      t('< reference'),
      fmt(p.ours.p99),
      fmt(p.ref.p99),
      ratio(p.ours.p99, p.ref.p99),
      v(p.ours.p99 < p.ref.p99),
    );
    row(`${pname}: latency max (ms)`, '—', fmt(p.ours.max), fmt(p.ref.max), ratio(p.ours.max, p.ref.max), '');
  }
  for (const p of run.phases) {
    row(
      `${p.name}: router's own share p50 / p99 (ms) [n]`,
      '—',
      `${fmt(p.share.p50, 2)} / ${fmt(p.share.p99, 2)} [${p.share.n}]`,
      '—',
      '',
      '',
    );
  }
  row(
    'RSS idle (MB)',
    t(`≤ ${TARGETS.rssIdle}`),
    fmt(run.idle.ours.median),
    fmt(run.idle.ref.median),
    ratio(run.idle.ours.median, run.idle.ref.median),
    v(run.idle.ours.median <= TARGETS.rssIdle),
  );
  row(
    `RSS peak, ${b1k.name} (MB)`,
    t(`≤ ${TARGETS.rssPeak1k}`),
    fmt(b1k.ours.rss.max),
    fmt(b1k.ref.rss.max),
    ratio(b1k.ours.rss.max, b1k.ref.rss.max),
    v(b1k.ours.rss.max <= TARGETS.rssPeak1k),
  );
  row(
    `RSS peak, ${b10k.name} (MB)`,
    '—',
    fmt(b10k.ours.rss.max),
    fmt(b10k.ref.rss.max),
    ratio(b10k.ours.rss.max, b10k.ref.rss.max),
    '',
  );
  row(
    'RSS peak, whole run (MB)',
    '—',
    fmt(run.peakAll.ours.max),
    fmt(run.peakAll.ref.max),
    ratio(run.peakAll.ours.max, run.peakAll.ref.max),
    '',
  );
  for (const p of run.phases) {
    row(
      `${p.name}: CPU s per 1,000 delivered`,
      '—',
      fmt(p.ours.cpuPer1000, 3),
      fmt(p.ref.cpuPer1000, 3),
      ratio(p.ours.cpuPer1000, p.ref.cpuPer1000),
      '',
    );
  }
  const ours = cpuAll(run, 'ours');
  const ref = cpuAll(run, 'ref');
  row(
    'all phases: CPU s per 1,000 delivered',
    t(`≤ ${TARGETS.cpuRatio} × reference`),
    fmt(ours, 3),
    fmt(ref, 3),
    ratio(ours, ref),
    v(ours <= TARGETS.cpuRatio * ref),
  );
  return rows;
}

function conversionRows(r) {
  const conv = r.conversion.results['parseXml + convertEvent + toCloudEvent + cloudEventJson'];
  const convFast = r.conversion.results['parseXmlFast + convertEvent + toCloudEvent + cloudEventJson'];
  return [
    {
      metric: 'conversion, parseXml path (events/s, one core)',
      target: '≥ 10,000',
      ours: String(conv),
      ref: '—',
      ratioStr: '',
      verdict: passFail(conv >= TARGETS.conversion),
    },
    {
      metric: "conversion, parseXmlFast path (the router's) (events/s)",
      target: '≥ 10,000',
      ours: String(convFast),
      ref: '—',
      ratioStr: '',
      verdict: passFail(convFast >= TARGETS.conversion),
    },
    ...viJsonConversionRows(r, convFast),
  ];
}

/** Issue 16: the VI/JSON pipeline on the same page, at least 1.5 × the router's SOAP path. */
function viJsonConversionRows(r, convFast) {
  const vj = r.conversion.vijson;
  const conv =
    r.conversion.results['VI/JSON: parseViJson + convertJsonEvent + toCloudEvent + cloudEventJson'];
  if (!vj || conv === undefined) return [];
  return [
    {
      metric: `conversion, VI/JSON path (events/s, one core; same page, ${vj.sameData}/${vj.events} events with equal data)`,
      target: '≥ 1.5 × parseXmlFast path',
      ours: String(conv),
      ref: '—',
      ratioStr: ratio(conv, convFast),
      verdict: passFail(conv >= 1.5 * convFast && vj.sameData === vj.events),
    },
  ];
}

function table(rows) {
  const out = ['| metric | target | ours | reference | ours/ref | verdict |', '|---|---|---|---|---|---|'];
  for (const x of rows)
    out.push(`| ${x.metric} | ${x.target} | ${x.ours} | ${x.ref} | ${x.ratioStr} | ${x.verdict} |`);
  return out.join('\n');
}

function phaseTable(run) {
  const phaseLines = run.phases.map(
    (p) =>
      `| ${p.name} | ${p.repeat} | ${p.posted.posted} | ${fmt(p.posted.seconds, 2)} | ${Math.round(p.posted.posted / p.posted.seconds)} | ${p.ranges.map(([a, b]) => `${a + 1}..${b}`).join(', ')} | ${p.ours.delivered} | ${p.ref.delivered} | ${p.ours.p99Each.map((x) => fmt(x, 0)).join(', ')} / ${p.ref.p99Each.map((x) => fmt(x, 0)).join(', ')} | ${p.ours.outOfOrder} / ${p.ref.outOfOrder} | ${fmt(p.ours.rss.max)} / ${fmt(p.ref.rss.max)} | ${p.drain}${p.warning ? ` (${p.warning})` : ''} |`,
  );
  return `| phase | runs | posted | post s | post events/s | keys | ours delivered | ref delivered | p99 per run ms, ours / ref | out of order ours / ref | peak RSS MB ours / ref | drain |
|---|---|---|---|---|---|---|---|---|---|---|---|
${phaseLines.join('\n')}`;
}

/** The latency of the vi_json path beside the SOAP path and the reference, from the runs on one simulator. */
function viJsonBeside(r) {
  const json = r.runs.find((x) => x.protocol === 'vi_json');
  const soap = json && r.runs.find((x) => x.protocol !== 'vi_json' && x.simulator.bin === json.simulator.bin);
  if (!json || !soap) return '';
  const lines = [];
  for (const pj of json.phases) {
    const ps = soap.phases.find((p) => p.name === pj.name);
    if (!ps) continue;
    for (const [what, key] of [
      ['p50', 'p50'],
      ['p99', 'p99'],
      ['max', 'max'],
    ])
      lines.push(
        `| ${pj.name}: latency ${what} (ms) | ${fmt(ps.ours[key])} | ${fmt(pj.ours[key])} | ${fmt(ps.ref[key])} / ${fmt(pj.ref[key])} | ${ratio(pj.ours[key], ps.ours[key])} |`,
      );
    lines.push(
      `| ${pj.name}: lost / duplicated | ${ps.ours.lost} / ${ps.ours.duplicated} | ${pj.ours.lost} / ${pj.ours.duplicated} | ${ps.ref.lost} / ${ps.ref.duplicated} , ${pj.ref.lost} / ${pj.ref.duplicated} | |`,
      `| ${pj.name}: CPU s per 1,000 delivered | ${fmt(ps.ours.cpuPer1000, 3)} | ${fmt(pj.ours.cpuPer1000, 3)} | ${fmt(ps.ref.cpuPer1000, 3)} / ${fmt(pj.ref.cpuPer1000, 3)} | ${ratio(pj.ours.cpuPer1000, ps.ours.cpuPer1000)} |`,
    );
  }
  return `## VI/JSON beside SOAP (on \`${json.simulator.bin}\`)

Ours over SOAP and ours over VI/JSON (through the harness peer) in two consecutive parts of this run on the
same simulator, each beside the reference (govmomi over SOAP) measured at the same time.

| metric | ours, SOAP | ours, VI/JSON | reference (SOAP part / VI/JSON part) | VI/JSON ÷ SOAP |
|---|---|---|---|---|
${lines.join('\n')}
`;
}

function runSection(run) {
  const sm = run.simulator;
  const json = run.protocol === 'vi_json';
  return `## On \`${sm.bin}\` (WaitForUpdates tick ${sm.tickMs} ms${sm.bin === 'vcsim' ? ", Debian's simulator as built" : ', the TEST VARIANT'})${json ? ', ours over VI/JSON' : ''}
${json ? `\nOur router follows the simulator through the VI/JSON harness peer (\`test/harness/bin/vijson\`, stream option \`protocol: vi_json\`); vctool and the reference stay on SOAP. The peer counted ${run.viJsonCalls?.vijson_calls} VI/JSON calls and ${run.viJsonCalls?.soap_calls} SOAP calls from the router. The peer adds a hop (JSON → SOAP to the simulator → JSON) that a vCenter does not have. No verdicts here: see the SOAP run above for the targets, and "VI/JSON beside SOAP" below.\n` : ''}
Load average (1/5/15 min) at the start of this part: ${run.loadAtStart.map((x) => x.toFixed(2)).join(' / ')}, at its end: ${run.loadAtEnd.map((x) => x.toFixed(2)).join(' / ')}.
${json ? '' : sm.targets ? 'The targets of issue 11 (part 2) are judged here, each against the reference measured in this same run.' : "Shown for comparison (the 250 ms tick hides most of a follower's own latency); no verdicts."}

${table(figures(run))}

### Phases on \`${sm.bin}\`

${phaseTable(run)}

- Idle CPU over 3 s: ours ${fmt(run.idle.cpuOurs, 2)} s, reference ${fmt(run.idle.cpuRef, 2)} s.
- ${run.diedEarly.ours || run.diedEarly.ref ? `**Exited before the end of the run: ours ${run.diedEarly.ours}, reference ${run.diedEarly.ref}.** ` : 'Both ran to the end. '}Shutdown (SIGTERM): router exit code ${run.routerCode}, reference exit code ${run.refCode}. Reference: ${run.refFinal}; POST errors: ${run.refErrors}.
- Router warnings/errors logged: ${run.routerErrors.length ? run.routerErrors.map((l) => '`' + l.slice(0, 200).replace(/`/g, "'") + '`').join('; ') : 'none'}.
`;
}

function report(r) {
  const m = r.machine;
  const classes = Object.entries(r.conversion.classes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `# Benchmarks

Latest figures of \`npm run bench\` (scripts/bench.sh → bench/run.mjs), ${r.when}.
Regenerated by every full run; do not edit by hand.

## Command

\`\`\`sh
npm ci          # once, from a fresh clone (Go + Debian govmomi are installed by scripts/build-harness.sh when root)
npm run bench   # builds dist/ and test/harness/bin/, runs bench/run.mjs, writes this file (~${Math.ceil(r.seconds / 60)} min)
\`\`\`

## Machine

- CPU: ${m.cpu}, \`nproc\` = ${m.nproc}
- ${m.node}, ${m.go}, govmomi (Debian) ${m.govmomi}, Linux ${m.kernel}
- \`free -h\`:

\`\`\`
${m.free}
\`\`\`

Load average (1/5/15 min) at the start: ${r.loadAtStart.map((x) => x.toFixed(2)).join(' / ')}, at the end: ${r.loadAtEnd.map((x) => x.toFixed(2)).join(' / ')}
(the machine is shared with other jobs; figures move by ±30 % from run to run when it is busy).
${r.routerNodeArgs.length ? `Router node flags: \`${r.routerNodeArgs.join(' ')}\`.` : ''}

Everything ran on this machine at once, on 127.0.0.1: the govmomi simulator (vcsim), the poster
(vctool), the peer, our router and the reference, so they share the ${m.nproc} cores.

## What runs

- **Simulators**, one after the other, each with its own peer, router and reference:
  \`test/harness/bin/vcsim-tick20ms\`, the harness's TEST VARIANT (Debian's govmomi 0.24 with only the
  WaitForUpdates tick changed from 250 ms to 20 ms, like newer govmomi simulators: a waiting
  \`WaitForUpdatesEx\` answers within ~20 ms of an event, as a vCenter does), then
  \`test/harness/bin/vcsim\` (Debian's govmomi 0.24 as built: 250 ms tick). Both keep only the newest
  1,000 events.
- **Peer** (\`bench/peer.mjs\`): a test OpenFaaS gateway (\`/system/namespaces\`, \`/system/functions\`,
  \`POST /function/NAME.NS\`, basic auth on \`/system/*\`). It records for every invocation the event's
  \`data.Key\`, \`data.CreatedTime\` and the arrival time (when the request body is complete).
  **Latency = arrival − createdTime**, both from this machine's clock.
- **Ours**: \`node dist/src/cli/main.js -config …\`, \`openfaas\` processor, \`async: false\` (sync),
  reaching function \`router-bench\` through its \`topic\` annotation (\`${CLASS}\`).
- **Reference** (\`test/harness/go/reffollower\`): govmomi \`event.NewManager(c).Events(ctx, [rootFolder], 1, true, false, handler)\`
  (the original router's page size 1 and tail), builds the same CloudEvent (id, source, specversion,
  type, subject, time, \`data = json.Marshal(event)\`, datacontenttype) and POSTs each event to
  \`/function/ref-bench.openfaas-fn\`, one request at a time (the original's OpenFaaS sync path).
- Both are started at the same time against the same simulator and receive the same events.
- Events: \`${CLASS}\` with the entity arguments of a VM, posted by \`vctool\` (one session):
  steady = one \`PostEvent\` every 10 ms; bursts = \`vctool burst -concurrency 8\`, as fast as the simulator
  takes them; the 1,000-event burst runs 3 times (1 s apart) and its latencies are pooled, as the
  machine is shared and one run is noisy (each run's p99 is in the phases table). A phase's events are the keys between the newest key before and after it, so
  **lost = posted − distinct keys received**, **duplicated = extra arrivals of a key**.
- RSS: \`/proc/PID/status\` VmRSS every 50 ms; idle = median over 3 s with no events after start-up
  and a 20-event warm-up; peak = maximum during the phase. CPU: \`/proc/PID/stat\` utime+stime
  delta over the phase (posting + drain) ÷ events the client delivered.
- Conversion: ${r.conversion.events} events captured from the simulator as a real
  \`RetrievePropertiesEx\` reply of a 1,000-event \`latestPage\` (${(r.conversion.bytes / 1024).toFixed(0)} KiB; ${classes}),
  parsed and converted in one process on one core by \`bench/convert.mjs\` with the compiled router code:
  \`parseXml\`/\`parseXmlFast\` → \`convertEvent\` → \`toCloudEvent\` → \`cloudEventJson\`.

- **Router's own share** (\`vmware_event_router_router_latency_seconds{processor}\`, scraped from
  \`/metrics\` before and after each phase): from the arrival of the vCenter reply that carried an event
  (its bytes complete, before parsing) to the processor handing the event to its peer (the first
  send of its batch). p50/p99 are interpolated inside the histogram's buckets.

${r.runs.map(runSection).join('\n')}
${viJsonBeside(r)}
## Conversion

${table(conversionRows(r))}

### Conversion (events/s, one core)

${r.conversion.rounds} interleaved rounds per pipeline; median and best round (load average during the run: ${fmt(r.conversion.loadavg, 2)}).

| pipeline | events/s (median) | best round |
|---|---|---|
${Object.entries(r.conversion.results)
  .map(
    ([k, v]) => `| ${k} | ${v.toLocaleString('en-US')} | ${r.conversion.best[k].toLocaleString('en-US')} |`,
  )
  .join('\n')}

### Other

- Whole run: ${fmt(r.seconds, 0)} s.
`;
}

function summary(r) {
  return (
    r.runs
      .map(
        (run) =>
          `\n${run.simulator.bin} (tick ${run.simulator.tickMs} ms)${run.protocol === 'vi_json' ? ', ours over VI/JSON' : ''}\n${table(figures(run))}\n`,
      )
      .join('') +
    '\n' +
    table(conversionRows(r)) +
    '\n'
  );
}

main()
  .catch((err) => {
    log(`FAILED: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of [...children]) await stopChild(c, 3000);
    fs.rmSync(tmp, { recursive: true, force: true });
    clearTimeout(deadline);
  });
