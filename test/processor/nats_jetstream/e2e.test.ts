/**
 * Issue 14, NATS JetStream, one server: the compiled router with the
 * `nats_jetstream` and `stdout` processors against the govmomi simulator and
 * a real nats-server (-js, loopback). A 1,000-event burst leaves exactly
 * 1,000 messages in the stream, in key order, each on
 * `vsphere.events.<subject>` with `Nats-Msg-Id` derived from the CloudEvent source and id, and a
 * consumer of the stream reads byte for byte what the stdout processor
 * printed. A missing stream without `create_stream` is a start error.
 */
import { natsMsgId } from '../../../src/processor/nats_jetstream/msg-id';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { about, buildHarness, burst, startSimulator, type Simulator } from '../../harness/simulator';
import {
  metricsEntry,
  runCli,
  startRouterProcess,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  writeConfig,
  type RouterProcess,
  routerReady,
} from '../../helpers/e2e';
import { startNatsServer, type NatsServer } from '../../peers/nats';

const STREAM = 'VSPHERE';

function natsEntry(server: NatsServer, options: Record<string, string> = {}) {
  return {
    type: 'processor',
    provider: 'nats_jetstream',
    address: server.url,
    auth: { method: 'none' },
    options: { stream: STREAM, create_stream: 'true', ...options },
  };
}

interface Read {
  subject: string;
  msgId: string | undefined;
  data: string;
}

/** Every message of the stream, in stream order, through an ordered consumer. */
async function readStream(nc: NatsConnection, stream: string, count: number): Promise<Read[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream);
  const out: Read[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), data: m.string() });
    if (out.length >= count) break;
  }
  return out;
}

describe('nats_jetstream processor against one nats-server', () => {
  let sim: Simulator;
  let nats: NatsServer;
  let router: RouterProcess;
  let nc: NatsConnection;

  beforeAll(async () => {
    buildHarness();
    nats = await startNatsServer();
    sim = await startSimulator();
    await about(sim);
    router = await startRouterProcess([vcenterEntry(sim), natsEntry(nats), stdoutEntry, metricsEntry()]);
    await routerReady(router);
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await router?.stop();
    await sim?.stop();
    await nats?.dispose();
  });

  test('a 1,000-event burst: 1,000 messages in key order, subject and Nats-Msg-Id, the same CloudEvents as stdout', async () => {
    const result = await burst(sim, 'VmPoweredOnEvent', 1000, 8);
    expect(result.posted).toBe(1000);
    const jsm = await jetstreamManager(nc);
    const count = async () => (await jsm.streams.info(STREAM)).state.messages;
    await waitFor('1,000 messages in the stream', async () => (await count()) >= 1000, 90_000);
    await waitFor('1,000 events on stdout', () => router.stdoutLines.length >= 1000, 90_000);
    // Everything the router owed is settled (delivered or failed): nothing more can arrive.
    await waitFor('nothing left in flight', async () => {
      const text = await (await fetch(`${router.metricsUrl}/metrics`)).text();
      return /^vmware_event_router_log_events 0$/m.test(text);
    });
    expect(await count()).toBe(1000);

    const messages = await readStream(nc, STREAM, 1000);
    expect(messages).toHaveLength(1000);
    const events = messages.map((m) => JSON.parse(m.data) as Record<string, unknown>);
    const keys = events.map((e) => (e.data as { Key: number }).Key);
    for (let i = 1; i < keys.length; i++) expect(keys[i]).toBe(keys[i - 1] + 1);
    expect(new Set(events.map((e) => e.id)).size).toBe(1000);
    for (const [i, m] of messages.entries()) {
      expect(m.subject).toBe('vsphere.events.VmPoweredOnEvent');
      expect(m.msgId).toBe(natsMsgId(events[i] as { source: string; id: string }));
    }
    // The consumer reads exactly what the stdout processor printed, in the same order.
    expect(messages.map((m) => m.data)).toEqual(router.stdoutLines);

    // /readyz shows the processor (/stats and /metrics: the sink contract, contract.test.ts).
    const readyz = (await (await fetch(`${router.metricsUrl}/readyz`)).json()) as {
      details: { processors: Record<string, Record<string, unknown>> };
    };
    expect(readyz.details.processors.nats_jetstream).toMatchObject({
      ready: true,
      provider: 'nats_jetstream',
      connected: true,
      stream: STREAM,
      published: 1000,
      duplicates: 0,
    });
    // SIGTERM: a clean stop (the connection drained and closed).
    expect(await router.stop()).toBe(0);
  });
});

describe('nats_jetstream start errors', () => {
  let sim: Simulator;
  let nats: NatsServer;
  beforeAll(async () => {
    buildHarness();
    nats = await startNatsServer();
    sim = await startSimulator();
  });
  afterAll(async () => {
    await sim?.stop();
    await nats?.dispose();
  });

  test('a missing stream without create_stream: exit 1, naming the stream and create_stream', async () => {
    const file = writeConfig([
      vcenterEntry(sim),
      natsEntry(nats, { create_stream: 'false', stream: 'MISSING' }),
      metricsEntry(),
    ]);
    const r = await runCli(['-config', file], 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not start/);
    expect(r.stderr).toMatch(/JetStream stream "MISSING" does not exist/);
    expect(r.stderr).toMatch(/create_stream/);
  });
});
