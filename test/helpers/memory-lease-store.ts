/**
 * An in-memory lease store: one backend shared by several connections (one
 * per replica under test), each of which can be cut off from it. It follows
 * the same contract as the real stores (`leaseStoreContract` runs against it).
 */
import {
  ForeignLeaseError,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  LeaseStoreError,
  type StoredLease,
} from '../../src/coordination/lease-store';

export class MemoryBackend {
  readonly values = new Map<string, { record: LeaseRecord | 'foreign'; version: number }>();
  private counter = 0;
  writes = 0;

  nextVersion(): number {
    return ++this.counter;
  }

  connect(): MemoryLeaseStore {
    return new MemoryLeaseStore(this);
  }
}

const copy = (r: LeaseRecord): LeaseRecord => ({ ...r, data: { ...r.data } });

export class MemoryLeaseStore implements LeaseStore {
  readonly description = 'memory store';
  /** Cut off from the backend: every call fails as an unreachable store does. */
  unreachable = false;

  constructor(private readonly backend: MemoryBackend) {}

  private check(): void {
    if (this.unreachable) throw new LeaseStoreError('memory store unreachable');
  }

  async open(): Promise<void> {
    await Promise.resolve();
    this.check();
  }

  async get(name: string): Promise<StoredLease | undefined> {
    await Promise.resolve();
    this.check();
    const v = this.backend.values.get(name);
    if (!v) return undefined;
    if (v.record === 'foreign') throw new ForeignLeaseError(`${name} is not a lease of the router`);
    return { record: copy(v.record), version: String(v.version) };
  }

  async create(name: string, record: LeaseRecord): Promise<StoredLease> {
    await Promise.resolve();
    this.check();
    if (this.backend.values.has(name)) throw new LeaseConflictError(`${name} exists`);
    const version = this.backend.nextVersion();
    this.backend.values.set(name, { record: copy(record), version });
    this.backend.writes++;
    return { record: copy(record), version: String(version) };
  }

  async update(name: string, record: LeaseRecord, version: string): Promise<StoredLease> {
    await Promise.resolve();
    this.check();
    const v = this.backend.values.get(name);
    if (!v || String(v.version) !== version) throw new LeaseConflictError(`${name} changed`);
    const next = this.backend.nextVersion();
    this.backend.values.set(name, { record: copy(record), version: next });
    this.backend.writes++;
    return { record: copy(record), version: String(next) };
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}
