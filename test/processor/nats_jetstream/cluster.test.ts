/**
 * Issue 14, NATS JetStream, three servers: a JetStream cluster of three
 * nats-servers on loopback and a stream with three replicas (created by the
 * router). The server leading the stream is killed with SIGKILL in the middle
 * of a burst and started again: every event is in the stream exactly once
 * (publishes that lost their PubAck are retried by the runner; the stream
 * drops the re-sends by their Nats-Msg-Id).
 */
import { natsMsgId } from '../../../src/processor/nats_jetstream/msg-id';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { about, buildHarness, burst, startSimulator, type Simulator } from '../../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../../helpers/e2e';
import { startNatsCluster, type NatsServer } from '../../peers/nats';

jest.setTimeout(300_000);

const STREAM = 'VSPHERE_R3';
/** The simulator keeps its newest 1,000 events: a larger burst could outrun a stalled reader. */
const EVENTS = 1000;

let sim: Simulator;
let servers: NatsServer[] = [];
let router: RouterProcess;
let nc: NatsConnection;

beforeAll(async () => {
  buildHarness();
  servers = await startNatsCluster(3);
  sim = await startSimulator();
  await about(sim);
  router = await startRouterProcess([
    vcenterEntry(sim),
    {
      type: 'processor',
      provider: 'nats_jetstream',
      address: servers.map((s) => s.url).join(','),
      auth: { method: 'none' },
      options: { stream: STREAM, create_stream: 'true', replicas: '3', timeout: '2' },
    },
    metricsEntry(),
  ]);
  await routerReady(router, 60_000);
  nc = await connect({
    servers: servers.map((s) => s.url),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
});

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await router?.stop();
  await sim?.stop();
  for (const s of servers) await s.dispose();
});

/** The stream's message count, asked of whichever server answers (the cluster may be electing). */
async function count(jsm: JetStreamManager): Promise<number> {
  try {
    return (await jsm.streams.info(STREAM)).state.messages;
  } catch {
    return -1;
  }
}

test('the stream leader killed with SIGKILL mid-burst and restarted: every event in the stream exactly once', async () => {
  const jsm = await jetstreamManager(nc, { timeout: 2000 });
  const info = await jsm.streams.info(STREAM);
  expect(info.config.num_replicas).toBe(3);
  const leaderName = info.cluster?.leader;
  const victim = servers.find((s) => s.name === leaderName) ?? servers[0];

  const posting = burst(sim, 'VmPoweredOnEvent', EVENTS, 4);
  // In the middle of the burst: some events stored, most still to come.
  await waitFor('a tenth of the burst stored', async () => (await count(jsm)) >= EVENTS / 10, 120_000);
  await victim.kill();
  const storedAtKill = await count(jsm);
  // Published on while the survivors elect a new leader, then the killed server comes back.
  await waitFor(
    'more events stored without the killed server',
    async () => (await count(jsm)) > storedAtKill + 100,
    120_000,
  );
  await victim.start();

  expect((await posting).posted).toBe(EVENTS);
  try {
    await waitFor(`${EVENTS} messages in the stream`, async () => (await count(jsm)) >= EVENTS, 180_000);
  } catch (err) {
    console.log(`stream holds ${await count(jsm)}; router log:\n${router.stderr().slice(-6000)}`);
    throw err;
  }
  await waitFor(
    'the router owes nothing',
    async () => {
      const text = await (await fetch(`${router.metricsUrl}/metrics`)).text();
      return /^vmware_event_router_log_events 0$/m.test(text);
    },
    60_000,
  );
  await waitFor('the restarted server healthy again', () => victim.healthy(), 120_000);
  expect(await count(jsm)).toBe(EVENTS);

  // Read the whole stream: each event once, ids and keys unique, all of the burst.
  const js = jetstream(nc);
  const consumer = await js.consumers.get(STREAM);
  const keys: number[] = [];
  const ids = new Set<string>();
  const messages = await consumer.consume();
  for await (const m of messages) {
    const event = m.json<{ id: string; source: string; data: { Key: number } }>();
    expect(m.headers?.get('Nats-Msg-Id')).toBe(natsMsgId(event));
    ids.add(event.id);
    keys.push(event.data.Key);
    if (keys.length >= EVENTS) break;
  }
  expect(keys).toHaveLength(EVENTS);
  expect(ids.size).toBe(EVENTS);
  expect(new Set(keys).size).toBe(EVENTS);
  const sorted = [...keys].sort((a, b) => a - b);
  expect(sorted[EVENTS - 1] - sorted[0]).toBe(EVENTS - 1);

  const metrics = await (await fetch(`${router.metricsUrl}/metrics`)).text();
  // Printed for the report: how many publishes the loss cost.
  console.log(
    metrics
      .split('\n')
      .filter((l) => /processor_(retries|errors)_total\{/.test(l))
      .join('\n') || 'no retries',
  );
  expect(metrics).not.toMatch(/processor_errors_total\{[^}]*processor="nats_jetstream"[^}]*\} [1-9]/);
});
