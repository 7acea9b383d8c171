// The watchdog part of bench/run.mjs: what the vCenter stream's watchdog
// (option watchdog_interval: one EventManager.latestEvent read per interval)
// costs at steady state.
//
// Idle for minutes with the default interval (60 s) against 0 is lost in the
// noise of a shared machine, so the reads are made as frequent as the stream
// allows and counted: two routers run side by side for the same window, idle,
// against the same simulator, each with `streams` vCenter streams; one with
// watchdog_interval 1, one with 0 (off); otherwise the same (call_timeout 2:
// WaitForUpdatesEx waits 1 s, so the stream passes its watchdog check about
// once a second). Each stream talks to the simulator through
// test/peers/faulty-vcenter-proxy.ts, which answers latestEvent with the
// simulator's newest event as a vCenter does (the simulator leaves it unset),
// behind a counter here that counts the latestEvent reads. CPU per read =
// (CPU of the router with the watchdog − CPU of the one without) ÷ reads;
// bench/report.ts extrapolates it to one read a minute.
import http from 'node:http';
import {
  cpuSeconds,
  distModule,
  launchRouter,
  log,
  metricsEntry,
  openfaasEntry,
  report,
  routerReady,
  sleep,
  startPeer,
  startSimulator,
  stopChild,
  vcenterEntry,
} from './lib.mjs';

const { CLASS } = report;

const LATEST_EVENT_READ = /<(?:[\w-]+:)?pathSet>latestEvent<\/(?:[\w-]+:)?pathSet>/;

/** An HTTP forwarder to `target` that counts the SOAP requests reading EventManager.latestEvent. */
async function startReadCounter(target) {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const counter = { reads: 0, url: '', server: undefined };
  counter.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (LATEST_EVENT_READ.test(body.toString('utf8'))) counter.reads++;
      const fwd = http.request(
        { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      fwd.on('error', () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise((r) => counter.server.listen(0, '127.0.0.1', r));
  counter.url = `http://127.0.0.1:${counter.server.address().port}/sdk`;
  counter.stop = async () => {
    counter.server.closeAllConnections();
    agent.destroy();
    await new Promise((r) => counter.server.close(() => r()));
  };
  return counter;
}

const recoveries = (text) =>
  [...text.matchAll(/^vmware_event_router_stream_watchdog_recoveries_total\{[^}]*\} (\d+)/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );

/**
 * Runs the watchdog part; `own` (bench/lib.mjs withinLimit) stops every process
 * it started. Resolves with the figures bench/report.ts reads as WatchdogCost.
 */
export async function runWatchdogCost(own, { streams, windowSeconds }) {
  const { FaultyVCenterProxy } = distModule('test/peers/faulty-vcenter-proxy.js');
  const sim = await startSimulator('vcsim-tick20ms');
  own(sim.child);
  const peer = await startPeer(CLASS);
  own(peer.child);
  const stoppers = [];
  const routers = [];
  try {
    const setups = {};
    for (const [which, interval] of [
      ['on', '1'],
      ['off', '0'],
    ]) {
      const counters = [];
      for (let i = 0; i < streams; i++) {
        const proxy = new FaultyVCenterProxy(new URL(sim.url));
        await proxy.start();
        stoppers.push(() => proxy.stop());
        await proxy.record('user', 'pass');
        const counter = await startReadCounter(proxy.url);
        stoppers.push(() => counter.stop());
        counters.push(counter);
      }
      const router = own(
        launchRouter([
          ...counters.map((c, i) => ({
            ...vcenterEntry(c.url, { call_timeout: '2', watchdog_interval: interval }),
            name: `vcenter-${i + 1}`,
          })),
          openfaasEntry(peer),
          metricsEntry,
        ]),
      );
      routers.push(router);
      setups[which] = { interval: Number(interval), counters, router };
    }
    const metricsUrl = await routerReady(setups.on.router);
    await routerReady(setups.off.router);
    // The logins of every stream post events that the others deliver: let them settle.
    await sleep(5000);
    const reads = (which) => setups[which].counters.reduce((a, c) => a + c.reads, 0);
    const before = {
      on: { cpu: cpuSeconds(setups.on.router.pid), reads: reads('on') },
      off: { cpu: cpuSeconds(setups.off.router.pid), reads: reads('off') },
    };
    const rec0 = recoveries(await (await fetch(`${metricsUrl}/metrics`)).text());
    log(`watchdog: two idle routers × ${streams} streams, ${windowSeconds} s (watchdog_interval 1 and 0)`);
    await sleep(windowSeconds * 1000);
    const result = {
      streams,
      intervalSeconds: 1,
      windowSeconds,
      reads: reads('on') - before.on.reads,
      readsOff: reads('off') - before.off.reads,
      cpuOn: cpuSeconds(setups.on.router.pid) - before.on.cpu,
      cpuOff: cpuSeconds(setups.off.router.pid) - before.off.cpu,
      recoveries: recoveries(await (await fetch(`${metricsUrl}/metrics`)).text()) - rec0,
    };
    log(
      `watchdog: ${result.reads} reads; CPU ${result.cpuOn.toFixed(2)} s with, ${result.cpuOff.toFixed(2)} s without`,
    );
    return result;
  } finally {
    // the routers first: their vCenters are the proxies
    await Promise.all(routers.map((r) => stopChild(r, 10_000)));
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  }
}
