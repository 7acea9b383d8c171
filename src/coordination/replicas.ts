/**
 * Which replicas are alive: each one bumps its own counter in one shared
 * record every retry period; a replica whose counter has not moved for a
 * lease duration, as this replica observed it, is gone. Observed time, not
 * the writers' clocks: replicas never compare clocks with each other (as
 * client-go's leader election judges a lease by when it saw it change).
 */
import {
  ForeignLeaseError,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
  microTime,
} from './lease-store';

interface Seen {
  beat: number;
  at: number;
}

/** The replica list's record data: identity → heartbeat counter. */
function membersOf(stored: StoredLease | undefined, key: string): Record<string, number> {
  if (!stored) return {};
  const text = stored.record.data.members;
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ForeignLeaseError(`${key}: its "members" value is not the router's replica list (not JSON)`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new ForeignLeaseError(`${key}: its "members" value is not the router's replica list`);
  const out: Record<string, number> = {};
  for (const [id, beat] of Object.entries(v as Record<string, unknown>))
    if (typeof beat === 'number' && Number.isSafeInteger(beat)) out[id] = beat;
  return out;
}

export class ReplicaList {
  private readonly seen = new Map<string, Seen>();
  /** The counter this replica last wrote for itself. */
  private lastBeat?: number;

  constructor(
    private readonly store: LeaseStore,
    /** The record's name in the store. */
    readonly key: string,
    private readonly identity: string,
    private readonly leaseDurationMs: number,
  ) {}

  /** The live replicas (this one always among them), sorted. */
  live(now = Date.now()): string[] {
    const out = [this.identity];
    for (const [id, s] of this.seen)
      if (id !== this.identity && now - s.at < this.leaseDurationMs) out.push(id);
    return out.sort();
  }

  private observe(members: Record<string, number>, now: number): void {
    for (const [id, beat] of Object.entries(members)) {
      const s = this.seen.get(id);
      if (!s || s.beat !== beat) this.seen.set(id, { beat, at: now });
    }
    for (const id of [...this.seen.keys()]) if (!(id in members)) this.seen.delete(id);
  }

  /**
   * Bump this replica's counter (or, with `leave`, remove it) with a
   * compare-and-swap, retried a few times when other replicas write at the
   * same moment. Replicas not seen to move for two lease durations are
   * dropped from the record. Resolves true when this replica's counter was
   * not the one it wrote last (another process uses its identity). Throws
   * the store's errors.
   */
  async heartbeat(leave = false): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const now = Date.now();
      const stored = await this.store.get(this.key);
      const members = membersOf(stored, this.key);
      const clash = this.lastBeat !== undefined && members[this.identity] !== this.lastBeat;
      this.observe(members, now);
      const next: Record<string, number> = {};
      for (const [id, beat] of Object.entries(members)) {
        const s = this.seen.get(id);
        if (id !== this.identity && s && now - s.at < 2 * this.leaseDurationMs) next[id] = beat;
      }
      if (!leave) next[this.identity] = (members[this.identity] ?? 0) + 1;
      const record: LeaseRecord = {
        holderIdentity: '',
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: stored?.record.acquireTime ?? microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
        data: { members: JSON.stringify(next) },
      };
      try {
        if (stored) await this.store.update(this.key, record, stored.version);
        else await this.store.create(this.key, record);
        if (!leave) this.seen.set(this.identity, { beat: next[this.identity], at: now });
        this.lastBeat = leave ? undefined : next[this.identity];
        return clash;
      } catch (err) {
        if (!(err instanceof LeaseConflictError) || attempt >= 4) throw err;
      }
    }
  }
}
