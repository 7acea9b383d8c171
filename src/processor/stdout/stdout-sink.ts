import {
  ONE_EVENT_PER_SEND,
  type Delivery,
  type Outcome,
  type Route,
  type Sink,
  type SinkPolicy,
} from '../../delivery/sink';

/**
 * Prints one structured CloudEvent per line on stdout and nothing else (the
 * logger writes to stderr). A send resolves once the pipe has taken the
 * line, so a slow reader slows the runner and memory stays bounded.
 */
export class StdoutSink implements Sink<null> {
  readonly provider = 'stdout';
  /** Lines are written in log order, one at a time. */
  readonly policy: SinkPolicy = ONE_EVENT_PER_SEND;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  async start(): Promise<void> {}

  route(): Route<null> {
    return { targets: [{ target: null }] };
  }

  async send(batch: Array<Delivery<null>>, signal: AbortSignal): Promise<Outcome[]> {
    for (const d of batch) {
      const ok = this.out.write(d.entry.json + '\n');
      // A reader that never drains must not hold the stop past its deadline.
      if (!ok && !signal.aborted)
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.out.removeListener('drain', done);
            signal.removeEventListener('abort', done);
            resolve();
          };
          this.out.once('drain', done);
          signal.addEventListener('abort', done, { once: true });
        });
    }
    return batch.map(() => ({ status: 'delivered' }));
  }

  ready(): boolean {
    return true;
  }

  async stop(): Promise<void> {}
}
