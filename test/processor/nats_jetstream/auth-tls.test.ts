/**
 * The nats_jetstream processor (its sink driven by the delivery runner, as
 * the router builds it) against real nats-servers that require a token, a
 * user and password, or TLS: the right credentials and CA deliver, wrong
 * ones are a start error naming the servers and never the secret.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { rmSync } from 'node:fs';
import type { ConfigEntry } from '../../../src/config/types';
import { natsJetStreamProcessor } from '../../../src/processor/nats_jetstream/definition';
import { NatsJetStreamSink } from '../../../src/processor/nats_jetstream/nats-jetstream-sink';
import { loadRootCAs, type RootCAs } from '../../../src/util/tls';
import { waitFor } from '../../helpers/wait';
import { testProcessor } from '../../helpers/processor';
import { makeCertificates } from '../../helpers/test-ca';
import { startNatsServer, type NatsServer } from '../../peers/nats';
import { event, makeContext } from '../openfaas/helpers';
import { readOptions } from '../../../src/config/options';
import { natsJetStreamOptions } from '../../../src/processor/nats_jetstream/options';

const servers: NatsServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
});

function entry(
  address: string,
  auth: ConfigEntry['auth'],
  options: Record<string, string> = {},
): ConfigEntry {
  return {
    type: 'processor',
    provider: 'nats_jetstream',
    address,
    auth,
    options: { stream: 'AUTH', create_stream: 'true', ...options },
  };
}

/** Start the processor, publish three events, stop; resolves with the stream's message count. */
async function deliverThree(
  e: ConfigEntry,
  countWith: Parameters<typeof connect>[0],
  rootCAs?: RootCAs,
): Promise<number> {
  const { ctx } = makeContext();
  if (rootCAs) ctx.rootCAs = rootCAs;
  const sink = new NatsJetStreamSink(e, readOptions(natsJetStreamOptions, e), ctx);
  const p = testProcessor(natsJetStreamProcessor, sink, e, ctx);
  await p.start();
  expect(p.ready()).toBe(true);
  for (let i = 0; i < 3; i++) await p.process(event('VmPoweredOnEvent'));
  await waitFor('publishes acknowledged', () => p.inFlight.size === 0);
  await p.stop(5000);
  const nc = await connect(countWith);
  try {
    return (await (await jetstreamManager(nc)).streams.info('AUTH')).state.messages;
  } finally {
    await nc.close();
  }
}

async function startError(e: ConfigEntry): Promise<string> {
  const { ctx } = makeContext();
  const sink = new NatsJetStreamSink(e, readOptions(natsJetStreamOptions, e), ctx);
  try {
    await sink.start();
  } catch (err) {
    return (err as Error).message;
  } finally {
    await sink.stop();
  }
  throw new Error('start succeeded');
}

test('token auth: the token delivers; a wrong token is a start error without the token', async () => {
  const s = await startNatsServer({ auth: { token: 'right-token-123' } });
  servers.push(s);
  const n = await deliverThree(entry(s.url, { method: 'token', secret: { token: 'right-token-123' } }), {
    servers: s.url,
    token: 'right-token-123',
  });
  expect(n).toBe(3);
  const msg = await startError(entry(s.url, { method: 'token', secret: { token: 'wrong-token-456' } }));
  expect(msg).toMatch(new RegExp(`could not connect to the NATS servers ${s.url}`));
  expect(msg).toMatch(/authorization/i);
  expect(msg).not.toContain('wrong-token-456');
});

test('basic_auth: user and password deliver; a wrong password is a start error without it', async () => {
  const s = await startNatsServer({ auth: { user: 'router', pass: 'right-pass-789' } });
  servers.push(s);
  const n = await deliverThree(
    entry(s.url, { method: 'basic_auth', secret: { username: 'router', password: 'right-pass-789' } }),
    { servers: s.url, user: 'router', pass: 'right-pass-789' },
  );
  expect(n).toBe(3);
  const msg = await startError(
    entry(s.url, { method: 'basic_auth', secret: { username: 'router', password: 'wrong-pass-000' } }),
  );
  expect(msg).toMatch(/authorization/i);
  expect(msg).not.toContain('wrong-pass-000');
});

test('TLS: ca_file or the root CAs verify the server; insecure skips verification; none of them fails to start', async () => {
  const certs = makeCertificates();
  try {
    const s = await startNatsServer({ tls: { cert: certs.cert, key: certs.key } });
    servers.push(s);
    const url = `tls://127.0.0.1:${s.port}`;
    const countWith = { servers: url, tls: { caFile: certs.ca } };
    expect(await deliverThree(entry(url, { method: 'none' }, { ca_file: certs.ca }), countWith)).toBe(3);
    expect(await deliverThree(entry(url, { method: 'none' }, { insecure: 'true' }), countWith)).toBe(6);
    // The router's root CAs (options.root_cas of the router entry) verify it without ca_file.
    expect(await deliverThree(entry(url, { method: 'none' }), countWith, loadRootCAs([certs.ca]))).toBe(9);
    const msg = await startError(entry(url, { method: 'none' }));
    expect(msg).toMatch(/could not connect to the NATS servers/);
    // What to do, in the router's terms: its CA files, not a Node.js command-line flag.
    expect(msg).toMatch(/not trusted .*root_cas.*options\.ca_file/);
    expect(msg).not.toContain('--use-system-ca');
  } finally {
    rmSync(certs.dir, { recursive: true, force: true });
  }
});

test('root CAs leave a nats:// server without TLS alone (TLS options would make the client refuse it)', async () => {
  const certs = makeCertificates();
  try {
    const s = await startNatsServer({ auth: { token: 'plain-token-321' } });
    servers.push(s);
    const n = await deliverThree(
      entry(s.url, { method: 'token', secret: { token: 'plain-token-321' } }),
      { servers: s.url, token: 'plain-token-321' },
      loadRootCAs([certs.ca]),
    );
    expect(n).toBe(3);
  } finally {
    rmSync(certs.dir, { recursive: true, force: true });
  }
});
