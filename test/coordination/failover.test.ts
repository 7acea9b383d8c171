/**
 * Several replicas sharing three vCenter streams through leases, with the
 * real parts: three govmomi simulators under a steady 100 events/s each, the
 * compiled router as separate processes, OpenFaaS gateways, and the store
 * (Debian's nats-server, or the Kubernetes Lease API peer). Each replica
 * reaches the store through its own TCP relay (so that one replica alone can
 * be cut off) and delivers to its own gateway (so that every delivery is
 * known by replica and time). The same tests run against both providers.
 */
import { writeFileSync } from 'node:fs';
import type { ConfigEntry } from '../../src/config/types';
import { burst, referenceEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  routerReady,
  startRouterProcess,
  vcenterEntry,
  waitFor,
  type RouterProcess,
} from '../helpers/e2e';
import { KubernetesApi } from '../peers/kubernetes-api';
import { startNatsServer, type NatsServer } from '../peers/nats';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { TcpProxy } from '../peers/tcp-proxy';

jest.setTimeout(300_000);

const STREAMS = ['s1', 's2', 's3'];
/** Short leases, as the option docs allow for tests: lease 6 s, renew deadline 4 s, retry period 1 s. */
const LEASE = { lease_duration: '6', renew_deadline: '4', retry_period: '1' };
const RATE = 100;

interface Store {
  port: number;
  entry(address: string, prefix: string): ConfigEntry;
  stop(): Promise<void>;
}

async function startStore(provider: 'nats' | 'kubernetes'): Promise<Store> {
  if (provider === 'nats') {
    const server: NatsServer = await startNatsServer();
    return {
      port: server.port,
      entry: (address, prefix) => ({
        type: 'coordination',
        provider: 'nats',
        address: `nats://${address}`,
        auth: { method: 'none' },
        options: { ...LEASE, lease_prefix: prefix, bucket: 'failover' },
      }),
      stop: () => server.stop(),
    };
  }
  const api = await KubernetesApi.start({ tokens: ['failover-token'] });
  return {
    port: Number(new URL(api.url).port),
    entry: (address, prefix) => ({
      type: 'coordination',
      provider: 'kubernetes',
      address: `http://${address}`,
      auth: { method: 'bearer', secret: { token: 'failover-token' } },
      options: { ...LEASE, lease_prefix: prefix, namespace: 'default' },
    }),
    stop: () => api.stop(),
  };
}

interface Body {
  id: string;
  source: string;
  subject: string;
  data: { Key: number };
}

interface Replica {
  id: string;
  router: RouterProcess;
  gateway: OpenFaasGateway;
  proxy: TcpProxy;
}

describe.each(['nats', 'kubernetes'] as const)('replicas sharing streams through %s leases', (provider) => {
  let sims: Simulator[] = [];
  let store: Store;
  let prefix = '';
  const replicas: Replica[] = [];
  let testNo = 0;

  beforeAll(async () => {
    store = await startStore(provider);
  });
  afterAll(async () => {
    await store?.stop();
  });
  beforeEach(async () => {
    // Each test its own leases and vCenters: nothing left over from the replicas of the one before
    // (a killed replica's sessions and collectors would stay on a simulator and slow it down).
    prefix = `t${++testNo}-`;
    sims = await Promise.all(STREAMS.map(() => startSimulator()));
  });
  afterEach(async () => {
    if (process.env.FAILOVER_DEBUG)
      for (const r of replicas) writeFileSync(`/tmp/failover-${r.id}.log`, r.router.stderr());
    for (const r of replicas.splice(0)) {
      await r.router.stop('SIGKILL');
      await r.proxy.close();
      await r.gateway.close();
    }
    await Promise.all(sims.map((s) => s.stop()));
  });

  function config(r: { gateway: OpenFaasGateway; proxy: TcpProxy }): unknown[] {
    return [
      ...sims.map((sim, i) => {
        const e = vcenterEntry(sim);
        return {
          ...e,
          name: STREAMS[i],
          options: { ...e.options, checkpoint: 'true', checkpoint_interval: '1' },
        };
      }),
      {
        type: 'processor',
        provider: 'openfaas',
        address: r.gateway.url,
        auth: { method: 'basic_auth', secret: { ...r.gateway.credentials } },
        options: { topic_refresh_interval: '1' },
      },
      metricsEntry(),
      store.entry(`127.0.0.1:${r.proxy.port}`, prefix),
    ];
  }

  async function startReplica(id: string): Promise<Replica> {
    const gateway = await OpenFaasGateway.start();
    gateway.deploy({ name: 'fn', annotations: { topic: 'VmPoweredOnEvent' } });
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: store.port });
    const router = await startRouterProcess(config({ gateway, proxy }), [], { POD_NAME: id });
    const r = { id, router, gateway, proxy };
    replicas.push(r);
    await routerReady(router, 60_000);
    return r;
  }

  /** Stream → holding replica, from a replica's /readyz (each replica reports what it holds). */
  async function held(rs: Replica[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const r of rs) {
      if (r.router.proc.exitCode !== null || r.router.proc.signalCode !== null) continue;
      const body = (await (await fetch(`${r.router.metricsUrl}/readyz`)).json()) as {
        details: { streams: Record<string, { role: string }> };
      };
      for (const [s, d] of Object.entries(body.details.streams)) if (d.role === 'holder') out.set(s, r.id);
    }
    return out;
  }

  async function counts(rs: Replica[]): Promise<number[]> {
    const h = await held(rs);
    return rs.map((r) => [...h.values()].filter((id) => id === r.id).length).sort();
  }

  async function settled(rs: Replica[], expected: number[]): Promise<void> {
    await waitFor(
      `leases split ${expected.join('/')}`,
      async () => {
        const h = await held(rs);
        return h.size === STREAMS.length && JSON.stringify(await counts(rs)) === JSON.stringify(expected);
      },
      60_000,
    );
  }

  /** Newest event key of each simulator now: what the load posts comes after it. */
  async function baseline(): Promise<number[]> {
    return Promise.all(sims.map(async (s) => Math.max(0, ...(await referenceEvents(s)).keys())));
  }

  /** `seconds` of RATE events/s on every simulator; resolves with the keys posted on each. */
  async function load(seconds: number, before: number[]): Promise<Map<string, number[]>> {
    await Promise.all(sims.map((s) => burst(s, 'VmPoweredOnEvent', RATE * seconds, 2, RATE)));
    const posted = new Map<string, number[]>();
    for (const [i, s] of sims.entries()) {
      const ref = await referenceEvents(s, before[i]);
      posted.set(
        s.url,
        [...ref.entries()]
          .filter(([k, e]) => k > before[i] && e.class === 'VmPoweredOnEvent')
          .map(([k]) => k),
      );
    }
    return posted;
  }

  /** Every delivery at every replica's gateway: source, key, id, replica, when. */
  function deliveries(): Array<{ source: string; key: number; id: string; replica: string; at: number }> {
    return replicas.flatMap((r) =>
      r.gateway.delivered('fn').map((inv) => {
        const b = inv.body as Body;
        return { source: b.source, key: b.data.Key, id: b.id, replica: r.id, at: inv.receivedAt };
      }),
    );
  }

  async function allDelivered(posted: Map<string, number[]>): Promise<void> {
    const total = [...posted.values()].reduce((n, k) => n + k.length, 0);
    await waitFor(
      `all ${total} posted events delivered`,
      () => {
        const got = new Set(deliveries().map((d) => `${d.source}#${d.key}`));
        return [...posted].every(([src, keys]) => keys.every((k) => got.has(`${src}#${k}`)));
      },
      90_000,
    );
  }

  /** Every posted event delivered; a re-sent one with the id it had; `exactlyOnce`: none twice. */
  function expectDelivered(posted: Map<string, number[]>, exactlyOnce: boolean): number {
    const byEvent = new Map<string, Set<string>>();
    const times = new Map<string, number>();
    for (const d of deliveries()) {
      const k = `${d.source}#${d.key}`;
      byEvent.set(k, (byEvent.get(k) ?? new Set()).add(d.id));
      times.set(k, (times.get(k) ?? 0) + 1);
    }
    let duplicates = 0;
    for (const [src, keys] of posted) {
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        const key = `${src}#${k}`;
        expect(byEvent.get(key)?.size).toBe(1);
        duplicates += (times.get(key) ?? 0) - 1;
      }
    }
    if (exactlyOnce) expect(duplicates).toBe(0);
    return duplicates;
  }

  test('one replica with a coordination entry follows every stream and resumes after its checkpoint', async () => {
    const a = await startReplica('solo-a');
    await settled([a], [3]);
    const first = await load(2, await baseline());
    await allDelivered(first);
    expect(await a.router.stop('SIGTERM')).toBe(0);
    expect(a.router.stderr()).toMatch(/lease of stream s1 released/);
    // Posted while no replica runs: delivered after the restart, from the checkpoint on the lease.
    const before = await baseline();
    await Promise.all(sims.map((s) => burst(s, 'VmPoweredOnEvent', 20, 1)));
    const restarted = await startReplica('solo-a');
    const during = await load(1, before);
    await allDelivered(during);
    expect(restarted.router.stderr()).toMatch(/resuming after the checkpoint/);
    expectDelivered(first, true);
    expectDelivered(during, true);
  });

  test('two replicas split the streams 2/1; the holder of s1 killed mid-load: the other takes it over, nothing lost, re-sent events keep their ids', async () => {
    const a = await startReplica('kill-a');
    const b = await startReplica('kill-b');
    await settled([a, b], [1, 2]);
    const before = await baseline();
    const loading = load(6, before);
    await waitFor('deliveries under way', () => deliveries().length >= 150, 60_000);
    const holder = (await held([a, b])).get('s1') === a.id ? a : b;
    const survivor = holder === a ? b : a;
    await holder.router.stop('SIGKILL');
    const posted = await loading;
    await settled([survivor], [3]);
    await allDelivered(posted);
    expectDelivered(posted, false);
    expect(survivor.router.stderr()).toMatch(
      new RegExp(`lease of stream s1 acquired: following it here .*previous_holder=${holder.id}`),
    );
    expect(survivor.router.stderr()).toMatch(/resuming after the checkpoint/);
  });

  test('SIGTERM of a holder (a rolling update): its streams move to the other replica, nothing lost, nothing twice', async () => {
    const a = await startReplica('term-a');
    const b = await startReplica('term-b');
    await settled([a, b], [1, 2]);
    const before = await baseline();
    const loading = load(6, before);
    await waitFor('deliveries under way', () => deliveries().length >= 150, 60_000);
    const h = await held([a, b]);
    const leaving = [...h.values()].filter((id) => id === a.id).length === 2 ? a : b;
    const staying = leaving === a ? b : a;
    expect(await leaving.router.stop('SIGTERM')).toBe(0);
    const posted = await loading;
    await settled([staying], [3]);
    await allDelivered(posted);
    expectDelivered(posted, true);
    expect(leaving.router.stderr()).toMatch(/lease of stream s\d released/);
  });

  test('a third replica joining mid-load gets its share (1/1/1) by hand-over: nothing lost, nothing twice', async () => {
    const a = await startReplica('join-a');
    const b = await startReplica('join-b');
    await settled([a, b], [1, 2]);
    const before = await baseline();
    const loading = load(8, before);
    await waitFor('deliveries under way', () => deliveries().length >= 150, 60_000);
    const c = await startReplica('join-c');
    await settled([a, b, c], [1, 1, 1]);
    const posted = await loading;
    await allDelivered(posted);
    expectDelivered(posted, true);
    expect(a.router.stderr() + b.router.stderr()).toMatch(/handing stream s\d over/);
  });

  test('a holder cut off from the store stops delivering before the other takes its streams over', async () => {
    const a = await startReplica('cut-a');
    const b = await startReplica('cut-b');
    await settled([a, b], [1, 2]);
    const before = await baseline();
    const loading = load(10, before);
    await waitFor('deliveries under way', () => deliveries().length >= 150, 60_000);
    const h = await held([a, b]);
    const cut = h.get('s1') === a.id ? a : b;
    const other = cut === a ? b : a;
    const cutStreams = STREAMS.filter((s) => h.get(s) === cut.id);
    cut.proxy.cut();
    await waitFor('the cut replica gives its leases up', () =>
      cutStreams.every((s) =>
        new RegExp(`lease of stream ${s} lost \\(not renewed`).test(cut.router.stderr()),
      ),
    );
    await settled([other], [3]);
    const posted = await loading;
    await allDelivered(posted);
    expectDelivered(posted, false);
    // Never both at once: for each moved stream, the cut replica's last delivery precedes the other's first after the cut.
    for (const s of cutStreams) {
      const source = sims[STREAMS.indexOf(s)].url;
      const ds = deliveries().filter((d) => d.source === source);
      const lastCut = Math.max(...ds.filter((d) => d.replica === cut.id).map((d) => d.at));
      const firstOther = Math.min(...ds.filter((d) => d.replica === other.id).map((d) => d.at));
      expect(lastCut).toBeLessThan(firstOther);
    }
    // The cut replica stays up and says so; /readyz is 503 while it cannot reach the store.
    expect((await fetch(`${cut.router.metricsUrl}/readyz`)).status).toBe(503);
    expect(cut.router.stderr()).toMatch(/coordination store .* failed/);
  });
});
