/**
 * The lease algorithm over the in-memory store, several replicas in one
 * process with short timings: the split, hand-over, fail-over after a crash,
 * fencing when the store is lost, and checkpoints that travel with a lease.
 */
import { Coordinator, type CoordinatorOptions } from '../../../src/coordination/coordinator';
import { createLogger } from '../../../src/log/logger';
import { RouterMetrics } from '../../../src/metrics/metrics';
import { MemoryBackend, type MemoryLeaseStore } from '../../helpers/memory-lease-store';
import { waitFor } from '../../helpers/wait';

const STREAMS = ['s1', 's2', 's3'];
const timings = { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 100, leasePrefix: 'ver-' };

interface Replica {
  id: string;
  store: MemoryLeaseStore;
  coordinator: Coordinator;
  metrics: RouterMetrics;
  held: Set<string>;
  /** Every acquire/lose/handover with its time and the checkpoint handed in. */
  timeline: Array<{
    at: number;
    what: 'acquired' | 'lost' | 'handover';
    stream: string;
    checkpoint?: string;
  }>;
  lines: string[];
}

/** Every moment two replicas held one stream (from the timelines): must stay empty. */
function overlaps(replicas: Replica[]): string[] {
  const spans: Array<{ id: string; stream: string; from: number; to: number }> = [];
  for (const r of replicas) {
    const open = new Map<string, number>();
    for (const e of r.timeline) {
      if (e.what === 'acquired') open.set(e.stream, e.at);
      else if (open.has(e.stream)) {
        spans.push({ id: r.id, stream: e.stream, from: open.get(e.stream)!, to: e.at });
        open.delete(e.stream);
      }
    }
    for (const [stream, from] of open) spans.push({ id: r.id, stream, from, to: Infinity });
  }
  const out: string[] = [];
  for (const a of spans)
    for (const b of spans)
      if (a.id < b.id && a.stream === b.stream && a.from < b.to && b.from < a.to)
        out.push(`${a.stream}: ${a.id} and ${b.id}`);
  return out;
}

describe('coordinator: stream leases over a compare-and-swap store', () => {
  let backend: MemoryBackend;
  const running: Replica[] = [];

  function replica(id: string, opts: Partial<CoordinatorOptions> = {}, handoverMs = 0): Replica {
    const store = backend.connect();
    const metrics = new RouterMetrics({ defaultMetrics: false });
    const r: Replica = { id, store, metrics, held: new Set(), timeline: [], lines: [] } as unknown as Replica;
    const logger = createLogger({ level: 'info', json: false, write: (l) => r.lines.push(l) });
    r.coordinator = new Coordinator(
      store,
      STREAMS,
      { identity: id, ...timings, ...opts },
      {
        acquired: (stream, checkpoint) => {
          r.held.add(stream);
          r.timeline.push({ at: Date.now(), what: 'acquired', stream, checkpoint });
        },
        lost: (stream) => {
          r.held.delete(stream);
          r.timeline.push({ at: Date.now(), what: 'lost', stream });
        },
        handover: async (stream) => {
          r.held.delete(stream);
          r.timeline.push({ at: Date.now(), what: 'handover', stream });
          await new Promise((resolve) => setTimeout(resolve, handoverMs));
          await r.coordinator.writeCheckpoint(stream, `{"final":"${id}/${stream}"}`);
        },
      },
      logger,
      metrics,
    );
    r.coordinator.start();
    running.push(r);
    return r;
  }

  const total = (rs: Replica[]): number => rs.reduce((n, r) => n + r.held.size, 0);

  beforeEach(() => {
    backend = new MemoryBackend();
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.coordinator.stop();
  });

  test('one replica holds every stream', async () => {
    const a = replica('a');
    await waitFor('a.held.size === 3', () => a.held.size === 3);
    expect(a.coordinator.status('s1')).toEqual({ role: 'holder', holder: 'a' });
    expect(a.lines.filter((l) => l.includes('acquired'))).toHaveLength(3);
  });

  test('two replicas split three streams 2/1, and never hold one at once', async () => {
    const a = replica('a');
    const b = replica('b');
    await waitFor(
      'total([a, b]) === 3 && Math.abs(a.held.size - b.held.size) === 1',
      () => total([a, b]) === 3 && Math.abs(a.held.size - b.held.size) === 1,
    );
    // Stays settled for a few rounds.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([a.held.size, b.held.size].sort()).toEqual([1, 2]);
    expect(overlaps([a, b])).toEqual([]);
    const s = [...b.held][0] ?? [...a.held][0];
    const other = a.held.has(s) ? b : a;
    expect(other.coordinator.status(s)).toEqual({ role: 'standby', holder: a.held.has(s) ? 'a' : 'b' });
  });

  test('a replica that joins late gets its share through a hand-over that writes the final checkpoint first', async () => {
    const a = replica('a', {}, 150);
    await waitFor('a.held.size === 3', () => a.held.size === 3);
    for (const s of a.held) await a.coordinator.writeCheckpoint(s, `{"key":1}`);
    const b = replica('b');
    await waitFor('b.held.size === 1 && a.held.size === 2', () => b.held.size === 1 && a.held.size === 2);
    const moved = [...b.held][0];
    const taken = b.timeline.find((e) => e.what === 'acquired')!;
    const handed = a.timeline.find((e) => e.what === 'handover')!;
    expect(handed.stream).toBe(moved);
    // b resumed from the checkpoint a wrote at the end of its hand-over, after it.
    expect(taken.checkpoint).toBe(`{"final":"a/${moved}"}`);
    expect(taken.at).toBeGreaterThanOrEqual(handed.at + 150);
    expect(overlaps([a, b])).toEqual([]);
  });

  test('a clean stop hands every stream to the other replica at once, with its checkpoint', async () => {
    const a = replica('a');
    await waitFor('a.held.size === 3', () => a.held.size === 3);
    const b = replica('b');
    await waitFor('b.held.size === 1', () => b.held.size === 1);
    for (const s of a.held) await a.coordinator.writeCheckpoint(s, `{"from":"a/${s}"}`);
    const aHeld = [...a.held];
    a.held.clear();
    const stoppedAt = Date.now();
    await a.coordinator.stop();
    running.splice(running.indexOf(a), 1);
    await waitFor('b.held.size === 3', () => b.held.size === 3);
    for (const s of aHeld) {
      const e = b.timeline.find((x) => x.what === 'acquired' && x.stream === s)!;
      expect(e.checkpoint).toBe(`{"from":"a/${s}"}`);
      // Released, not expired: taken within a few rounds, far below the lease duration.
      expect(e.at - stoppedAt).toBeLessThan(timings.leaseDurationMs);
    }
    // One at b's arrival (the hand-over), two at the stop.
    expect(a.lines.filter((l) => l.includes('released'))).toHaveLength(3);
  });

  test('a replica cut off from the store fences itself before the lease expires for the other', async () => {
    const a = replica('a');
    await waitFor('a.held.size === 3', () => a.held.size === 3);
    const b = replica('b');
    await waitFor('b.held.size === 1 && a.held.size === 2', () => b.held.size === 1 && a.held.size === 2);
    a.store.unreachable = true;
    const cutAt = Date.now();
    await waitFor('a.held.size === 0', () => a.held.size === 0);
    const lostAt = Math.max(...a.timeline.filter((e) => e.what === 'lost').map((e) => e.at));
    expect(lostAt - cutAt).toBeLessThanOrEqual(timings.renewDeadlineMs + 300);
    await waitFor('b.held.size === 3', () => b.held.size === 3);
    expect(overlaps([a, b])).toEqual([]);
    expect(
      a.lines.some((l) => /lease of stream s\d lost \(not renewed within the renew deadline/.test(l)),
    ).toBe(true);
    expect(a.coordinator.storeReachable()).toBe(false);
    const metrics = await a.metrics.registry.getSingleMetricAsString(
      'vmware_event_router_coordination_lease_transitions_total',
    );
    expect(metrics).toMatch(/event="lost"/);
    // Back on the store: it takes its share again from b, by hand-over.
    a.store.unreachable = false;
    await waitFor('a.held.size >= 1 && total([a, b]) === 3', () => a.held.size >= 1 && total([a, b]) === 3);
    expect(overlaps([a, b])).toEqual([]);
  });

  test('a crashed holder (no release) is replaced once its lease has not moved for a lease duration', async () => {
    const a = replica('a');
    await waitFor('a.held.size === 3', () => a.held.size === 3);
    const b = replica('b');
    await waitFor('b.held.size === 1', () => b.held.size === 1);
    // A crash: no more rounds, nothing released, and its process is gone (no fencing to wait for).
    a.store.unreachable = true;
    const crashedAt = Date.now();
    await waitFor('b.held.size === 3', () => b.held.size === 3);
    const last = Math.max(...b.timeline.filter((e) => e.what === 'acquired').map((e) => e.at));
    expect(last - crashedAt).toBeGreaterThanOrEqual(timings.leaseDurationMs - timings.retryPeriodMs);
  });

  test('a third replica joining 2/1 settles at 1/1/1', async () => {
    const a = replica('a');
    const b = replica('b');
    await waitFor('total([a, b]) === 3', () => total([a, b]) === 3);
    const c = replica('c');
    await waitFor(
      'a.held.size === 1 && b.held.size === 1 && c.held.size === 1',
      () => a.held.size === 1 && b.held.size === 1 && c.held.size === 1,
    );
    expect(overlaps([a, b, c])).toEqual([]);
  });

  test('a value under a lease name that is not the router’s is named once and left alone', async () => {
    backend.values.set('ver-s2', { record: 'foreign', version: backend.nextVersion() });
    const a = replica('a');
    await waitFor('a.held.size === 2', () => a.held.size === 2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect([...a.held].sort()).toEqual(['s1', 's3']);
    expect(backend.values.get('ver-s2')!.record).toBe('foreign');
    expect(a.lines.filter((l) => l.includes('ver-s2'))).toHaveLength(1);
  });

  test('writing a checkpoint for a stream not held is refused', async () => {
    const a = replica('a');
    const b = replica('b');
    await waitFor('a split', () => total([a, b]) === 3 && b.held.size > 0 && a.held.size > 0);
    const notHeld = STREAMS.find((s) => !a.held.has(s))!;
    await expect(a.coordinator.writeCheckpoint(notHeld, '{}')).rejects.toThrow(/not held/);
  });
  test('two replicas under one identity are named in one ERROR line', async () => {
    const a = replica('same');
    const b = replica('same');
    await waitFor('the clash is seen', () =>
      [...a.lines, ...b.lines].some((l) => l.includes('another replica uses the identity "same"')),
    );
    const lines = [...a.lines, ...b.lines].filter((l) => l.includes('another replica uses the identity'));
    expect(lines.every((l) => l.includes('ERROR'))).toBe(true);
    // Said once per replica, not every round.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(a.lines.filter((l) => l.includes('another replica uses the identity')).length).toBeLessThanOrEqual(
      1,
    );
    expect(b.lines.filter((l) => l.includes('another replica uses the identity')).length).toBeLessThanOrEqual(
      1,
    );
  });

  test('a permanent store error is logged once, not every round; its recovery once', async () => {
    const a = replica('a');
    await waitFor('a holds every stream', () => a.held.size === 3);
    const store = a.store as unknown as { get: (n: string) => Promise<unknown> };
    const original = store.get.bind(a.store);
    const { LeaseStoreError } = await import('../../../src/coordination/lease-store');
    store.get = () => Promise.reject(new LeaseStoreError('the API server rejected the token (401)', true));
    await new Promise((resolve) => setTimeout(resolve, 800));
    store.get = original;
    await waitFor('recovery logged', () => a.lines.some((l) => l.includes('answers again')));
    expect(a.lines.filter((l) => l.includes('rejected the token')).length).toBe(1);
  });
});
