import type { ComponentContext } from '../../components/component';
import { cloudEventJson } from '../../events/cloudevent';
import type { RouterEvent } from '../../events/types';
import type { Processor } from '../processor';

/**
 * Prints one structured CloudEvent per line on stdout and nothing else (the
 * logger writes to stderr). Waits for the pipe to drain when the reader is
 * slower than the stream, so memory stays bounded.
 */
export class StdoutProcessor implements Processor {
  readonly provider = 'stdout';
  private readonly out: NodeJS.WritableStream;

  constructor(
    private readonly ctx: ComponentContext,
    out: NodeJS.WritableStream = process.stdout,
  ) {
    this.out = out;
  }

  async start(): Promise<void> {}

  async process(event: RouterEvent): Promise<void> {
    const ok = this.out.write(cloudEventJson(event) + '\n');
    this.ctx.metrics.recordDelivery(this.provider, event.subject ?? '', event.time);
    if (!ok) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  ready(): boolean {
    return true;
  }

  async stop(): Promise<void> {}
}
