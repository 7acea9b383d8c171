/**
 * The sink contract (test/helpers/sink-contract.ts) for stdout: the peer is
 * the router's standard output, one CloudEvent a line.
 */
import type { RouterProcess } from '../../helpers/e2e';
import { sinkContract } from '../../helpers/sink-contract';

sinkContract(
  'stdout',
  async () => {
    let router: RouterProcess | undefined;
    const accepted = (subject: string): string[] =>
      (router?.events() ?? []).filter((e) => e.subject === subject).map((e) => String(e.id));
    return {
      entry: { type: 'processor', provider: 'stdout' },
      attach: async (r: RouterProcess) => {
        router = r;
      },
      accepted,
      // A line written is a line read: the pipe has no way to refuse one.
      attempts: (subject) => accepted(subject).length,
      close: async () => undefined,
    };
  },
  {
    omit: {
      // A write to the pipe is taken, or waits for the reader: nothing refuses a line.
      transient: 'a pipe cannot refuse a line',
      permanent: 'a pipe cannot refuse a line',
      // Only a reader that stops reading holds a line, and then it holds every class, not one.
      stopDeadline: 'stdout cannot hold one class of event',
    },
  },
);
