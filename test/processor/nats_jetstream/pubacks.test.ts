/**
 * A NATS server that keeps the connection but stops answering PubAcks (here:
 * stopped with SIGSTOP, its socket still open): every publish times out, and
 * /readyz says the processor is not ready and why, though the connection
 * still counts as up. Once PubAcks come again it is ready, and the event is
 * in the stream.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { metricsEntry, startRouterProcess, waitFor, type RouterProcess } from '../../helpers/e2e';
import { startNatsServer, type NatsServer } from '../../peers/nats';

jest.setTimeout(120_000);

let nats: NatsServer;
let router: RouterProcess;

beforeAll(async () => {
  nats = await startNatsServer();
  router = await startRouterProcess([
    { type: 'stream', provider: 'webhook', address: '127.0.0.1:0', auth: { method: 'none' } },
    {
      type: 'processor',
      provider: 'nats_jetstream',
      address: nats.url,
      auth: { method: 'none' },
      options: { stream: 'ACKS', create_stream: 'true', timeout: '1', retries: '100' },
    },
    metricsEntry(),
  ]);
});
afterAll(async () => {
  nats?.proc?.kill('SIGCONT');
  await router?.stop();
  await nats?.dispose();
});

interface Readyz {
  status: number;
  nats: { connected: boolean; ready?: boolean; pub_acks?: string };
}

async function readyz(): Promise<Readyz> {
  const res = await fetch(`${router.metricsUrl}/readyz`);
  const body = (await res.json()) as { details: { processors: Record<string, Readyz['nats']> } };
  return { status: res.status, nats: body.details.processors.nats_jetstream };
}

test('PubAcks that stop coming make /readyz not ready, saying why; they come again, it is ready', async () => {
  await waitFor('ready', async () => (await readyz()).status === 200);
  nats.proc!.kill('SIGSTOP');
  const port = /webhook stream listening .*address=[^\s]*:(\d+)/.exec(router.stderr())![1];
  const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', id: 'acks-1', source: '/acks', type: 't' }),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(202);
  await waitFor('not ready', async () => (await readyz()).status === 503);
  const stalled = await readyz();
  expect(stalled.nats.connected).toBe(true);
  expect(stalled.nats.pub_acks).toMatch(/no PubAck/);

  nats.proc!.kill('SIGCONT');
  await waitFor('ready again', async () => (await readyz()).status === 200);
  const nc: NatsConnection = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    await waitFor('the event stored', async () => (await jsm.streams.info('ACKS')).state.messages === 1);
  } finally {
    await nc.close();
  }
});
