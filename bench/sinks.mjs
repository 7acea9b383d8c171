#!/usr/bin/env node
// The sinks side by side: the router follows the simulator with one processor
// at a time (OpenFaaS on the bench peer, Knative on a CloudEvents receiver,
// NATS JetStream on Debian's nats-server with -js, arrivals seen by a core
// subscription on `vsphere.events.>`), a
// burst is posted, and the script reports per sink the events/s delivered,
// the latency from the event's createdTime to its arrival at the peer (p50,
// p99), and the router's peak RSS.
//
//   npm run build && bash scripts/build-harness.sh && node bench/sinks.mjs [--count 1000]
//
// Prints one JSON object on stdout. 127.0.0.1 only.
import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  cleanup,
  metricsEntry,
  peakRssMb,
  report,
  sleep,
  start,
  startPeer,
  startRouter,
  startSimulator,
  stopChild,
  tmp,
  vcenterEntry,
  vctool,
} from './lib.mjs';

const { ascending, quantile } = report;

const COUNT = Number(process.argv[process.argv.indexOf('--count') + 1] || 1000) || 1000;
const CLASS = 'VmMessageEvent';

/** A CloudEvents receiver (structured mode): records [createdTimeMs, arrivalMs] per event. */
function receiver() {
  const records = [];
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const arrival = Date.now();
        try {
          const ev = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (ev.subject === CLASS) records.push([Date.parse(ev.data.CreatedTime), arrival]);
        } catch {
          // not a CloudEvent: not counted
        }
        res.writeHead(202).end();
      });
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/`, records: () => records }),
    );
  });
}

/** The bench peer's records of the router's function, as [createdTimeMs, arrivalMs]. */
async function peerRecords(url) {
  const r = await (await fetch(`${url}/_bench/records?from=0`)).json();
  return (r['router-bench'] ?? []).map(([, created, arrival]) => [created, arrival]);
}

async function measure(name, sim, processor, records) {
  const router = await startRouter([vcenterEntry(sim.url), processor, metricsEntry]);
  const t0 = Date.now();
  await vctool(sim, ['burst', '-class', CLASS, '-count', String(COUNT), '-concurrency', '8']);
  let got = [];
  for (let i = 0; i < 1200 && got.length < COUNT; i++) {
    await sleep(100);
    got = await records();
  }
  const latencies = ascending(got.map(([created, arrival]) => arrival - created));
  const lastArrival = Math.max(...got.map(([, a]) => a));
  const result = {
    sink: name,
    delivered: got.length,
    events_per_s: Math.round(got.length / ((lastArrival - t0) / 1000)),
    latency_p50_ms: Math.round(quantile(latencies, 0.5)),
    latency_p99_ms: Math.round(quantile(latencies, 0.99)),
    rss_peak_mb: peakRssMb(router.proc.pid),
  };
  await stopChild(router.proc);
  return result;
}

async function main() {
  const sim = await startSimulator();
  const results = [];

  const peer = await startPeer(CLASS);
  results.push(
    await measure(
      'openfaas',
      sim,
      { type: 'processor', provider: 'openfaas', address: peer.url, auth: peer.auth },
      () => peerRecords(peer.url),
    ),
  );

  const rx = await receiver();
  results.push(
    await measure(
      'knative (structured)',
      sim,
      { type: 'processor', provider: 'knative', address: rx.url, auth: { method: 'none' } },
      async () => rx.records(),
    ),
  );
  rx.server.close();

  // NATS JetStream: one nats-server (-js, temporary store); the router creates the stream.
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const nats = start(process.env.NATS_SERVER ?? 'nats-server', [
    '-js',
    '-sd',
    path.join(tmp, 'nats-store'),
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
  ]);
  let natsLog = '';
  nats.stderr.on('data', (d) => (natsLog += d));
  for (let i = 0; i < 200 && !/Server is ready/.test(natsLog); i++) await sleep(50);
  const { connect } = createRequire(import.meta.url)('@nats-io/transport-node');
  const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
  const natsRecords = [];
  nc.subscribe('vsphere.events.>', {
    callback: (_err, m) => {
      const arrival = Date.now();
      try {
        const ev = m.json();
        if (ev.subject === CLASS) natsRecords.push([Date.parse(ev.data.CreatedTime), arrival]);
      } catch {
        // not a CloudEvent: not counted
      }
    },
  });
  results.push(
    await measure(
      'nats_jetstream (1 server, PubAck awaited)',
      sim,
      {
        type: 'processor',
        provider: 'nats_jetstream',
        address: `nats://127.0.0.1:${port}`,
        auth: { method: 'none' },
        options: { stream: 'BENCH', create_stream: 'true' },
      },
      async () => natsRecords,
    ),
  );
  await nc.close();
  await stopChild(nats);

  process.stdout.write(JSON.stringify({ burst: COUNT, results }, null, 2) + '\n');
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
