import { balance, type LeaseView } from '../../../src/coordination/balance';

const leases = (holders: Record<string, string | undefined>): LeaseView[] =>
  Object.entries(holders).map(([stream, holder]) => ({ stream, holder }));

/** Run every replica's plan against the same view until nothing changes: the settled split. */
function settle(
  replicas: string[],
  view: Record<string, string | undefined>,
  rounds = 20,
): Record<string, number> {
  const state = { ...view };
  for (let i = 0; i < rounds; i++) {
    let changed = false;
    for (const me of replicas) {
      const plan = balance(me, replicas, leases(state));
      for (const s of plan.release) {
        state[s] = undefined;
        changed = true;
      }
      for (const s of plan.acquire) {
        if (state[s] === undefined) {
          state[s] = me;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  const count: Record<string, number> = Object.fromEntries(replicas.map((r) => [r, 0]));
  for (const h of Object.values(state)) if (h) count[h]++;
  return count;
}

describe('balance of stream leases across replicas', () => {
  test('one replica takes every free lease', () => {
    expect(balance('a', ['a'], leases({ s1: undefined, s2: undefined, s3: undefined }))).toEqual({
      acquire: ['s1', 's2', 's3'],
      release: [],
    });
  });

  test('two replicas and three streams settle 2/1', () => {
    expect(Object.values(settle(['a', 'b'], { s1: undefined, s2: undefined, s3: undefined })).sort()).toEqual(
      [1, 2],
    );
  });

  test('a replica that holds everything hands over the surplus when a second one joins', () => {
    const plan = balance('a', ['a', 'b'], leases({ s1: 'a', s2: 'a', s3: 'a' }));
    expect(plan).toEqual({ acquire: [], release: ['s3'] });
    expect(balance('b', ['a', 'b'], leases({ s1: 'a', s2: 'a', s3: undefined }))).toEqual({
      acquire: ['s3'],
      release: [],
    });
  });

  test('a third replica joining 2/1 gets one: 1/1/1', () => {
    expect(settle(['a', 'b', 'c'], { s1: 'a', s2: 'a', s3: 'b' })).toEqual({ a: 1, b: 1, c: 1 });
  });

  test('four streams over three replicas, one empty: the richest hands one over, nobody takes it back', () => {
    expect(balance('a', ['a', 'b', 'c'], leases({ s1: 'a', s2: 'a', s3: 'b', s4: 'b' }))).toEqual({
      acquire: [],
      release: ['s2'],
    });
    // b holds as many but a's identity is smaller: b waits.
    expect(balance('b', ['a', 'b', 'c'], leases({ s1: 'a', s2: 'a', s3: 'b', s4: 'b' })).release).toEqual([]);
    // Once free, a (at floor) does not take it back while c is below floor; c does.
    const view = leases({ s1: 'a', s2: undefined, s3: 'b', s4: 'b' });
    expect(balance('a', ['a', 'b', 'c'], view).acquire).toEqual([]);
    expect(balance('c', ['a', 'b', 'c'], view).acquire).toEqual(['s2']);
  });

  test('every split of M streams over R replicas settles between floor and ceil', () => {
    for (let r = 1; r <= 5; r++)
      for (let m = 0; m <= 11; m++) {
        const replicas = Array.from({ length: r }, (_, i) => `r${i}`);
        const view: Record<string, string | undefined> = {};
        // Start skewed: the first replica holds everything.
        for (let i = 0; i < m; i++) view[`s${i}`] = 'r0';
        const counts = Object.values(settle(replicas, view, 60));
        expect(counts.reduce((a, b) => a + b, 0)).toBe(m);
        for (const c of counts) {
          expect(c).toBeGreaterThanOrEqual(Math.floor(m / r));
          expect(c).toBeLessThanOrEqual(Math.ceil(m / r));
        }
      }
  });

  test('a lease held by a replica no longer in the list is not free until it expires', () => {
    expect(balance('a', ['a'], leases({ s1: 'gone' })).acquire).toEqual([]);
  });
});
