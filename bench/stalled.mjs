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
import http from 'node:http';
import {
  cleanup,
  metricsEntry,
  peakRssMb,
  sleep,
  startPeer,
  startRouter,
  startSimulator,
  vcenterEntry,
  vctool,
} from './lib.mjs';

const COUNT = Number(process.argv[process.argv.indexOf('--count') + 1] || 10_000) || 10_000;

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

async function main() {
  const sim = await startSimulator();
  const peer = await startPeer('VmMessageEvent');
  const fastUrl = peer.url;
  const auth = peer.auth;
  const stalled = await stalledGateway();
  const router = await startRouter([
    vcenterEntry(sim.url),
    { type: 'processor', provider: 'openfaas', name: 'fast', address: fastUrl, auth },
    { type: 'processor', provider: 'openfaas', name: 'stalled', address: stalled.url, auth },
    metricsEntry,
  ]);
  const idleMb = peakRssMb(router.proc.pid);
  const t0 = Date.now();
  await vctool(sim, ['burst', '-class', 'VmMessageEvent', '-count', String(COUNT), '-concurrency', '8']);
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
  const readyz = await (await fetch(`${router.metricsUrl}/readyz`)).json();
  const result = {
    posted: COUNT,
    fast_received: fast,
    seconds_until_fast_settled: Number(seconds.toFixed(2)),
    event_log: readyz.details?.event_log,
    rss_peak_mb: peakRssMb(router.proc.pid),
    rss_before_burst_mb: idleMb,
    log_full_logged: /event log full/.test(router.proc.errText),
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
  .finally(cleanup);
