// The load phases of bench/run.mjs: post events to the simulator (steady or a
// burst), wait until both clients (our router and the reference) drained them
// from the peer, and measure what each delivered (bench/report.ts analyses).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  BIN,
  cpuSeconds,
  finished,
  lastJson,
  log,
  report,
  sleep,
  start,
  vctool,
  vctoolTarget,
} from './lib.mjs';

const { CLASS, analyse, fmt, parseShare, shareAdd, shareDelta, shareStats } = report;

/** The peer's function names of the two clients. */
export const SOURCES = { ours: 'router-bench', ref: 'ref-bench' };

/** The context a phase runs in: the simulator, the peer, the clients' pids, the RSS sampler, the router's /metrics. */
// { sim, peerUrl, pids: {ours, ref}, sampler, metricsUrl, tickMs }

async function peerGet(ctx, p) {
  const res = await fetch(ctx.peerUrl + p);
  if (!res.ok) throw new Error(`peer ${p}: ${res.status}`);
  return res.json();
}

/** Invocations the peer received so far, per client. */
export async function counts(ctx) {
  const c = await peerGet(ctx, '/_bench/counts');
  return { ours: c[SOURCES.ours], ref: c[SOURCES.ref], bad: c.bad };
}

/**
 * Waits until both clients received `n` more events than at `base`, or nothing
 * arrived for `quietMs` (a client that lost events never gets there), or `capMs`.
 */
export async function drain(ctx, base, n, quietMs, capMs) {
  const end = Date.now() + capMs;
  let last = await counts(ctx);
  let lastChange = Date.now();
  for (;;) {
    await sleep(100);
    const c = await counts(ctx);
    if (c.ours !== last.ours || c.ref !== last.ref) lastChange = Date.now();
    last = c;
    if (c.ours - base.ours >= n && c.ref - base.ref >= n) return { ...c, why: 'complete' };
    if (Date.now() - lastChange > quietMs) return { ...c, why: `quiet ${quietMs} ms` };
    if (Date.now() > end) return { ...c, why: `cap ${capMs} ms` };
  }
}

/** The newest event key the simulator holds. */
export async function newestKey(sim) {
  const out = await vctool(sim, ['events', '-page-size', '1']);
  let max = -Infinity;
  for (const line of out.split('\n')) if (line.trim()) max = Math.max(max, JSON.parse(line).key);
  return max;
}

/** Posts `rate` events a second for `seconds` through one vctool session. */
export async function postSteady(sim, rate, seconds) {
  const total = rate * seconds;
  const c = start(path.join(BIN, 'vctool'), [...vctoolTarget(sim), 'post']);
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
  const code = await finished(c);
  if (code !== 0) throw new Error(`vctool post failed: ${c.errText}`);
  return { posted: lastJson(c.outText).posted, seconds: (performance.now() - t0) / 1000 };
}

/** Posts `count` events as fast as the simulator takes them (8 at a time). */
export async function postBurst(sim, count, concurrency = 8) {
  return lastJson(
    await vctool(sim, [
      'burst',
      '-class',
      CLASS,
      '-count',
      String(count),
      '-concurrency',
      String(concurrency),
    ]),
  );
}

/**
 * Posts `n` events with `post()` and waits until both clients drained them,
 * `repeat` times (1 s apart); lost/duplicated/latency/CPU are computed over
 * all repetitions together, and the p99 of each repetition is kept too.
 */
export async function runPhase(ctx, { name, post, n, quietMs, capMs, repeat = 1 }) {
  const { pids, sampler, metricsUrl } = ctx;
  // arrivals further apart than this are different wake-ups of the simulator
  const batchGapMs = Math.min(50, ctx.tickMs / 2);
  const ranges = [];
  const posts = [];
  const drains = [];
  const warnings = [];
  const windows = [];
  const cpu = { ours: 0, ref: 0 };
  const scrape = async () => parseShare(await (await fetch(metricsUrl + '/metrics')).text());
  let share;
  for (let r = 0; r < repeat; r++) {
    if (r > 0) await sleep(1000);
    log(`phase ${name}${repeat > 1 ? ` (${r + 1}/${repeat})` : ''}: posting ${n} ${CLASS}`);
    const k0 = await newestKey(ctx.sim);
    const base = await counts(ctx);
    const share0 = await scrape();
    const cpu0 = { ours: cpuSeconds(pids.ours), ref: cpuSeconds(pids.ref) };
    const tStart = Date.now();
    const posted = await post();
    const d = await drain(ctx, base, n, quietMs, capMs);
    const tEnd = Date.now();
    const cpu1 = { ours: cpuSeconds(pids.ours), ref: cpuSeconds(pids.ref) };
    share = shareAdd(share, shareDelta(share0, await scrape()));
    const k1 = await newestKey(ctx.sim);
    for (const s of ['ours', 'ref']) cpu[s] += cpu1[s] - cpu0[s];
    if (k1 - k0 !== posted.posted)
      warnings.push(`key range ${k0}..${k1} holds ${k1 - k0} events, ${posted.posted} were posted`);
    ranges.push([k0, k1]);
    posts.push(posted);
    drains.push(d.why);
    windows.push([tStart, tEnd]);
  }
  const records = await peerGet(ctx, '/_bench/records');
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
    const each = ranges.map((rg) => analyse(records[SOURCES[s]], [rg], batchGapMs));
    a.p50Each = each.map((x) => x.p50);
    a.p99Each = each.map((x) => x.p99);
    a.cpuSeconds = cpu[s];
    a.cpuPer1000 = a.delivered > 0 ? (a.cpuSeconds * 1000) / a.delivered : NaN;
    a.cpuPer1000Posted = (a.cpuSeconds * 1000) / total;
    const st = windows.map(([s0, s1]) => sampler.stats(s, s0, s1));
    a.rss = { max: Math.max(...st.map((x) => x.max)) };
    res[s] = a;
  }
  log(
    `phase ${name}: posted ${total} in ${res.posted.seconds.toFixed(2)} s; ` +
      `ours lost ${res.ours.lost} dup ${res.ours.duplicated} p50 ${fmt(res.ours.p50)} ms p99 ${fmt(res.ours.p99)}; ` +
      `ref lost ${res.ref.lost} dup ${res.ref.duplicated} p50 ${fmt(res.ref.p50)} ms p99 ${fmt(res.ref.p99)} (${res.drain}); ` +
      `router's own share p50 ${fmt(res.share.p50)} ms p99 ${fmt(res.share.p99)} ms`,
  );
  return res;
}
