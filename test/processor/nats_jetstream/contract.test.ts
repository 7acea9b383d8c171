/**
 * The sink contract (test/helpers/sink-contract.ts) for nats_jetstream,
 * against Debian's nats-server, whose streams give every outcome:
 *
 * - delivered: the stream `CONTRACT` captures the subject and acknowledges;
 * - transient: no stream captures the subject yet, so the publish gets no
 *   PubAck and times out; once that first attempt is seen the subject is added
 *   to `CONTRACT` (as an operator would), and the retry is stored;
 * - permanent: the subject belongs to a stream whose max_msg_size no event
 *   fits, and JetStream refuses the message with a 400 error;
 * - hang: no stream ever captures the subject, so no PubAck ever comes.
 *
 * Attempts are what a plain subscriber to `vsphere.events.>` sees: every
 * publish, stored or not. That subscriber is also why a subject without a
 * stream times out rather than getting "no responders" at once.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Msg } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { CONTRACT_CLASSES, sinkContract } from '../../helpers/sink-contract';
import { startNatsServer } from '../../peers/nats';

const C = CONTRACT_CLASSES;
const STREAM = 'CONTRACT';
const PREFIX = 'vsphere.events';
const subjectOf = (cls: string): string => `${PREFIX}.${cls}`;

/** The ids of the CloudEvents `stream` holds on `subject`, in stream order. */
async function storedIds(jsm: JetStreamManager, stream: string, subject: string): Promise<string[]> {
  const { state } = await jsm.streams.info(stream);
  const ids: string[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m?.subject === subject) ids.push(m.json<{ id: string }>().id);
  }
  return ids;
}

sinkContract('nats_jetstream', async () => {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [C.delivered, C.filteredOut].map(subjectOf) });
  await jsm.streams.add({
    name: `${STREAM}_SIZE_LIMITED`,
    subjects: [subjectOf(C.permanent)],
    max_msg_size: 16,
  });

  const seen = new Map<string, number>();
  const attempts = (cls: string): number => seen.get(subjectOf(cls)) ?? 0;
  let captured: Promise<unknown> | undefined;
  nc.subscribe(`${PREFIX}.>`, {
    callback: (err: Error | null, m: Msg) => {
      if (err) return;
      seen.set(m.subject, (seen.get(m.subject) ?? 0) + 1);
      if (m.subject === subjectOf(C.transient) && attempts(C.transient) === 1) {
        captured = jsm.streams.update(STREAM, {
          subjects: [C.delivered, C.filteredOut, C.transient].map(subjectOf),
        });
      }
    },
  });
  await nc.flush();

  return {
    entry: {
      type: 'processor',
      provider: 'nats_jetstream',
      address: server.url,
      auth: { method: 'none' },
      // A PubAck is awaited 2 s: the transient failure is over after one timeout.
      options: { stream: STREAM, subject_prefix: PREFIX, timeout: '2' },
    },
    accepted: async (cls) => {
      await captured;
      return storedIds(jsm, STREAM, subjectOf(cls));
    },
    attempts,
    close: async () => {
      await nc.close();
      await server.dispose();
    },
  };
});
