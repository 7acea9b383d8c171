/**
 * CloudEvent ids are unique per source only: a webhook event may carry the id
 * of a vCenter event. The NATS message id is derived from both, so JetStream's
 * duplicate window never drops a real event as the duplicate of another
 * source's; a publish retried with the same event is still dropped.
 */
import { natsMsgId } from '../../../src/processor/nats_jetstream/msg-id';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../../helpers/e2e';
import { startNatsServer, type NatsServer } from '../../peers/nats';

jest.setTimeout(180_000);

const STREAM = 'MSGID';

let sim: Simulator;
let nats: NatsServer;
let router: RouterProcess;
let nc: NatsConnection;

beforeAll(async () => {
  buildHarness();
  nats = await startNatsServer();
  sim = await startSimulator();
  await about(sim);
  router = await startRouterProcess([
    { ...vcenterEntry(sim), name: 'vc' },
    { type: 'stream', provider: 'webhook', name: 'hook', address: '127.0.0.1:0', auth: { method: 'none' } },
    {
      type: 'processor',
      provider: 'nats_jetstream',
      address: nats.url,
      auth: { method: 'none' },
      options: { stream: STREAM, create_stream: 'true' },
    },
    metricsEntry(),
  ]);
  await routerReady(router);
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await router?.stop();
  await sim?.stop();
  await nats?.dispose();
});

test('a webhook event sharing a vCenter event id: both reach the stream', async () => {
  const jsm = await jetstreamManager(nc);
  const count = async (): Promise<number> => (await jsm.streams.info(STREAM)).state.messages;
  await postEvents(sim, [{ class: 'VmPoweredOnEvent' }]);
  await waitFor('the vCenter event in the stream', async () => (await count()) === 1);
  const first = await (await jetstream(nc).consumers.get(STREAM)).next();
  const vcenterEvent = first!.json<{ id: string; source: string }>();

  const m = /webhook stream listening .*address=[^\s]*:(\d+)/.exec(router.stderr());
  const res = await fetch(`http://127.0.0.1:${m![1]}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', id: vcenterEvent.id, source: '/webhook/test', type: 't' }),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(202);
  // Appended when the 202 came; settled (delivered, as the PubAck said) once the log is empty.
  await waitFor('the webhook event settled', async () =>
    /^vmware_event_router_log_events 0$/m.test(await (await fetch(`${router.metricsUrl}/metrics`)).text()),
  );
  expect(await count()).toBe(2);

  const consumer = await jetstream(nc).consumers.get(STREAM);
  const ids: Array<string | undefined> = [];
  const sources: string[] = [];
  for await (const msg of await consumer.consume()) {
    ids.push(msg.headers?.get('Nats-Msg-Id'));
    sources.push(msg.json<{ source: string }>().source);
    if (ids.length >= 2) break;
  }
  expect(sources).toEqual([vcenterEvent.source, '/webhook/test']);
  expect(ids).toEqual([natsMsgId(vcenterEvent), natsMsgId({ source: '/webhook/test', id: vcenterEvent.id })]);
});
