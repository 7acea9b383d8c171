/**
 * The sink contract (test/helpers/sink-contract.ts) for event_stream: the
 * peer is a watch on the API the router serves, opened once the router runs.
 */
import type { RouterProcess } from '../../helpers/e2e';
import { sinkContract } from '../../helpers/sink-contract';
import { eventStreamApi, eventStreamEntry, openWatch, type Watch } from './helpers';

sinkContract(
  'event_stream',
  async () => {
    let watch: Watch | undefined;
    const accepted = (subject: string): string[] =>
      (watch?.events ?? []).filter((e) => e.subject === subject).map((e) => e.id);
    return {
      entry: eventStreamEntry(),
      attach: async (router: RouterProcess) => {
        watch = await openWatch(await eventStreamApi(router));
      },
      accepted,
      // The history takes every event the runner sends: each one sent is one a watcher reads.
      attempts: (subject) => accepted(subject).length,
      close: async () => watch?.close(),
    };
  },
  {
    omit: {
      // Sending appends to the router's own history and is delivered at once: nothing refuses it.
      transient: 'the history cannot refuse an event',
      permanent: 'the history cannot refuse an event',
      // A watcher that stops reading holds only itself (its socket buffer), never a delivery.
      stopDeadline: 'no delivery waits for a watcher',
    },
  },
);
