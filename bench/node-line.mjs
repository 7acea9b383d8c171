// The Node.js-line part of bench/run.mjs: our router's memory on another
// maintained Node.js line than the one the image ships (the targets must hold
// there too). Our router alone on a fresh 20 ms simulator, as the main runs
// measure it: a 20-event warm-up, idle RSS (median of 3 s), then one
// 1,000-event burst (peak RSS, lost/duplicated).
import {
  launchRouter,
  log,
  metricsEntry,
  openfaasEntry,
  nodeBinary,
  nodeVersion,
  report,
  routerReady,
  Sampler,
  sleep,
  startPeer,
  startSimulator,
  stopChild,
  vcenterEntry,
  vctool,
} from './lib.mjs';
import { newestKey, postBurst, SOURCES } from './phases.mjs';

const { CLASS, analyse } = report;

const peerCount = async (peerUrl) => (await (await fetch(`${peerUrl}/_bench/counts`)).json())[SOURCES.ours];

/** Waits until the router delivered `n` events more than `base`, or nothing arrived for `quietMs`. */
async function delivered(peerUrl, base, n, quietMs) {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const c = await peerCount(peerUrl);
    if (c !== last) lastChange = Date.now();
    last = c;
    if (c - base >= n) return 'complete';
    if (Date.now() - lastChange > quietMs) return `quiet ${quietMs} ms`;
    await sleep(100);
  }
}

/**
 * Runs the part on Node.js `line`; `own` (bench/lib.mjs withinLimit) stops every
 * process it started. Resolves with the figures bench/report.ts reads as NodeLineRun.
 */
export async function runOnNodeLine(own, line) {
  const node = nodeBinary(line);
  const sim = await startSimulator('vcsim-tick20ms');
  own(sim.child);
  await vctool(sim, ['about']);
  const peer = await startPeer(CLASS);
  own(peer.child);
  const router = own(
    launchRouter(
      [vcenterEntry(sim.url, { insecure: 'true' }), openfaasEntry(peer), metricsEntry],
      [],
      {},
      node,
    ),
  );
  const sampler = new Sampler({ ours: router.pid });
  try {
    await routerReady(router);
    await postBurst(sim, 20, 1);
    await delivered(peer.url, 0, 20, 10_000);
    await sleep(1000);
    const idleFrom = Date.now();
    await sleep(3000);
    const idle = sampler.stats('ours', idleFrom, Date.now());

    const k0 = await newestKey(sim);
    const base = await peerCount(peer.url);
    const tBurst = Date.now();
    await postBurst(sim, 1000);
    const drain = await delivered(peer.url, base, 1000, 5000);
    const k1 = await newestKey(sim);
    const peak1k = sampler.stats('ours', tBurst, Date.now()).max;
    const records = (await (await fetch(`${peer.url}/_bench/records`)).json())[SOURCES.ours];
    const burst = analyse(records, [[k0, k1]]);
    const result = {
      line,
      node: nodeVersion(node),
      idle,
      peak1k,
      lost: burst.lost,
      duplicated: burst.duplicated,
      drain,
    };
    log(
      `Node.js ${result.node}: idle RSS ${idle.median.toFixed(1)} MB, peak in the 1,000 burst ${peak1k.toFixed(1)} MB`,
    );
    await stopChild(router, 10_000);
    return result;
  } finally {
    sampler.stop();
  }
}
