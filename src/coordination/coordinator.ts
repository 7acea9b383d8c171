/**
 * One lease per stream, over a compare-and-swap store, in the manner of
 * client-go's leader election (holder identity, acquire and renew time,
 * lease duration, transitions), run for many leases at once and balanced
 * across the live replicas (`balance.ts`).
 *
 * Every retry period the coordinator bumps this replica's heartbeat, reads
 * each stream's lease, renews the ones it holds (writing the stream's newest
 * checkpoint with the same compare-and-swap), takes free ones its share
 * allows and hands over its surplus. A lease is judged expired by how long
 * this replica has seen it unchanged, never by comparing clocks.
 *
 * Fencing: a holder that has not renewed within `renewDeadline` of its last
 * successful write gives the stream up on its own (the `lost` event), before
 * the lease can have expired for anyone else (`leaseDuration` > `renewDeadline`).
 */
import type { Logger } from '../log/logger';
import type { RouterMetrics } from '../metrics/metrics';
import { balance, type LeaseView } from './balance';
import {
  ForeignLeaseError,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  LeaseStoreError,
  type StoredLease,
  microTime,
} from './lease-store';
import { ReplicaList } from './replicas';
import { backoffMs } from '../util/backoff';

export interface CoordinatorOptions {
  /** This replica's name in the leases ($POD_NAME, else the host name). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Prepended to every name in the store. */
  leasePrefix: string;
}

/** What the router does when a lease changes hands. */
export interface LeaseEvents {
  /** The lease is this replica's: follow the stream, resuming after `checkpoint` (its JSON, if any). */
  acquired(stream: string, checkpoint: string | undefined): void;
  /** The lease was lost (not renewed in time, or taken): stop following and delivering the stream now. */
  lost(stream: string): void;
  /**
   * Hand the stream over: stop following it, let its deliveries finish and
   * write its final checkpoint (through `writeCheckpoint`); the lease is
   * released when this settles.
   */
  handover(stream: string): Promise<void>;
}

export interface LeaseStatus {
  role: 'holder' | 'standby';
  /** Who holds it now, as last seen in the store ('' or absent: nobody). */
  holder?: string;
}

interface Lease {
  stream: string;
  key: string;
  stored?: StoredLease;
  /** When this replica last saw the record change (local clock). */
  observedAt: number;
  held: boolean;
  /** Being handed over: still renewed, no longer balanced. */
  releasing: boolean;
  /** Start of the last successful write while held (the fence counts from it). */
  renewedAt: number;
  /** The checkpoint to write with the next renewal. */
  checkpoint?: string;
  /** Writes to the lease, one at a time. */
  queue: Promise<unknown>;
  foreignLogged: boolean;
}

export class Coordinator {
  private readonly leases = new Map<string, Lease>();
  private readonly replicas: ReplicaList;
  private readonly log: Logger;
  private tickTimer?: NodeJS.Timeout;
  /** Ends the wait between rounds early (at stop). */
  private wake?: () => void;
  private fenceTimer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  /** The router is stopping: hold what is held until `stop`, take nothing new. */
  private leaving = false;
  private lastStoreSuccess = 0;
  /** Store operations failing now, and the message last logged for each. */
  private readonly failing = new Map<string, string>();
  /** Rounds in a row in which the store failed, for the backoff of a replica that holds nothing. */
  private failedRounds = 0;
  private identityClashLogged = false;

  constructor(
    private readonly store: LeaseStore,
    streams: readonly string[],
    readonly options: CoordinatorOptions,
    private readonly events: LeaseEvents,
    logger: Logger,
    private readonly metrics: RouterMetrics,
  ) {
    this.log = logger.child({ component: 'coordination', identity: options.identity });
    for (const stream of streams)
      this.leases.set(stream, {
        stream,
        key: `${options.leasePrefix}${stream}`,
        observedAt: 0,
        held: false,
        releasing: false,
        renewedAt: 0,
        queue: Promise.resolve(),
        foreignLogged: false,
      });
    // Not a possible stream name (those start with a letter or digit): never one of their leases.
    this.replicas = new ReplicaList(
      store,
      `${options.leasePrefix}_replicas`,
      options.identity,
      options.leaseDurationMs,
    );
  }

  /** Connect to the store and start taking part; a store that cannot be opened is retried like any outage. */
  start(): void {
    this.log.info(`coordinating ${this.leases.size} stream lease(s) through ${this.store.description}`, {
      lease_duration_s: this.options.leaseDurationMs / 1000,
      renew_deadline_s: this.options.renewDeadlineMs / 1000,
      retry_period_s: this.options.retryPeriodMs / 1000,
    });
    for (const l of this.leases.values()) this.metrics.coordinationLeasesHeld.set({ stream: l.stream }, 0);
    this.fenceTimer = setInterval(
      () => this.fence(),
      Math.max(50, Math.min(250, this.options.retryPeriodMs / 4)),
    );
    this.fenceTimer.unref();
    this.ticking = this.loop();
  }

  private async loop(): Promise<void> {
    let opened = false;
    while (!this.stopped) {
      const began = Date.now();
      const errorsBefore = this.storeErrors;
      try {
        if (!opened) {
          await this.store.open();
          opened = true;
          this.storeOk('open');
          if (this.store.caveat) this.log.warn(this.store.caveat);
        }
        await this.tick();
      } catch (err) {
        this.storeError('open', err);
      }
      this.failedRounds = this.storeErrors > errorsBefore ? this.failedRounds + 1 : 0;
      // A holder keeps trying every retry period (its renew deadline runs); a replica that holds
      // nothing backs off while the store fails, up to a lease duration.
      const period =
        this.failedRounds > 0 && this.heldStreams().length === 0
          ? backoffMs(this.failedRounds, {
              baseMs: this.options.retryPeriodMs,
              maxMs: this.options.leaseDurationMs,
            })
          : this.options.retryPeriodMs;
      const wait = period - (Date.now() - began);
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.tickTimer = setTimeout(resolve, Math.max(0, wait));
      });
    }
  }

  /** One round: heartbeat, read or renew every lease, then take and hand over as the balance says. */
  private async tick(): Promise<void> {
    try {
      if (await this.replicas.heartbeat()) this.identityClash();
      this.storeOk('heartbeat');
    } catch (err) {
      this.storeError('heartbeat', err);
    }
    await Promise.all([...this.leases.values()].map((l) => this.refresh(l)));
    if (this.stopped) return;
    const now = Date.now();
    const views: LeaseView[] = [];
    for (const l of this.leases.values()) {
      if (l.releasing) views.push({ stream: l.stream, holder: this.options.identity });
      else if (l.held) views.push({ stream: l.stream, holder: this.options.identity });
      else {
        const holder = this.holderOf(l, now);
        // A lease that cannot be read (foreign, or never read) is nobody's to take.
        if (holder === null) continue;
        views.push({ stream: l.stream, holder });
      }
    }
    if (this.leaving) return;
    const plan = balance(this.options.identity, this.replicas.live(now), views);
    for (const stream of plan.release) {
      const l = this.leases.get(stream)!;
      if (!l.releasing && l.held) void this.handOver(l);
    }
    for (const stream of plan.acquire) await this.acquire(this.leases.get(stream)!);
  }

  /**
   * Who holds a lease this replica does not: the holder's identity, undefined
   * when it is free (released, never created, or unchanged for a lease
   * duration as seen from here), null when it cannot be told.
   */
  private holderOf(l: Lease, now: number): string | undefined | null {
    if (l.stored === undefined) return l.observedAt > 0 ? undefined : null;
    const r = l.stored.record;
    if (r.holderIdentity === '') return undefined;
    // Held under this replica's identity by a process before it (a restart): its to resume.
    if (r.holderIdentity === this.options.identity) return undefined;
    if (now - l.observedAt >= r.leaseDurationSeconds * 1000) return undefined;
    return r.holderIdentity;
  }

  private note(l: Lease, stored: StoredLease | undefined, now: number): void {
    if (stored?.version !== l.stored?.version || l.observedAt === 0) l.observedAt = now;
    l.stored = stored;
  }

  /** Read a lease, or renew it when held. */
  private async refresh(l: Lease): Promise<void> {
    if (l.held) {
      // A checkpoint written within the last half period renewed the lease already: one write, not two.
      if (Date.now() - l.renewedAt < this.options.retryPeriodMs / 2) return;
      await this.write(l, 'renew', () => this.renew(l));
      return;
    }
    try {
      const stored = await this.store.get(l.key);
      this.note(l, stored, Date.now());
      // A lease written before the replica list settled (or never created) is "unknown" until read once.
      if (!stored && l.observedAt === 0) l.observedAt = Date.now();
      l.foreignLogged = false;
      this.storeOk('get');
    } catch (err) {
      if (err instanceof ForeignLeaseError) {
        l.stored = undefined;
        l.observedAt = 0;
        if (!l.foreignLogged)
          this.log.error(
            `${err.message}: the lease of stream ${l.stream} is left alone and the stream is not followed here`,
            {
              stream: l.stream,
            },
          );
        l.foreignLogged = true;
        return;
      }
      this.storeError('get', err);
    }
  }

  /** Run a write of lease `l` after the ones before it; store errors are counted and logged, not thrown. */
  private write(l: Lease, operation: string, fn: () => Promise<void>): Promise<void> {
    const run = l.queue.then(fn).then(
      () => this.storeOk(operation),
      (err: unknown) => this.storeError(operation, err),
    );
    l.queue = run;
    return run;
  }

  private record(l: Lease, now: number, changes: Partial<LeaseRecord>): LeaseRecord {
    const prev = l.stored?.record;
    const data = { ...(prev?.data ?? {}) };
    if (l.checkpoint !== undefined) data.checkpoint = l.checkpoint;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: prev?.acquireTime ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: prev?.leaseTransitions ?? 0,
      data,
      ...changes,
    };
  }

  private async renew(l: Lease): Promise<void> {
    if (!l.held || !l.stored) return;
    const sent = Date.now();
    try {
      const stored = await this.store.update(l.key, this.record(l, sent, {}), l.stored.version);
      if (!l.held) return;
      this.note(l, stored, Date.now());
      l.renewedAt = sent;
    } catch (err) {
      if (!(err instanceof LeaseConflictError)) throw err;
      // Someone wrote the lease: read who.
      const stored = await this.store.get(l.key);
      this.note(l, stored, Date.now());
      const holder = stored?.record.holderIdentity ?? '';
      if (holder === this.options.identity) this.identityClash();
      if (l.held) this.lose(l, holder ? `taken by ${holder}` : 'released by another process', holder);
    }
  }

  private async acquire(l: Lease): Promise<void> {
    if (l.held || this.stopped) return;
    await this.write(l, 'acquire', async () => {
      const sent = Date.now();
      const prev = l.stored?.record;
      const changed = !prev || prev.holderIdentity !== this.options.identity;
      l.checkpoint = undefined;
      const record = this.record(l, sent, {
        acquireTime: changed || !prev ? microTime(sent) : prev.acquireTime,
        // As client-go counts them: every change of holder, a released lease's next holder included.
        leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev && changed ? 1 : 0),
      });
      let stored: StoredLease;
      try {
        stored = l.stored
          ? await this.store.update(l.key, record, l.stored.version)
          : await this.store.create(l.key, record);
      } catch (err) {
        if (err instanceof LeaseConflictError) return; // another replica was faster
        throw err;
      }
      if (this.stopped) return;
      this.note(l, stored, Date.now());
      l.held = true;
      l.renewedAt = sent;
      this.metrics.coordinationLeasesHeld.set({ stream: l.stream }, 1);
      this.metrics.coordinationLeaseTransitions.inc({ stream: l.stream, event: 'acquired' });
      this.log.info(`lease of stream ${l.stream} acquired: following it here`, {
        stream: l.stream,
        ...(prev?.holderIdentity && prev.holderIdentity !== this.options.identity
          ? { previous_holder: prev.holderIdentity }
          : {}),
        transitions: stored.record.leaseTransitions,
      });
      this.events.acquired(l.stream, stored.record.data.checkpoint);
    });
  }

  /** Hand a lease over: the router stops the stream and writes its checkpoint, then the lease is released. */
  private async handOver(l: Lease): Promise<void> {
    l.releasing = true;
    this.log.info(`handing stream ${l.stream} over: this replica holds more than its share`, {
      stream: l.stream,
    });
    try {
      await this.events.handover(l.stream);
    } catch (err) {
      this.log.warn(`stream ${l.stream} did not stop cleanly before its hand-over`, { error: err as Error });
    }
    await this.release(l);
    l.releasing = false;
  }

  /** Write the lease free (its checkpoint kept), so that another replica takes it at once. */
  private async release(l: Lease): Promise<void> {
    await this.write(l, 'release', async () => {
      if (!l.held || !l.stored) return;
      const record = this.record(l, Date.now(), { holderIdentity: '' });
      this.held(l, false);
      try {
        const stored = await this.store.update(l.key, record, l.stored.version);
        this.note(l, stored, Date.now());
        this.metrics.coordinationLeaseTransitions.inc({ stream: l.stream, event: 'released' });
        this.log.info(`lease of stream ${l.stream} released`, { stream: l.stream });
      } catch (err) {
        if (err instanceof LeaseConflictError) return; // it was no longer ours to release
        throw err;
      }
    });
  }

  private held(l: Lease, v: boolean): void {
    l.held = v;
    this.metrics.coordinationLeasesHeld.set({ stream: l.stream }, v ? 1 : 0);
  }

  private lose(l: Lease, why: string, holder?: string): void {
    if (!l.held) return;
    this.held(l, false);
    l.checkpoint = undefined;
    this.metrics.coordinationLeaseTransitions.inc({ stream: l.stream, event: 'lost' });
    this.log.warn(`lease of stream ${l.stream} lost (${why}): stopped following and delivering it here`, {
      stream: l.stream,
      ...(holder ? { holder } : {}),
    });
    this.events.lost(l.stream);
  }

  /** Another process writes under this replica's identity: the leases cannot tell the two apart. */
  private identityClash(): void {
    if (this.identityClashLogged) return;
    this.identityClashLogged = true;
    this.log.error(
      `another replica uses the identity "${this.options.identity}": every replica needs its own (leave options.identity unset and give each pod its POD_NAME), or both deliver the same streams`,
    );
  }

  /** Give up every held lease whose last successful renewal is older than the renew deadline. */
  private fence(): void {
    const now = Date.now();
    for (const l of this.leases.values())
      if (l.held && now - l.renewedAt > this.options.renewDeadlineMs)
        this.lose(l, `not renewed within the renew deadline of ${this.options.renewDeadlineMs / 1000} s`);
  }

  /**
   * Write a held stream's checkpoint (JSON) with a renewal of its lease.
   * Rejects when the lease is not held or the store refused the write.
   */
  async writeCheckpoint(stream: string, checkpoint: string): Promise<void> {
    const l = this.leases.get(stream);
    if (!l) throw new Error(`stream ${stream} has no lease`);
    let failure: unknown;
    const run = l.queue.then(async () => {
      if (!l.held) throw new Error(`the lease of stream ${stream} is not held by this replica`);
      l.checkpoint = checkpoint;
      await this.renew(l);
      if (!l.held)
        throw new Error(`the lease of stream ${stream} was lost before its checkpoint was written`);
    });
    l.queue = run.catch((err: unknown) => {
      failure = err;
    });
    await l.queue;
    if (failure !== undefined) throw failure;
  }

  status(stream: string): LeaseStatus {
    const l = this.leases.get(stream);
    if (!l) return { role: 'standby' };
    const holder = l.held ? this.options.identity : l.stored?.record.holderIdentity;
    return { role: l.held ? 'holder' : 'standby', ...(holder ? { holder } : {}) };
  }

  /** The store answered recently enough for this replica to take part. */
  storeReachable(now = Date.now()): boolean {
    return (
      now - this.lastStoreSuccess <= Math.max(this.options.renewDeadlineMs, 2 * this.options.retryPeriodMs)
    );
  }

  private storeOk(operation: string): void {
    this.lastStoreSuccess = Date.now();
    if (this.failing.delete(operation) && this.failing.size === 0)
      this.log.info(`coordination store ${this.store.description} answers again`);
  }

  private storeErrors = 0;

  private storeError(operation: string, err: unknown): void {
    if (err instanceof LeaseConflictError) return;
    this.storeErrors++;
    this.metrics.coordinationStoreErrors.inc({ operation });
    const permanent = err instanceof LeaseStoreError && err.permanent;
    const message = (err as Error).message;
    // An outage is said once (not once per lease and round); a problem to fix once per kind of problem.
    const say = this.failing.size === 0 || (permanent && this.failing.get(operation) !== message);
    this.failing.set(operation, message);
    if (say) {
      const line = `coordination store ${this.store.description} failed (${operation}): ${(err as Error).message}; retrying every ${this.options.retryPeriodMs / 1000} s`;
      if (permanent || err instanceof ForeignLeaseError) this.log.error(line);
      else this.log.warn(line);
    }
  }

  /** The router is stopping: renew what is held (its checkpoints are still to be written), take nothing new. */
  leave(): void {
    this.leaving = true;
  }

  /**
   * Stop taking part: no more rounds, then every held lease is released
   * (after the router wrote the final checkpoints) and this replica leaves
   * the replica list, so that the others take its streams at once.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.tickTimer);
    this.wake?.();
    clearInterval(this.fenceTimer);
    await this.ticking;
    await Promise.all([...this.leases.values()].map((l) => (l.held ? this.release(l) : l.queue)));
    try {
      await this.replicas.heartbeat(true);
    } catch (err) {
      this.storeError('leave', err);
    }
    await this.store.close();
  }

  /** The streams this replica holds now. */
  heldStreams(): string[] {
    return [...this.leases.values()].filter((l) => l.held).map((l) => l.stream);
  }
}
