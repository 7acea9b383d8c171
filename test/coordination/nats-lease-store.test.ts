/**
 * The NATS lease store against a real nats-server with JetStream: the shared
 * lease store contract, the bucket created or reused, the servers lost and
 * back, auth and TLS, and values that are not the router's.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { rmSync } from 'node:fs';
import { LeaseStoreError, ForeignLeaseError, LeaseConflictError } from '../../src/coordination/lease-store';
import {
  casCaveat,
  NatsLeaseStore,
  type NatsLeaseStoreOptions,
} from '../../src/coordination/nats/nats-lease-store';
import { loadRootCAs } from '../../src/util/tls';
import { leaseStoreContract, record } from '../helpers/lease-store-contract';
import { makeCertificates } from '../helpers/test-ca';
import { waitFor } from '../helpers/wait';
import { startNatsCluster, startNatsServer, type NatsServer } from '../peers/nats';

jest.setTimeout(120_000);

/** A store over `bucket`, opened. */
async function openStore(options: NatsLeaseStoreOptions): Promise<NatsLeaseStore> {
  const s = new NatsLeaseStore(options);
  await s.open();
  return s;
}

/** Write `value` under `key` of `bucket` with a client of its own, as another program would. */
async function plantValue(servers: string, bucket: string, key: string, value: string): Promise<void> {
  const nc = await connect({ servers });
  try {
    await (await new Kvm(nc).open(bucket)).put(key, value);
  } finally {
    await nc.close();
  }
}

/**
 * The rejection of `p`; fails the test when it does not settle within twice
 * the store's timeout (the store's own deadline is `timeoutMs`; the rest is
 * slack for a loaded machine, so that only a request that hangs fails here).
 */
async function failsWithin(p: Promise<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the request did not settle within ${2 * timeoutMs} ms`)),
      2 * timeoutMs,
    );
  });
  try {
    await Promise.race([p, hung]);
  } catch (err) {
    if ((err as Error).message.startsWith('the request did not settle')) throw err;
    return err;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('the request succeeded');
}

/** Whether `call` succeeds; false on a LeaseStoreError (the store unavailable), any other error fails. */
async function storeAnswers(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (err instanceof LeaseStoreError) return false;
    throw err;
  }
}

let server: NatsServer;
const stores: NatsLeaseStore[] = [];
const servers: NatsServer[] = [];

beforeAll(async () => {
  server = await startNatsServer();
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

afterAll(async () => {
  await server?.dispose();
  for (const s of servers) await s.dispose();
});

function store(options: Partial<NatsLeaseStoreOptions> = {}): NatsLeaseStore {
  const s = new NatsLeaseStore({ servers: [server.url], auth: { method: 'none' }, ...options });
  stores.push(s);
  return s;
}

describe('the lease store contract on one node', () => {
  let bucket = '';
  let n = 0;
  leaseStoreContract({
    async open() {
      bucket = `contract-${++n}`;
      return openStore({ servers: [server.url], auth: { method: 'none' }, bucket });
    },
    plantForeign: (name) => plantValue(server.url, bucket, name, '{"holder":"someone else"}'),
  });
});

describe('the bucket', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc.close();
  });

  test('a bucket that does not exist is created with one value per key, by default vmware-event-router', async () => {
    const s = store();
    expect(s.description).toBe(`NATS KV bucket vmware-event-router on ${server.url}`);
    await s.open();
    const info = await (await jetstreamManager(nc)).streams.info('KV_vmware-event-router');
    expect(info.config.max_msgs_per_subject).toBe(1);
    expect(info.config.num_replicas).toBe(1);
  });

  test('a bucket that exists is reused with its values', async () => {
    const first = store({ bucket: 'reused' });
    await first.open();
    const created = await first.create('s1', record('replica-a', { data: { checkpoint: '{"key":7}' } }));
    await first.close();
    const second = store({ bucket: 'reused' });
    await second.open();
    expect(await second.get('s1')).toEqual(created);
  });

  test('reads go to the stream leader, never as a direct get a lagging replica may answer, also in a bucket that allows them', async () => {
    await new Kvm(nc).create('direct-allowed', { history: 1, allow_direct: true });
    const seen: string[] = [];
    const watch = nc.subscribe('$JS.API.>', {
      callback: (_, m) => {
        seen.push(m.subject);
      },
    });
    await nc.flush();
    for (const bucket of ['read-by-leader', 'direct-allowed']) {
      const s = store({ bucket });
      await s.open();
      const created = await s.create('s1', record('replica-a'));
      expect(await s.get('s1')).toEqual(created);
      const updated = await s.update('s1', record('replica-b'), created.version);
      expect(await s.get('s1')).toEqual(updated);
    }
    await nc.flush();
    watch.unsubscribe();
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('KV_read-by-leader')).config.allow_direct).toBe(false);
    // A bucket somebody else made is used as it is, its settings left alone.
    expect((await jsm.streams.info('KV_direct-allowed')).config.allow_direct).toBe(true);
    expect(seen.filter((subject) => subject.startsWith('$JS.API.DIRECT.'))).toEqual([]);
    expect(seen.filter((subject) => subject.startsWith('$JS.API.STREAM.MSG.GET.'))).toEqual([
      '$JS.API.STREAM.MSG.GET.KV_read-by-leader',
      '$JS.API.STREAM.MSG.GET.KV_read-by-leader',
      '$JS.API.STREAM.MSG.GET.KV_direct-allowed',
      '$JS.API.STREAM.MSG.GET.KV_direct-allowed',
    ]);
  });

  test('a deleted or purged key is no lease, and can be created again', async () => {
    const s = store({ bucket: 'deleted' });
    await s.open();
    await s.create('s1', record('a'));
    await s.create('s2', record('b'));
    const kv = await new Kvm(nc).open('deleted');
    await kv.delete('s1');
    await kv.purge('s2');
    expect(await s.get('s1')).toBeUndefined();
    expect(await s.get('s2')).toBeUndefined();
    const again = await s.create('s1', record('c'));
    expect(await s.get('s1')).toEqual(again);
  });

  test('names with dots, dashes and underscores are keys as they are', async () => {
    const s = store({ bucket: 'names' });
    await s.open();
    await s.create('vc-1.prod_a', record('a'));
    const kv = await new Kvm(nc).open('names');
    expect(JSON.parse((await kv.get('vc-1.prod_a'))!.string())).toMatchObject({
      router: 'vmware-event-router',
      v: 1,
      holderIdentity: 'a',
    });
  });

  test('a name NATS cannot take as a key (an empty token between dots) is a permanent error naming it', async () => {
    const s = store({ bucket: 'names' });
    await s.open();
    for (const name of ['s1.', 'a..b']) {
      const err = await s.get(name).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LeaseStoreError);
      expect((err as LeaseStoreError).permanent).toBe(true);
      expect((err as Error).message).toContain(`"${name}" is not a valid key`);
    }
  });
});

describe('values that are not the router’s', () => {
  const cases: Array<[string, string]> = [
    ['not JSON', 'hello'],
    ['JSON without the marker', '{"holderIdentity":"x"}'],
    ['another layout version', '{"router":"vmware-event-router","v":2}'],
    [
      'a field of the wrong type',
      '{"router":"vmware-event-router","v":1,"holderIdentity":"a","leaseDurationSeconds":"15","acquireTime":"t","renewTime":"t","leaseTransitions":0,"data":{}}',
    ],
  ];
  test.each(cases)(
    '%s: ForeignLeaseError naming bucket and key; a create does not overwrite it',
    async (_, value) => {
      const s = store({ bucket: 'foreign' });
      await s.open();
      await plantValue(server.url, 'foreign', 'other', value);
      const err = await s.get('other').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForeignLeaseError);
      expect((err as Error).message).toMatch(/key other in the NATS KV bucket foreign/);
      await expect(s.create('other', record('a'))).rejects.toBeInstanceOf(LeaseConflictError);
      const nc = await connect({ servers: server.url });
      try {
        expect((await (await new Kvm(nc).open('foreign')).get('other'))!.string()).toBe(value);
      } finally {
        await nc.close();
      }
    },
  );
});

test('the server stopped: requests fail within the timeout; started again, the same store works', async () => {
  const own = await startNatsServer();
  servers.push(own);
  const s = store({ servers: [own.url], bucket: 'outage', timeoutMs: 1000 });
  await s.open();
  const created = await s.create('s1', record('a'));
  await own.stop();
  const failure = await failsWithin(s.get('s1'), s.timeoutMs);
  expect(failure).toBeInstanceOf(LeaseStoreError);
  expect((failure as LeaseStoreError).permanent).toBe(false);
  expect(await failsWithin(s.update('s1', record('b'), created.version), s.timeoutMs)).toBeInstanceOf(
    LeaseStoreError,
  );
  await own.start();
  await waitFor('the store answers again', () =>
    s.get('s1').then(
      () => true,
      () => false,
    ),
  );
  expect(await s.get('s1')).toEqual(created);
  const updated = await s.update('s1', record('b'), created.version);
  expect(await s.get('s1')).toEqual(updated);
});

test('no server listening: open fails with a LeaseStoreError naming servers and bucket', async () => {
  const gone = await startNatsServer();
  await gone.dispose();
  const s = store({ servers: [gone.url], bucket: 'nowhere', timeoutMs: 1000 });
  const err = await s.open().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LeaseStoreError);
  expect((err as LeaseStoreError).permanent).toBe(false);
  expect((err as Error).message).toContain(`NATS KV bucket nowhere on ${gone.url}`);
  expect((err as Error).message).toMatch(/connection refused/);
});

describe('the compare-and-swap caveat', () => {
  test('nats-server before 2.9.21 with a replicated bucket: a caveat naming version, bucket and what to do', () => {
    const caveat = casCaveat('2.9.10', 3, 'vmware-event-router');
    expect(caveat).toMatch(
      /^nats-server 2\.9\.10 does not serialize compare-and-swap writes to the bucket vmware-event-router \(3 replicas\)/,
    );
    expect(caveat).toMatch(/upgrade the NATS servers to 2\.9\.21 or later, or use a bucket with 1 replica$/);
    expect(casCaveat('2.9.20', 5, 'b')).toBeDefined();
    expect(casCaveat('2.8.4', 3, 'b')).toBeDefined();
  });
  test('a fixed server, or a bucket with one replica: no caveat', () => {
    for (const v of ['2.9.21', '2.9.25', '2.10.0', '2.11.4-beta.1', '3.0.0'])
      expect(casCaveat(v, 3, 'b')).toBeUndefined();
    expect(casCaveat('2.9.10', 1, 'b')).toBeUndefined();
  });
  test('a bucket with one replica on this server has none', async () => {
    const s = store({ bucket: 'one-replica' });
    await s.open();
    expect(s.caveat).toBeUndefined();
  });
});

describe('auth', () => {
  test('basic_auth: the user and password work; a wrong password is one permanent error without it', async () => {
    const s = await startNatsServer({ auth: { user: 'router', pass: 'right-pass-789' } });
    servers.push(s);
    const good = store({
      servers: [s.url],
      auth: { method: 'basic_auth', username: 'router', password: 'right-pass-789' },
    });
    await good.open();
    const created = await good.create('s1', record('a'));
    expect(await good.get('s1')).toEqual(created);

    const bad = store({
      servers: [s.url],
      auth: { method: 'basic_auth', username: 'router', password: 'wrong-pass-000' },
    });
    const err = await bad.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseStoreError);
    expect((err as LeaseStoreError).permanent).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^NATS KV bucket vmware-event-router on ${s.url}: could not connect .*Authorization Violation.*check the username and password`,
      ),
    );
    expect((err as Error).message).not.toContain('wrong-pass-000');
    expect((err as Error).message).not.toContain('right-pass-789');
  });

  test('token: the token works; a wrong one is a permanent error without it; none at all says to set auth', async () => {
    const s = await startNatsServer({ auth: { token: 'right-token-123' } });
    servers.push(s);
    const good = store({ servers: [s.url], auth: { method: 'token', token: 'right-token-123' } });
    await good.open();
    await good.create('s1', record('a'));
    expect((await good.get('s1'))?.record.holderIdentity).toBe('a');

    const bad = store({ servers: [s.url], auth: { method: 'token', token: 'wrong-token-456' } });
    const err = await bad.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseStoreError);
    expect((err as LeaseStoreError).permanent).toBe(true);
    expect((err as Error).message).toMatch(/check the token of auth/);
    expect((err as Error).message).not.toContain('wrong-token-456');

    const none = store({ servers: [s.url] });
    await expect(none.open()).rejects.toThrow(/the server requires credentials: set auth/);
  });
});

test('TLS: ca_file or the root CAs verify the server; without them, a permanent error saying what to trust', async () => {
  const certs = makeCertificates();
  try {
    const s = await startNatsServer({ tls: { cert: certs.cert, key: certs.key } });
    servers.push(s);
    const url = `tls://127.0.0.1:${s.port}`;
    const withCaFile = store({ servers: [url], tls: { caFile: certs.ca }, bucket: 'tls' });
    await withCaFile.open();
    const created = await withCaFile.create('s1', record('a'));
    const withRoots = store({ servers: [url], tls: { rootCAs: loadRootCAs([certs.ca]) }, bucket: 'tls' });
    await withRoots.open();
    expect(await withRoots.get('s1')).toEqual(created);

    const untrusted = store({ servers: [url] });
    const err = await untrusted.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseStoreError);
    expect((err as LeaseStoreError).permanent).toBe(true);
    expect((err as Error).message).toMatch(
      /certificate of the NATS server is not trusted .*root CAs.*or set insecure/,
    );
  } finally {
    rmSync(certs.dir, { recursive: true, force: true });
  }
});

describe('a three-node JetStream cluster', () => {
  let cluster: NatsServer[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  });
  afterAll(async () => {
    for (const s of cluster) await s.dispose();
  });

  const healthy = async () => (await Promise.all(cluster.map((s) => s.healthy()))).every(Boolean);

  /** The name of the server leading the stream of `bucket`. */
  async function leaderOf(bucket: string): Promise<string> {
    const nc = await connect({ servers: cluster.map((s) => s.url) });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`);
      return info.cluster?.leader ?? '';
    } finally {
      await nc.close();
    }
  }

  // Bucket replicas 1: Debian's nats-server (2.9.10) lets concurrent updates of a replicated bucket
  // all win (see casCaveat), so the contract's races fail there with 3 replicas.
  describe('the lease store contract through one node of the cluster', () => {
    let bucket = '';
    let n = 0;
    leaseStoreContract({
      async open() {
        bucket = `cluster-contract-${++n}`;
        const s = await openStore({ servers: [cluster[0].url], auth: { method: 'none' }, bucket });
        expect(s.caveat).toBeUndefined();
        return s;
      },
      plantForeign: (name) => plantValue(cluster[0].url, bucket, name, '{"holder":"someone else"}'),
    });
  });

  test('the bucket has three replicas; one node stopped, gets and updates still work', async () => {
    const probe = store({ servers: [cluster[0].url], bucket: 'r3-one-down', replicas: 3 });
    await probe.open();
    await probe.close();
    const nc = await connect({ servers: cluster[0].url });
    try {
      const info = await (await jetstreamManager(nc)).streams.info('KV_r3-one-down');
      expect(info.config.num_replicas).toBe(3);
      expect(probe.caveat).toBe(casCaveat(nc.info!.version, 3, 'r3-one-down'));
    } finally {
      await nc.close();
    }
    const leaderName = await leaderOf('r3-one-down');
    const [via, follower] = cluster.filter((s) => s.name !== leaderName);
    const lead = cluster.find((s) => s.name === leaderName)!;
    const s = store({ servers: [via.url], bucket: 'r3-one-down', replicas: 3, timeoutMs: 2000 });
    await s.open();
    let current = await s.create('s1', record('a'));

    // A follower stopped: the leader and the node the store uses still make a quorum.
    await follower.stop();
    expect(await s.get('s1')).toEqual(current);
    current = await s.update('s1', record('b'), current.version);
    expect(await s.get('s1')).toEqual(current);
    await follower.start();
    await waitFor('the cluster healthy again', healthy, 60_000);

    // The leader stopped: once the other two have elected one, the store works on.
    await lead.stop();
    await waitFor(
      'an update through the new leader',
      () => storeAnswers(async () => (current = await s.update('s1', record('c'), current.version))),
      60_000,
    );
    expect(current.record.holderIdentity).toBe('c');
    expect(await s.get('s1')).toEqual(current);
    await lead.start();
    await waitFor('the cluster healthy again', healthy, 60_000);
  });

  test('every node stopped: requests fail within the timeout; restarted, the same store works again', async () => {
    const s = store({ servers: [cluster[0].url], bucket: 'r3-all-down', replicas: 3, timeoutMs: 2000 });
    await s.open();
    const created = await s.create('s1', record('a', { data: { checkpoint: '{"key":1}' } }));
    await Promise.all(cluster.map((n) => n.stop()));
    expect(await failsWithin(s.get('s1'), s.timeoutMs)).toBeInstanceOf(LeaseStoreError);
    expect(await failsWithin(s.update('s1', record('b'), created.version), s.timeoutMs)).toBeInstanceOf(
      LeaseStoreError,
    );
    await Promise.all(cluster.map((n) => n.start()));
    await waitFor('the store answers again', () => storeAnswers(() => s.get('s1')), 60_000);
    expect(await s.get('s1')).toEqual(created);
    const updated = await s.update('s1', record('b'), created.version);
    expect(await s.get('s1')).toEqual(updated);
  });
});
