/**
 * A stream that replicas share through its lease: it follows its vCenter only
 * while this replica holds the lease. Each time the lease is acquired a fresh
 * stream instance starts from the checkpoint stored beside the lease; when it
 * is lost the instance stops at once and what it had read is withheld from
 * the processors (the new holder re-reads it from the checkpoint); when it is
 * handed over the instance stops reading, its events are delivered, and its
 * final checkpoint is written before the lease is released.
 */
import type { ComponentContext, ComponentDefinition } from '../components/component';
import type { ConfigEntry } from '../config/types';
import { LogClosedError } from '../eventlog/event-log';
import { sourceFromAddress } from '../events/cloudevent';
import type { Logger } from '../log/logger';
import type { AcknowledgedSource, EventHandler, Stream } from '../stream/stream';
import {
  type Checkpoint,
  type CheckpointStore,
  parseCheckpoint,
  type ReadResult,
} from '../components/checkpoint';
import type { Coordinator } from './coordinator';

/** What a leased stream needs of the event log. */
export interface StreamLog {
  /** Withhold what the log still holds of the stream from every processor. */
  withhold(stream: string): void;
  /** Resolves true once every event of the stream is finished with (false at the timeout). */
  drained(stream: string, timeoutMs: number): Promise<boolean>;
}

/** The checkpoint kept beside a stream's lease: read as the lease was acquired, written with its renewals. */
class LeaseCheckpointStore implements CheckpointStore {
  readonly where: string;
  constructor(
    private readonly stream: string,
    private readonly stored: string | undefined,
    private readonly coordinator: Coordinator,
  ) {
    this.where = `lease ${coordinator.options.leasePrefix}${stream}`;
  }
  read(): Promise<ReadResult> {
    return Promise.resolve(this.stored === undefined ? { status: 'missing' } : parseCheckpoint(this.stored));
  }
  write(cp: Checkpoint): Promise<void> {
    return this.coordinator.writeCheckpoint(this.stream, JSON.stringify(cp));
  }
}

/** How long a hand-over waits for the processors to deliver what the stream had read. */
const HANDOVER_DRAIN_MS = 10_000;

export class LeasedStream implements Stream {
  readonly provider: string;
  readonly name: string;
  readonly source: string;
  private inner?: Stream;
  /** Bumped at every acquire, loss and hand-over: an instance of an older term may not append. */
  private term = 0;
  /** Starts and stops of instances, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  private handler?: EventHandler;
  private acknowledged?: AcknowledgedSource;
  private stopped = false;
  private settle?: { resolve: () => void; reject: (err: unknown) => void };
  private readonly logger: Logger;

  constructor(
    private readonly entry: ConfigEntry,
    private readonly definition: ComponentDefinition<Stream>,
    private readonly ctx: ComponentContext,
    private readonly coordinator: () => Coordinator,
    private readonly log: StreamLog,
  ) {
    this.provider = entry.provider;
    this.name = entry.name ?? entry.provider;
    this.source = sourceFromAddress(entry.address ?? '');
    this.logger = ctx.logger.child({ component: 'stream', stream: this.name });
  }

  /** Runs until `stop`: instances come and go with the lease. Rejects on an instance's fatal start error. */
  run(handler: EventHandler, acknowledged?: AcknowledgedSource): Promise<void> {
    this.handler = handler;
    this.acknowledged = acknowledged;
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch((err: unknown) =>
      this.logger.error('stream lease change failed', { error: err as Error }),
    );
    return next;
  }

  /** The lease is ours: start an instance that resumes after the stored checkpoint. */
  acquired(checkpoint: string | undefined): void {
    const term = ++this.term;
    void this.serial(async () => {
      if (this.stopped || term !== this.term || !this.handler) return;
      const handler = this.handler;
      const store = new LeaseCheckpointStore(this.name, checkpoint, this.coordinator());
      const inner = await this.definition.create(this.entry, { ...this.ctx, checkpointStore: store });
      if (this.stopped || term !== this.term) return;
      this.inner = inner;
      inner
        .run(async (event, key, arrivedAt) => {
          // An instance whose lease is gone may still be finishing a read: it appends nothing.
          if (term !== this.term) throw new LogClosedError();
          await handler(event, key, arrivedAt);
        }, this.acknowledged)
        .catch((err: unknown) => {
          // A start error retrying cannot fix (a wrong password) stops the router, as without replicas.
          if (term === this.term) this.settle?.reject(err);
        });
    });
  }

  /** The lease is gone: stop at once; what was read is withheld (the new holder re-reads it). */
  lost(): void {
    this.term++;
    this.log.withhold(this.name);
    const inner = this.inner;
    this.inner = undefined;
    void this.serial(async () => {
      await inner?.stop();
    });
  }

  /** Hand over: stop reading, let the processors finish, write the final checkpoint. */
  handover(): Promise<void> {
    return this.serial(async () => {
      const inner = this.inner;
      if (!inner) return;
      await inner.stop();
      const drained = await this.log.drained(this.name, HANDOVER_DRAIN_MS);
      await inner.saveCheckpoint?.();
      this.term++;
      this.inner = undefined;
      // Not delivered in time: the next holder reads it again from the checkpoint, this replica does not send it.
      if (!drained) this.log.withhold(this.name);
    });
  }

  ready(): boolean {
    const c = this.coordinator();
    if (c.status(this.name).role === 'holder') return this.inner?.ready() ?? false;
    // A standby serves its endpoints while it can take the stream over.
    return c.storeReachable();
  }

  details(): Record<string, unknown> {
    const status = this.coordinator().status(this.name);
    return {
      role: status.role,
      holder: status.holder ?? null,
      ...(status.role === 'holder' ? (this.inner?.details?.() ?? {}) : { source: this.source }),
    };
  }

  /** At shutdown, after the processors stopped: the final checkpoint, while the lease is still held. */
  async saveCheckpoint(): Promise<void> {
    await this.chain;
    if (this.coordinator().status(this.name).role !== 'holder') return;
    await this.inner?.saveCheckpoint?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    await this.inner?.stop();
    this.settle?.resolve();
  }
}
