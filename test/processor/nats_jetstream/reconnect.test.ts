/**
 * One nats-server lost and back (SIGKILL, then started on the same port and
 * store): the processor reports not ready while the client reconnects,
 * publishes made meanwhile are retried by the runner, and once the server is
 * back every event is in the stream exactly once.
 */
import { natsMsgId } from '../../../src/processor/nats_jetstream/msg-id';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ConfigEntry } from '../../../src/config/types';
import { natsJetStreamProcessor } from '../../../src/processor/nats_jetstream/definition';
import { NatsJetStreamSink } from '../../../src/processor/nats_jetstream/nats-jetstream-sink';
import { testProcessor } from '../../helpers/processor';
import { waitFor } from '../../helpers/wait';
import { startNatsServer, type NatsServer } from '../../peers/nats';
import { event, makeContext } from '../openfaas/helpers';
import { readOptions } from '../../../src/config/options';
import { natsJetStreamOptions } from '../../../src/processor/nats_jetstream/options';

let server: NatsServer;
afterAll(async () => server?.dispose());

test('server killed and restarted: not ready meanwhile, every event stored once afterwards', async () => {
  server = await startNatsServer();
  const entry: ConfigEntry = {
    type: 'processor',
    provider: 'nats_jetstream',
    address: server.url,
    auth: { method: 'none' },
    options: { stream: 'RECONNECT', create_stream: 'true', timeout: '1' },
  };
  const { ctx, metrics } = makeContext();
  const sink = new NatsJetStreamSink(entry, readOptions(natsJetStreamOptions, entry), ctx);
  const p = testProcessor(natsJetStreamProcessor, sink, entry, ctx);
  await p.start();
  const events = Array.from({ length: 60 }, () => event('VmPoweredOnEvent'));
  for (const e of events.slice(0, 20)) await p.process(e);
  await waitFor('the first 20 acknowledged', () => p.inFlight.size === 0);

  await server.kill();
  await waitFor('not ready while disconnected', () => !p.ready());
  // Published while the server is down: they wait in the runner's retries.
  for (const e of events.slice(20, 40)) await p.process(e);
  await server.start();
  await waitFor('ready again', () => p.ready(), 30_000);
  for (const e of events.slice(40)) await p.process(e);
  await waitFor('every publish settled', () => p.inFlight.size === 0, 60_000);
  await p.stop(5000);

  const nc = await connect({ servers: server.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info('RECONNECT');
    expect(info.state.messages).toBe(60);
    const consumer = await jetstream(nc).consumers.get('RECONNECT');
    const ids: string[] = [];
    for await (const m of await consumer.consume()) {
      ids.push(m.headers?.get('Nats-Msg-Id') ?? '');
      if (ids.length >= 60) break;
    }
    expect(new Set(ids)).toEqual(new Set(events.map((e) => natsMsgId(e))));
  } finally {
    await nc.close();
  }
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/processor_retries_total\{processor="nats_jetstream",reason="[a-z_]+"\} [1-9]/);
  expect(text).not.toMatch(/processor_errors_total\{processor="nats_jetstream"/);
});
