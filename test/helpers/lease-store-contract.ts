/**
 * What every lease store must do, whichever backend keeps the records: each
 * store's test calls `leaseStoreContract` with a way to open a fresh store
 * (and to plant a value that is not the router's under a name).
 */
import {
  ForeignLeaseError,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  microTime,
} from '../../src/coordination/lease-store';

export interface ContractSetup {
  /** A store over an empty backend, opened. */
  open(): Promise<LeaseStore>;
  /** Write a value under `name` that is not a lease of the router's (another program's). */
  plantForeign(name: string): Promise<void>;
}

export function record(holder: string, extra: Partial<LeaseRecord> = {}): LeaseRecord {
  const now = microTime(Date.now());
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: 0,
    data: {},
    ...extra,
  };
}

export function leaseStoreContract(setup: ContractSetup): void {
  let store: LeaseStore;
  beforeEach(async () => {
    store = await setup.open();
  });
  afterEach(async () => {
    await store.close();
  });

  test('a lease that was never created is undefined', async () => {
    expect(await store.get('s1')).toBeUndefined();
  });

  test('create then get returns the same record and version', async () => {
    const r = record('replica-a', { data: { checkpoint: '{"key":42}' } });
    const created = await store.create('s1', r);
    expect(created.record).toEqual(r);
    const got = await store.get('s1');
    expect(got).toEqual(created);
  });

  test('a second create of the same name is a conflict', async () => {
    await store.create('s1', record('replica-a'));
    await expect(store.create('s1', record('replica-b'))).rejects.toBeInstanceOf(LeaseConflictError);
    expect((await store.get('s1'))?.record.holderIdentity).toBe('replica-a');
  });

  test('an update with the current version replaces the record and changes the version', async () => {
    const created = await store.create('s1', record('replica-a'));
    const next = record('replica-b', { leaseTransitions: 1, data: { checkpoint: 'x', members: 'y' } });
    const updated = await store.update('s1', next, created.version);
    expect(updated.version).not.toBe(created.version);
    expect(updated.record).toEqual(next);
    expect(await store.get('s1')).toEqual(updated);
  });

  test('an update with a stale version is a conflict and changes nothing', async () => {
    const created = await store.create('s1', record('replica-a'));
    const won = await store.update('s1', record('replica-b'), created.version);
    await expect(store.update('s1', record('replica-c'), created.version)).rejects.toBeInstanceOf(
      LeaseConflictError,
    );
    expect(await store.get('s1')).toEqual(won);
  });

  test('data may be removed by an update', async () => {
    const created = await store.create('s1', record('a', { data: { checkpoint: 'x' } }));
    await store.update('s1', record('a'), created.version);
    expect((await store.get('s1'))?.record.data).toEqual({});
  });

  test('names are independent', async () => {
    await store.create('s1', record('a'));
    await store.create('s2', record('b'));
    expect((await store.get('s1'))?.record.holderIdentity).toBe('a');
    expect((await store.get('s2'))?.record.holderIdentity).toBe('b');
  });

  test('a value that is not a lease of the router is named, never overwritten', async () => {
    await setup.plantForeign('s9');
    await expect(store.get('s9')).rejects.toBeInstanceOf(ForeignLeaseError);
    await expect(store.get('s9')).rejects.toThrow(/s9/);
  });

  test('concurrent creates: exactly one wins', async () => {
    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((h) => store.create('race', record(h))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LeaseConflictError);
  });

  test('concurrent updates from one version: exactly one wins', async () => {
    const created = await store.create('race', record('a'));
    const results = await Promise.allSettled(
      ['b', 'c', 'd'].map((h) => store.update('race', record(h), created.version)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
}
