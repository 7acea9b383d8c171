/**
 * The checkpoint handling of one vCenter stream: where the first collector
 * starts (after a usable checkpoint, bounded by the replay window, else at
 * the vCenter's "now"), and the periodic write of the acknowledged position.
 * The store is a file (./checkpoint.ts) or, when replicas share the streams,
 * the place beside the stream's lease.
 */
import type { CheckpointStore } from '../../components/checkpoint';
import type { RouterMetrics } from '../../metrics/metrics';
import type { Logger } from '../../log/logger';
import { compareTimes, type Position } from './cursor';

/** With the `checkpoint` option: where, how often, how far back. */
export interface CheckpointSettings {
  store: CheckpointStore;
  intervalMs: number;
  windowMs: number;
}

/** What the keeper reads from the stream when it writes. */
export interface StreamProgress {
  /** The newest event every processor acknowledged, when the router says. */
  acknowledged(): { key: number; time: string } | undefined;
  /** The logged-in vCenter's instanceUuid; nothing is written before the first login. */
  instanceUuid(): string | undefined;
  /** The stream's position, once it has one. */
  position(): Position | undefined;
  /** Events the stream began to hand over since it started. */
  handedOver(): number;
}

/** A stream's own facts a checkpoint is written and checked with. */
export interface CheckpointOwner {
  source: string;
  name: string;
  labels: { provider: string; stream: string };
  log: Logger;
  metrics: RouterMetrics;
}

type Acknowledged = { key: number; time: string };

export class CheckpointKeeper {
  /** Writes failed in a row (shown in /readyz details). */
  private failures = 0;
  private timer?: NodeJS.Timeout;
  /** The acknowledged position last written (key and time), to skip writing the same twice. */
  private lastWritten?: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: CheckpointSettings,
    private readonly owner: CheckpointOwner,
    private readonly progress: StreamProgress,
  ) {}

  /** Checkpoint writes that failed in a row. */
  get failedWrites(): number {
    return this.failures;
  }

  /**
   * Where the first collector starts: after the checkpoint when there is a
   * usable one of this vCenter (bounded by the replay window), else at "now".
   * Never throws: a missing, unreadable, corrupt or foreign checkpoint is
   * logged and the stream starts at "now".
   */
  async startPosition(instanceUuid: string, now: string): Promise<Position> {
    const cp = this.settings;
    const { log } = this.owner;
    const read = await cp.store.read();
    if (read.status === 'missing') {
      log.info('no checkpoint yet: starting at "now"', { checkpoint: cp.store.where });
      return { time: now };
    }
    if (read.status === 'unusable') {
      log.warn(`checkpoint ignored: ${read.reason}; starting at "now"`, { checkpoint: cp.store.where });
      return { time: now };
    }
    const c = read.checkpoint;
    if (c.source !== this.owner.source || c.instanceUuid !== instanceUuid) {
      log.warn('checkpoint ignored: it belongs to another vCenter; starting at "now"', {
        checkpoint: cp.store.where,
        checkpoint_source: c.source,
        checkpoint_instance_uuid: c.instanceUuid,
        instance_uuid: instanceUuid,
      });
      return { time: now };
    }
    const windowStart = new Date(Date.parse(now) - cp.windowMs).toISOString();
    if (compareTimes(c.time, windowStart) < 0) {
      this.owner.metrics.streamCheckpointWindowExceeded.inc(this.owner.labels);
      log.warn('checkpoint older than the replay window: events before the window are not delivered', {
        checkpoint_time: c.time,
        replay_from: windowStart,
        replay_window_s: cp.windowMs / 1000,
      });
      return { time: windowStart };
    }
    log.info('resuming after the checkpoint', { checkpoint_key: c.key, checkpoint_time: c.time });
    this.lastWritten = `${c.key}@${c.time}`;
    return { time: c.time, key: c.key };
  }

  /** Write every interval from now on (once; the timer does not hold the process open). */
  startWriting(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.save(), this.settings.intervalMs);
    this.timer.unref();
  }

  stopWriting(): void {
    clearInterval(this.timer);
  }

  /** Write the acknowledged position when it moved; failures are logged, never thrown. */
  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const cp = this.settings;
      const { log } = this.owner;
      const at = this.progress.acknowledged() ?? this.untouchedPosition();
      const instanceUuid = this.progress.instanceUuid();
      if (!at || instanceUuid === undefined) return;
      const id = `${at.key}@${at.time}`;
      if (id === this.lastWritten) return;
      try {
        await cp.store.write({
          version: 1,
          source: this.owner.source,
          name: this.owner.name,
          instanceUuid,
          key: at.key,
          time: at.time,
          written: new Date().toISOString(),
        });
        this.lastWritten = id;
        if (this.failures > 0) {
          log.info('checkpoint written again', {
            checkpoint: cp.store.where,
            failed_writes: this.failures,
          });
          this.failures = 0;
        }
      } catch (err) {
        // Once per run of failures (a write is tried every second): the first is logged, each counted.
        this.owner.metrics.streamCheckpointWriteErrors.inc(this.owner.labels);
        if (this.failures++ === 0)
          log.error(
            'could not write the checkpoint (retried every interval; logged again once it succeeds)',
            {
              checkpoint: cp.store.where,
              error: err as Error,
            },
          );
      }
    });
    return this.writing;
  }

  /**
   * Before the stream handed any event over, everything up to where it
   * started is done: that position is a checkpoint too, so that the next
   * run (another replica's, after a hand-over) does not start at its own
   * "now" and miss what came in between.
   */
  private untouchedPosition(): Acknowledged | undefined {
    const p = this.progress.position();
    if (this.progress.handedOver() > 0 || p?.key === undefined) return undefined;
    return { key: p.key, time: p.time };
  }
}
