#!/usr/bin/env node
// The fail-over part of `npm run bench`: router replicas sharing three vCenter
// streams through leases, for each coordination provider (NATS: Debian's
// nats-server with JetStream; Kubernetes: the Lease API test peer, as no API
// server is packaged here).
//
// Three simulators (vcsim-tick20ms; streams s1..s3, checkpoints on), the bench
// OpenFaaS peer (bench/peer.mjs, records every arrival with its source), 100
// events/s posted on each simulator throughout every part:
//   - kill: two replicas (same config, POD_NAME router-a / router-b), SIGKILL of
//     the holder of s1 mid-load: time without delivery of s1 (from the kill to
//     the first s1 arrival after the other replica acquired the lease), lost
//     and duplicated events per stream;
//   - term: the same with SIGTERM (a rolling update): time until each of the
//     holder's streams is delivered again by the other replica, lost, duplicated;
//   - steady: one replica following the three streams for a minute, without
//     and with a coordination entry: CPU seconds per minute, and the store's
//     writes per second per lease, counted at the store (NATS: a subscription
//     on the bucket's subjects, checked against the KV stream's last sequence
//     in the server's /jsz; Kubernetes: the peer's request log).
// Writes its section of docs/benchmarks.md (bench/failover-report.ts)
// and prints the result as JSON. 127.0.0.1 only; every child is stopped on exit.
//
//   node bench/failover.mjs [--quick] [--no-write] [--provider nats|kubernetes]
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  cleanup,
  cpuSeconds,
  distModule,
  exited,
  launchRouter,
  log,
  machine,
  metricsEntry,
  openfaasEntry,
  report,
  ROOT,
  routerReady,
  sleep,
  start,
  startPeer,
  startSimulator,
  stopChild,
  tmp,
  vcenterEntry,
  vctool,
  waitFor,
  waitLine,
} from './lib.mjs';
import { drain, newestKey, postSteady, SOURCES } from './phases.mjs';

const { CLASS, analyse } = report;
/** bench/failover-report.ts: this part's section of docs/benchmarks.md. */
const { failoverSection, withFailoverSection } = distModule('bench/failover-report.js');

const QUICK = process.argv.includes('--quick');
const WRITE = !process.argv.includes('--no-write') && !QUICK;
const only = process.argv.includes('--provider') ? process.argv[process.argv.indexOf('--provider') + 1] : '';
const PROVIDERS = ['nats', 'kubernetes'].filter((p) => !only || p === only);
const OUT = path.join(ROOT, 'docs', 'benchmarks.md');
const STREAMS = ['s1', 's2', 's3'];
const RATE = 100; // events/s posted on each simulator
const LEASE = { lease_duration: 6, renew_deadline: 4, retry_period: 1 };
const STEADY_SECONDS = QUICK ? 15 : 60;
const WARMUP_SECONDS = QUICK ? 3 : 5;
/** Seconds of load before the kill or the SIGTERM, and in all. */
const ACTION_AT = QUICK ? 6 : 10;
const LOAD_SECONDS = { kill: QUICK ? 20 : 30, term: QUICK ? 14 : 20 };
const TOTAL_LIMIT_MS = 15 * 60_000;
/** No new arrival for this long after the load: what is missing is lost. */
const QUIET_MS = 20_000;

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    process.exit(130);
  });
}
setTimeout(() => {
  log(`time limit (${TOTAL_LIMIT_MS / 60000} min) reached: stopping every process`);
  process.exit(2);
}, TOTAL_LIMIT_MS).unref();

// ------------------------------------------------------------------ the stores

/** Debian's nats-server (test/peers/nats.ts) and a count of the writes to the lease bucket. */
async function natsStore() {
  const { startNatsServer } = distModule('test/peers/nats.js');
  const server = await startNatsServer({ name: 'failover' });
  const killServer = () => server.proc?.kill('SIGKILL');
  process.once('exit', killServer);
  const { connect } = createRequire(import.meta.url)('@nats-io/transport-node');
  const nc = await connect({ servers: server.url });
  // Every KV put is a message on $KV.<bucket>.<key>: a core subscription sees each one the server stored.
  const perKey = new Map();
  nc.subscribe('$KV.vmware-event-router.>', {
    callback: (_err, m) => {
      const k = m.subject.slice('$KV.vmware-event-router.'.length);
      perKey.set(k, (perKey.get(k) ?? 0) + 1);
    },
  });
  const lastSeq = async () => {
    const j = await (await fetch(`http://127.0.0.1:${server.monitorPort}/jsz?streams=true`)).json();
    const streams = (j.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
    return streams.find((s) => s.name === 'KV_vmware-event-router')?.state.last_seq ?? 0;
  };
  return {
    provider: 'nats',
    version: `nats-server ${server.output.match(/Version:\s+(\S+)/)?.[1] ?? 'n/a'}`,
    entry: {
      type: 'coordination',
      provider: 'nats',
      address: server.url,
      auth: { method: 'none' },
      options: { ...LEASE },
    },
    counted:
      "a core subscription on the bucket's subjects ($KV.vmware-event-router.>), checked against the KV stream's last sequence in the server's /jsz",
    async writes() {
      await nc.flush();
      return { perKey: Object.fromEntries(perKey), total: await lastSeq() };
    },
    async stop() {
      await nc.close();
      await server.dispose();
      process.off('exit', killServer);
    },
  };
}

/** The Kubernetes Lease API test peer in its own process (bench/kubernetes-store.mjs), which counts writes. */
async function kubernetesStore() {
  const token = crypto.randomBytes(16).toString('hex');
  const child = start(process.execPath, [path.join(ROOT, 'bench', 'kubernetes-store.mjs'), '--token', token]);
  const { url, writes } = await waitLine(child, (v) => typeof v.url === 'string', 'kubernetes-store');
  return {
    provider: 'kubernetes',
    version: 'test peer (test/peers/kubernetes-api.ts)',
    entry: {
      type: 'coordination',
      provider: 'kubernetes',
      address: url,
      auth: { method: 'bearer', secret: { token } },
      options: { namespace: 'default', ...LEASE },
    },
    counted: "the peer's request log: POST and PUT of leases answered 2xx",
    async writes() {
      const byPath = await (await fetch(writes)).json();
      const perKey = {};
      let total = 0;
      for (const [k, n] of Object.entries(byPath)) {
        total += n;
        const name = k.startsWith('PUT ') ? k.slice(k.lastIndexOf('/') + 1) : '(create)';
        perKey[name] = (perKey[name] ?? 0) + n;
      }
      return { perKey, total };
    },
    stop: () => stopChild(child),
  };
}

const STORES = { nats: natsStore, kubernetes: kubernetesStore };

/** Writes per lease of `streams` (keys ending in -<stream>) and of the rest, between two counts. */
function writesBetween(a, b, seconds) {
  const perStream = {};
  let streamsTotal = 0;
  for (const s of STREAMS) {
    const k = Object.keys(b.perKey).find((x) => x.endsWith(`-${s}`));
    const n = k ? b.perKey[k] - (a.perKey[k] ?? 0) : 0;
    perStream[s] = n / seconds;
    streamsTotal += n;
  }
  const total = b.total - a.total;
  return { perStream, other: (total - streamsTotal) / seconds, total: total / seconds };
}

// ------------------------------------------------------------------ replicas

/** A router replica; `held` follows its log lines (acquired / released / lost, with the router's own time). */
async function startReplica(name, entries) {
  const proc = launchRouter(entries, [], { POD_NAME: name });
  const replica = { name, proc, events: [], held: new Set(), exitedAt: undefined };
  let buf = '';
  proc.stderr.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = /^(\S+)\s+\S+\s+lease of stream (\S+) (acquired|released|lost)/.exec(line);
      if (!m) continue;
      replica.events.push({ t: Date.parse(m[1]), stream: m[2], what: m[3] });
      if (m[3] === 'acquired') replica.held.add(m[2]);
      else replica.held.delete(m[2]);
    }
  });
  proc.once('exit', () => (replica.exitedAt = Date.now()));
  replica.metricsUrl = await routerReady(proc);
  return replica;
}

/** Waits until the replicas hold every stream between them, each its share (floor or ceil of M/R). */
async function settled(replicas, timeoutMs = 60_000) {
  const lo = Math.floor(STREAMS.length / replicas.length);
  const hi = Math.ceil(STREAMS.length / replicas.length);
  await waitFor(
    'the leases to settle',
    () => {
      const all = replicas.flatMap((r) => [...r.held]);
      return (
        new Set(all).size === STREAMS.length &&
        all.length === STREAMS.length &&
        replicas.every((r) => r.held.size >= lo && r.held.size <= hi)
      );
    },
    timeoutMs,
    100,
  );
  log(`leases settled: ${replicas.map((r) => `${r.name} ${[...r.held].sort().join(',')}`).join('; ')}`);
}

// ------------------------------------------------------------------ the parts

function configOf(env, coordination) {
  return [
    ...env.sims.map((sim, i) => ({
      ...vcenterEntry(sim.url, {
        insecure: 'true',
        checkpoint: 'true',
        // without coordination the checkpoints are files
        ...(coordination ? {} : { checkpoint_dir: path.join(tmp, 'checkpoints') }),
      }),
      name: STREAMS[i],
    })),
    openfaasEntry(env.peer),
    metricsEntry,
    // Each part its own leases: the checkpoints of the parts before are of other simulators.
    ...(coordination
      ? [{ ...coordination, options: { ...coordination.options, lease_prefix: `part${env.part}-` } }]
      : []),
  ];
}

/** Posts RATE events/s on every simulator for `seconds`; resolves with each one's count. */
const postAll = (env, seconds) => Promise.all(env.sims.map((sim) => postSteady(sim, RATE, seconds)));

/** The router's arrivals at the peer, per stream (by the source's port). */
async function arrivals(env) {
  const records = (await (await fetch(env.peer.url + '/_bench/records')).json())[SOURCES.ours];
  const byPort = new Map(env.sims.map((sim, i) => [new URL(sim.url).port, STREAMS[i]]));
  const out = Object.fromEntries(STREAMS.map((s) => [s, []]));
  for (const r of records) {
    const s = byPort.get(new URL(r[3]).port);
    if (s) out[s].push(r);
  }
  return out;
}

/** The newest key of each simulator (asked again when a simulator's latest page came back empty). */
async function keysNow(env) {
  return Promise.all(
    env.sims.map(async (sim) => {
      for (let attempt = 1; ; attempt++) {
        const k = await newestKey(sim);
        if (Number.isFinite(k) || attempt === 5) return k;
        await sleep(200);
      }
    }),
  );
}

/** Waits until the peer has had nothing new for 3 s (the steady parts: their deliveries are not counted). */
async function settleDeliveries(env) {
  const ctx = { peerUrl: env.peer.url };
  const c = await (await fetch(env.peer.url + '/_bench/counts')).json();
  return (await drain(ctx, { ours: c[SOURCES.ours], ref: c[SOURCES.ref] }, Infinity, 3000, 120_000)).why;
}

/**
 * Waits until every stream delivered each of its `posted[i]` events after key
 * `k0[i]`, or nothing new arrived for QUIET_MS (what is missing then is lost),
 * or 2 min; resolves with the arrivals per stream and why it stopped. A quiet
 * second is not the end: a follower can wait for the simulator's next wake-up.
 */
async function allDelivered(env, k0, posted) {
  const end = Date.now() + 120_000;
  let count = -1;
  let lastChange = Date.now();
  for (;;) {
    const got = await arrivals(env);
    const n = STREAMS.reduce((a, s) => a + got[s].length, 0);
    if (n !== count) lastChange = Date.now();
    count = n;
    const complete = STREAMS.every(
      (s, i) => analyse(got[s], [[k0[i], Infinity]]).delivered >= posted[i].posted,
    );
    if (complete) return { got, why: 'complete' };
    if (Date.now() - lastChange > QUIET_MS) return { got, why: `nothing new for ${QUIET_MS / 1000} s` };
    if (Date.now() > end) return { got, why: 'cap 120 s' };
    await sleep(500);
  }
}

/**
 * Two replicas under load; the holder of s1 gets `signal` at ACTION_AT s.
 * For every stream the victim held: when the other replica acquired its lease
 * and when the first of its events arrived after that (the time without delivery).
 */
async function failover(env, store, signal) {
  const kind = signal === 'SIGKILL' ? 'kill' : 'term';
  const replicas = await Promise.all(
    ['router-a', 'router-b'].map((n) => startReplica(n, configOf(env, store.entry))),
  );
  await settled(replicas);
  const k0 = await keysNow(env);
  const posting = postAll(env, LOAD_SECONDS[kind]);
  await sleep(ACTION_AT * 1000);
  const victim = replicas.find((r) => r.held.has('s1'));
  const survivor = replicas.find((r) => r !== victim);
  const moved = [...victim.held].sort();
  const tAction = Date.now();
  victim.proc.kill(signal);
  log(`${signal} ${victim.name} (holding ${moved.join(', ')})`);
  await waitFor(
    `${survivor.name} to take ${moved.join(', ')} over`,
    () => moved.every((s) => survivor.held.has(s)),
    (LEASE.lease_duration + 20) * 1000,
    50,
  );
  const posted = await posting;
  const { got, why: drained } = await allDelivered(env, k0, posted);
  const k1 = await keysNow(env);
  const streams = {};
  STREAMS.forEach((s, i) => {
    // The key range also holds the replicas' own session events (logins, logouts), which no
    // function subscribes to: lost = posted events of the bench class never delivered.
    // Each part has simulators of its own: every key after k0 is of this part.
    const a = analyse(got[s], [[k0[i], Infinity]]);
    streams[s] = {
      posted: posted[i].posted,
      otherEvents: k1[i] - k0[i] - posted[i].posted,
      delivered: a.delivered,
      lost: posted[i].posted - a.delivered,
      duplicated: a.duplicated,
    };
  });
  const handovers = moved.map((s) => {
    const acquiredAt = survivor.events.find(
      (e) => e.stream === s && e.what === 'acquired' && e.t >= tAction,
    )?.t;
    const first = got[s].map((r) => r[2]).filter((t) => t >= acquiredAt);
    const firstAt = first.length ? Math.min(...first) : NaN;
    return {
      stream: s,
      leaseAcquiredMs: acquiredAt - tAction,
      noDeliveryMs: firstAt - tAction,
    };
  });
  const victimCode = await exited(victim.proc);
  const result = {
    signal,
    victim: victim.name,
    moved,
    victimExit: victim.proc.signalCode ?? victimCode,
    victimExitedMs: victim.exitedAt - tAction,
    handovers,
    streams,
    drain: drained,
  };
  await stopChild(survivor.proc);
  log(`${store.provider} ${signal}: ${JSON.stringify({ handovers, streams })}`);
  return result;
}

/** One replica following the three streams under steady load: CPU seconds per minute, store writes per second. */
async function steady(env, store) {
  const label = store ? store.provider : 'none';
  const replica = await startReplica('router-a', configOf(env, store?.entry));
  if (store) await settled([replica]);
  await postAll(env, WARMUP_SECONDS);
  const w0 = store && (await store.writes());
  const cpu0 = cpuSeconds(replica.proc.pid);
  const t0 = Date.now();
  await postAll(env, STEADY_SECONDS);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(replica.proc.pid) - cpu0;
  const w1 = store && (await store.writes());
  await settleDeliveries(env);
  await stopChild(replica.proc);
  const out = {
    coordination: label,
    seconds,
    cpuSecondsPerMinute: (cpu / seconds) * 60,
    ...(store ? { writesPerSecond: writesBetween(w0, w1, seconds) } : {}),
  };
  log(`steady, coordination ${label}: ${JSON.stringify(out)}`);
  return out;
}

/**
 * Runs `part` on three fresh simulators (and leases of its own): a replica killed before stays logged in
 * with its collectors and a waiting WaitForUpdatesEx on a simulator, which slows
 * it down for every part after.
 */
async function onFreshSimulators(env, part) {
  env.part++;
  env.sims = await Promise.all(STREAMS.map(() => startSimulator('vcsim-tick20ms')));
  try {
    await Promise.all(env.sims.map((sim) => vctool(sim, ['about']))); // the one login of vctool (session file)
    return await part();
  } finally {
    await Promise.all(env.sims.map((sim) => stopChild(sim.child)));
  }
}

async function main() {
  const t0 = Date.now();
  const loadAtStart = os.loadavg();
  const peer = await startPeer(CLASS);
  const env = { peer, sims: [], part: 0 };
  log(`peer ${peer.url}; three fresh simulators for every part`);

  const baseline = await onFreshSimulators(env, () => steady(env, undefined));
  const providers = [];
  for (const provider of PROVIDERS) {
    const store = await STORES[provider]();
    try {
      const cost = await onFreshSimulators(env, () => steady(env, store));
      const kill = await onFreshSimulators(env, () => failover(env, store, 'SIGKILL'));
      const term = await onFreshSimulators(env, () => failover(env, store, 'SIGTERM'));
      providers.push({ provider, store: store.version, counted: store.counted, cost, kill, term });
    } finally {
      await store.stop();
    }
  }
  const result = {
    when: new Date().toISOString(),
    machine: machine(),
    quick: QUICK,
    loadAtStart,
    loadAtEnd: os.loadavg(),
    rate: RATE,
    lease: LEASE,
    steadySeconds: STEADY_SECONDS,
    actionAt: ACTION_AT,
    loadSeconds: LOAD_SECONDS,
    baseline,
    providers,
    seconds: (Date.now() - t0) / 1000,
  };
  fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'dist', 'bench-failover-result.json'), JSON.stringify(result, null, 2));
  if (WRITE && PROVIDERS.length === 2) {
    fs.writeFileSync(OUT, withFailoverSection(fs.readFileSync(OUT, 'utf8'), failoverSection(result)));
    log(`wrote ${path.relative(ROOT, OUT)}`);
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
