// The fleet part of bench/run.mjs: ONE router following many vCenters at once.
//
// `count` govmomi simulators (the 20 ms tick variant, started in parallel on
// free ports), one router with one vmware_vcenter stream per simulator and an
// OpenFaaS processor to bench/peer.mjs; then `eventsEach` events posted to
// every simulator. Every event must reach the peer exactly once: the peer
// records each event's key and source (the stream's address), and keys are
// counted per source, since every simulator has its own key space. Reports the
// router's RSS idle after the events and its peak, its CPU over the posting,
// and the latency of the fleet's events.
import { performance } from 'node:perf_hooks';
import {
  cpuSeconds,
  launchRouter,
  log,
  metricsEntry,
  openfaasEntry,
  peakRssMb,
  pool,
  report,
  routerReady,
  Sampler,
  sleep,
  startPeer,
  startSimulator,
  statusMb,
  stopChild,
  vcenterEntry,
} from './lib.mjs';
import { postBurst } from './phases.mjs';

const { CLASS, fleetDelivery } = report;

const peerRecords = async (peerUrl) =>
  (await (await fetch(`${peerUrl}/_bench/records`)).json())['router-bench'];

/** Waits until `expected` distinct events arrived, or nothing arrived for `quietMs`, or `capMs`. */
async function drainFleet(peerUrl, sims, posted, quietMs, capMs) {
  const end = Date.now() + capMs;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const d = fleetDelivery(
      await peerRecords(peerUrl),
      sims.map((sim) => sim.url),
      posted,
    );
    if (d.delivered !== last) lastChange = Date.now();
    last = d.delivered;
    if (d.delivered >= d.posted) return { ...d, why: 'complete' };
    if (Date.now() - lastChange > quietMs) return { ...d, why: `quiet ${quietMs} ms` };
    if (Date.now() > end) return { ...d, why: `cap ${capMs} ms` };
    await sleep(200);
  }
}

/**
 * Runs the fleet part; `own` (bench/lib.mjs withinLimit) stops every process
 * it started. Resolves with the figures bench/report.ts reads as FleetResult.
 */
export async function runFleet(own, { count, eventsEach }) {
  const t0 = performance.now();
  const sims = await Promise.all(
    Array.from({ length: count }, async () => {
      const sim = await startSimulator('vcsim-tick20ms', { timeoutMs: 120_000 });
      own(sim.child);
      return sim;
    }),
  );
  const simStartSeconds = (performance.now() - t0) / 1000;
  log(`fleet: ${count} simulators up after ${simStartSeconds.toFixed(1)} s`);

  const peer = await startPeer(CLASS);
  own(peer.child);
  const width = String(count).length;
  const entries = sims.map((sim, i) => ({
    ...vcenterEntry(sim.url, { insecure: 'true' }),
    name: `vcenter-${String(i + 1).padStart(width, '0')}`,
  }));
  const tLaunch = performance.now();
  const router = own(launchRouter([...entries, openfaasEntry(peer), metricsEntry]));
  const sampler = new Sampler({ ours: router.pid });
  try {
    await routerReady(router, { timeoutMs: 90_000 });
    const readySeconds = (performance.now() - tLaunch) / 1000;
    log(`fleet: router (pid ${router.pid}) ready with ${count} streams after ${readySeconds.toFixed(1)} s`);

    const cpu0 = cpuSeconds(router.pid);
    const tPost = performance.now();
    const posted = await pool(sims, 8, async (sim) => (await postBurst(sim, eventsEach, 4)).posted);
    const d = await drainFleet(peer.url, sims, posted, 10_000, 60_000);
    const drainSeconds = (performance.now() - tPost) / 1000;
    const cpu = cpuSeconds(router.pid) - cpu0;
    log(
      `fleet: posted ${d.posted}, delivered ${d.delivered}, lost ${d.lost}, duplicated ${d.duplicated} ` +
        `(${d.why}, ${drainSeconds.toFixed(1)} s)`,
    );

    // idle after the events: as the single-vCenter runs measure it (median of 3 s, after 1 s)
    await sleep(1000);
    const idleFrom = Date.now();
    await sleep(3000);
    const rssIdle = sampler.stats('ours', idleFrom, Date.now());
    const rssPeak = sampler.stats('ours', 0, Date.now()).max;
    const rssHwm = peakRssMb(router.pid);
    const simRssMb = sims.reduce((a, sim) => a + statusMb(sim.child.pid, 'VmRSS'), 0);
    log(`fleet: router RSS idle ${rssIdle.median.toFixed(1)} MB, peak ${rssPeak.toFixed(1)} MB`);
    const routerCode = await stopChild(router, 10_000);
    return {
      vcenters: count,
      eventsEach,
      simStartSeconds,
      readySeconds,
      posted: d.posted,
      delivered: d.delivered,
      lost: d.lost,
      duplicated: d.duplicated,
      unexpected: d.unexpected,
      p50: d.p50,
      p99: d.p99,
      drain: d.why,
      drainSeconds,
      cpuSeconds: cpu,
      rssIdle,
      rssPeak,
      rssHwm,
      simRssMb,
      routerCode,
    };
  } finally {
    sampler.stop();
  }
}
