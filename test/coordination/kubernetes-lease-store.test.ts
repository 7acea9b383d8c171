/**
 * The Kubernetes lease store against the Kubernetes API test peer: the shared
 * lease store contract over http and https, and what an operator meets in a
 * cluster: a rejected or rotated token, RBAC, another program's Lease, stream
 * names Kubernetes does not accept, an API server that redirects, answers
 * too much, refuses or is gone.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ForeignLeaseError,
  LeaseConflictError,
  type LeaseStore,
  LeaseStoreError,
} from '../../src/coordination/lease-store';
import { inClusterDefaults } from '../../src/coordination/kubernetes/in-cluster';
import {
  KubernetesLeaseStore,
  type KubernetesLeaseStoreOptions,
} from '../../src/coordination/kubernetes/kubernetes-lease-store';
import { isLeaseObjectName, leaseObjectName } from '../../src/coordination/kubernetes/lease-name';
import { loadRootCAs } from '../../src/util/tls';
import { leaseStoreContract, record } from '../helpers/lease-store-contract';
import { makeCertificates, type TestCertificates } from '../helpers/test-ca';
import { attackerHost } from '../peers/attacker-host';
import { KubernetesApi } from '../peers/kubernetes-api';

const TOKEN = 'k8s-store-test-token-7f3a';

/** Each store gets a namespace of its own, so every contract test starts from an empty backend. */
let namespaces = 0;

function contractOver(scheme: 'http' | 'https'): void {
  let api: KubernetesApi;
  let certs: TestCertificates | undefined;
  let namespace = '';
  beforeAll(async () => {
    if (scheme === 'https') certs = makeCertificates();
    api = await KubernetesApi.start({
      tokens: [TOKEN],
      namespaces: [],
      tls: certs
        ? { key: readFileSync(certs.key, 'utf8'), cert: readFileSync(certs.cert, 'utf8') }
        : undefined,
    });
  });
  afterAll(async () => {
    await api.stop();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });
  leaseStoreContract({
    async open(): Promise<LeaseStore> {
      namespace = `ns-${++namespaces}`;
      api.setNamespaces([namespace]);
      const store = new KubernetesLeaseStore({
        address: api.url,
        namespace,
        token: TOKEN,
        caFile: certs?.ca,
        insecure: false,
        timeoutMs: 5000,
      });
      await store.open();
      return store;
    },
    async plantForeign(name: string): Promise<void> {
      api.plant({ metadata: { name, namespace }, spec: { holderIdentity: 'kube-controller-manager' } });
    },
  });
}

describe('lease store contract over http', () => contractOver('http'));
describe('lease store contract over https with the API server CA file', () => contractOver('https'));

describe('Kubernetes lease store', () => {
  let api: KubernetesApi;
  let dir: string;
  const stores: KubernetesLeaseStore[] = [];

  beforeEach(async () => {
    api = await KubernetesApi.start({ tokens: [TOKEN], namespaces: ['vmware', 'locked'] });
    dir = mkdtempSync(path.join(os.tmpdir(), 'ver-k8s-store-'));
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function storeOf(opts: Partial<KubernetesLeaseStoreOptions> = {}): KubernetesLeaseStore {
    const store = new KubernetesLeaseStore({
      address: api.url,
      namespace: 'vmware',
      token: TOKEN,
      insecure: false,
      timeoutMs: 5000,
      ...opts,
    });
    stores.push(store);
    return store;
  }

  async function failure(p: Promise<unknown>): Promise<LeaseStoreError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LeaseStoreError);
    return err as LeaseStoreError;
  }

  test('a Lease carries the managed-by label, the lease name and data as annotations, and the record in its spec', async () => {
    const store = storeOf();
    await store.open();
    const r = record('replica-a', { leaseTransitions: 3, data: { checkpoint: '{"key":7}' } });
    await store.create('s1', r);
    const o = api.read('vmware', 's1')!;
    expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'vmware-event-router' });
    expect(o.metadata.annotations).toEqual({
      'lease.event-router.vmware.com/name': 's1',
      'event-router.vmware.com/checkpoint': '{"key":7}',
    });
    expect(o.spec).toEqual({
      holderIdentity: 'replica-a',
      leaseDurationSeconds: 15,
      acquireTime: r.acquireTime,
      renewTime: r.renewTime,
      leaseTransitions: 3,
    });
  });

  test('a released lease (no holder) round-trips', async () => {
    const store = storeOf();
    await store.open();
    const released = record('', { leaseDurationSeconds: 0, acquireTime: '', renewTime: '' });
    const created = await store.create('s1', released);
    expect(created.record).toEqual(released);
    expect(await store.get('s1')).toEqual(created);
  });

  test("labels and annotations another program added to the router's Lease survive its updates", async () => {
    const store = storeOf();
    await store.open();
    await store.create('s1', record('a'));
    const o = api.read('vmware', 's1')!;
    o.metadata.labels = { ...o.metadata.labels, team: 'ops' };
    o.metadata.annotations = { ...o.metadata.annotations, 'example.com/note': 'keep me' };
    api.plant(o);
    const got = await store.get('s1');
    await store.update('s1', record('b', { data: { checkpoint: 'c' } }), got!.version);
    const after = api.read('vmware', 's1')!;
    expect(after.metadata.labels?.team).toBe('ops');
    expect(after.metadata.annotations?.['example.com/note']).toBe('keep me');
    expect((await store.get('s1'))?.record.data).toEqual({ checkpoint: 'c' });
  });

  test('a store closed and opened again still sends its token', async () => {
    const store = storeOf();
    await store.open();
    await store.create('s1', record('a'));
    await store.close();
    await store.open();
    expect((await store.get('s1'))?.record.holderIdentity).toBe('a');
  });

  test('a wrong token is a permanent error saying the token was rejected, without the token', async () => {
    const wrong = 'wrong-token-d41d8cd9';
    const err = await failure(storeOf({ token: wrong }).open());
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(
      /Kubernetes API http:\/\/127\.0\.0\.1:\d+ rejected the configured token \(401/,
    );
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(TOKEN);
  });

  test('no token at all: the error says to set one', async () => {
    const err = await failure(storeOf({ token: undefined }).open());
    expect(err.message).toMatch(
      /requires a bearer token \(401 Unauthorized\): set the auth token or token_file/,
    );
    expect(api.requests.every((r) => !r.bearer)).toBe(true);
  });

  test('a rejected token file is named, its token is not', async () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'stale-token-5e2b\n');
    const err = await failure(storeOf({ token: undefined, tokenFile: file }).open());
    expect(err.message).toContain(`rejected the token in token_file ${file} (401`);
    expect(err.message).not.toContain('stale-token-5e2b');
  });

  test('a missing token file is a permanent error naming it', async () => {
    const file = path.join(dir, 'absent-token');
    const err = await failure(storeOf({ token: undefined, tokenFile: file }).open());
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(`token_file ${file} does not exist`);
  });

  test('a rotated token file is read again when it changes: no request is rejected', async () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, 'token-1\n');
    api.setTokens(['token-1']);
    const store = storeOf({ token: undefined, tokenFile: file });
    await store.open();
    await store.create('s1', record('a'));
    // The kubelet rotates the bound token: the API server takes the new one only.
    api.setTokens(['token-2']);
    writeFileSync(file, 'token-2\n');
    const { mtime } = statSync(file);
    utimesSync(file, mtime, new Date(mtime.getTime() + 10_000));
    const before = api.requests.length;
    expect((await store.get('s1'))?.record.holderIdentity).toBe('a');
    expect(api.requests.slice(before).map((r) => r.status)).toEqual([200]);
  });

  test('a token file rewritten within the same mtime is read again after a 401, and the request repeated', async () => {
    const file = path.join(dir, 'token');
    // A whole second, which utimes sets exactly, so that the rewritten file gets the very same mtime.
    const tick = new Date(Math.floor(Date.now() / 1000) * 1000);
    writeFileSync(file, 'token-1\n');
    utimesSync(file, tick, tick);
    api.setTokens(['token-1']);
    const store = storeOf({ token: undefined, tokenFile: file });
    await store.open();
    await store.create('s1', record('a'));
    api.setTokens(['token-2']);
    writeFileSync(file, 'token-2\n');
    utimesSync(file, tick, tick);
    const before = api.requests.length;
    expect((await store.get('s1'))?.record.holderIdentity).toBe('a');
    expect(api.requests.slice(before).map((r) => r.status)).toEqual([401, 200]);
  });

  test('a namespace the service account may not use: 403 naming the verb, the namespace and the Role to apply', async () => {
    api.setAllowedNamespaces(['vmware']);
    const err = await failure(storeOf({ namespace: 'locked' }).open());
    expect(err.permanent).toBe(true);
    expect(err.message).toMatch(
      /the service account may not get leases in namespace locked \(403 Forbidden: leases\.coordination\.k8s\.io "vmware-event-router-store-check" is forbidden: User "system:serviceaccount:vmware:vmware-event-router" cannot get resource "leases".*apply the Role and RoleBinding in deploy\/ha\//,
    );
  });

  test('a namespace that does not exist: the create says so', async () => {
    const store = storeOf({ namespace: 'absent' });
    await store.open();
    const err = await failure(store.create('s1', record('a')));
    expect(err.permanent).toBe(true);
    expect(err.message).toContain('namespace absent does not exist (404)');
  });

  test("another program's Lease is named and never overwritten", async () => {
    const planted = api.plant({
      metadata: { name: 'vmware-event-router-stream-s1', namespace: 'vmware' },
      spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 40 },
    });
    const store = storeOf();
    await store.open();
    await expect(store.get('vmware-event-router-stream-s1')).rejects.toThrow(ForeignLeaseError);
    await expect(store.get('vmware-event-router-stream-s1')).rejects.toThrow(
      /Lease vmware\/vmware-event-router-stream-s1 .*is not one of the router's/,
    );
    await expect(store.create('vmware-event-router-stream-s1', record('a'))).rejects.toBeInstanceOf(
      LeaseConflictError,
    );
    await expect(
      store.update('vmware-event-router-stream-s1', record('a'), planted.metadata.resourceVersion),
    ).rejects.toThrow(/not one of the router's/);
    expect(api.read('vmware', 'vmware-event-router-stream-s1')).toEqual(planted);
  });

  test('names with uppercase and underscores map to distinct valid Lease names and round-trip', async () => {
    const names = [
      'vmware-event-router-stream-S_1',
      'vmware-event-router-stream-s_1',
      'vmware-event-router-stream-s-1',
    ];
    const mapped = names.map(leaseObjectName);
    expect(new Set(mapped).size).toBe(3);
    for (const m of mapped) expect(isLeaseObjectName(m)).toBe(true);
    expect(mapped[0]).toMatch(/^vmware-event-router-stream-s-1-[0-9a-f]{8}$/);
    expect(mapped[2]).toBe('vmware-event-router-stream-s-1');
    const store = storeOf();
    await store.open();
    for (const [i, n] of names.entries()) await store.create(n, record(`replica-${i}`));
    for (const [i, n] of names.entries())
      expect((await store.get(n))?.record.holderIdentity).toBe(`replica-${i}`);
    expect(api.read('vmware', mapped[0])?.metadata.annotations?.['lease.event-router.vmware.com/name']).toBe(
      names[0],
    );
  });

  test('every name the lease algorithm may make maps to a valid Lease name, long ones too', () => {
    const odd = ['A', '_', 'a.', 'a..b', 'a_.-b', '9.-x', 'x'.repeat(300), `A${'_'.repeat(300)}`, 'a.B.c'];
    const seen = new Set<string>();
    for (const n of odd) {
      const m = leaseObjectName(n);
      expect({ n, valid: isLeaseObjectName(m) }).toEqual({ n, valid: true });
      seen.add(m);
    }
    expect(seen.size).toBe(odd.length);
  });

  test('a Lease of another lease name mapped to the same object name is foreign, not shared', async () => {
    const store = storeOf();
    await store.open();
    const objectName = leaseObjectName('S_1');
    await store.create(objectName, record('a'));
    await expect(store.get('S_1')).rejects.toThrow(/belongs to the router's lease/);
  });

  test('a redirect is refused, and the token never reaches the Location host', async () => {
    const attacker = await attackerHost();
    const redirector = http.createServer((req, res) => {
      res.writeHead(302, { Location: `${attacker.url}${req.url}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const address = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
      const err = await failure(storeOf({ address }).open());
      expect(err.message).toContain(`with HTTP 302 redirect to ${attacker.url}/apis/coordination.k8s.io/v1/`);
      expect(err.message).toContain('never follows redirects');
      expect(attacker.requests).toEqual([]);
    } finally {
      await new Promise((resolve) => redirector.close(resolve));
      await new Promise((resolve) => attacker.server.close(resolve));
    }
  });

  test('a reply over 1 MiB is refused', async () => {
    const huge = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`{"kind":"Lease","x":"${'z'.repeat(2 * 1024 * 1024)}"}`);
    });
    await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
    try {
      const address = `http://127.0.0.1:${(huge.address() as AddressInfo).port}`;
      const err = await failure(storeOf({ address }).open());
      expect(err.message).toContain('with more than 1048576 bytes: refused');
    } finally {
      await new Promise((resolve) => huge.close(resolve));
    }
  });

  test('an API server that refuses, cuts connections, hangs or is stopped: a LeaseStoreError, then service again', async () => {
    const store = storeOf({ timeoutMs: 300 });
    await store.open();
    await store.create('s1', record('a'));

    api.refuse(true);
    const errors: LeaseStoreError[] = [];
    let err = await failure(store.get('s1'));
    errors.push(err);
    expect(err.permanent).toBe(false);
    expect(err.message).toMatch(/refused GET of lease s1 in namespace vmware \(503 ServiceUnavailable/);

    api.refuse('reset');
    err = await failure(store.get('s1'));
    errors.push(err);
    expect(err.message).toMatch(
      /is unreachable \(GET \/apis\/coordination\.k8s\.io\/v1\/namespaces\/vmware\/leases\/s1: ECONNRESET\)/,
    );

    api.refuse('hang');
    err = await failure(store.get('s1'));
    errors.push(err);
    expect(err.message).toMatch(/did not answer GET \S+ within 0\.3 s/);

    api.refuse(false);
    await api.stop();
    err = await failure(store.get('s1'));
    errors.push(err);
    expect(err.message).toMatch(/is unreachable \(GET \S+: ECONNREFUSED\)/);

    await api.start();
    expect((await store.get('s1'))?.record.holderIdentity).toBe('a');
    for (const e of errors) expect(e.message).not.toContain(TOKEN);
  });

  test('an API server error that echoes the request withholds the text instead of showing the token', async () => {
    const echo = http.createServer((req, res) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'InternalError',
          message: `internal error handling request with ${String(req.headers.authorization)}`,
          code: 500,
        }),
      );
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const address = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
      const err = await failure(storeOf({ address }).open());
      expect(err.message).toMatch(
        /refused GET of lease vmware-event-router-store-check .*\(500 InternalError: \(peer text of \d+ characters withheld/,
      );
      expect(err.message).not.toContain(TOKEN);
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  describe('over https', () => {
    let certs: TestCertificates;
    let tlsApi: KubernetesApi;
    beforeAll(async () => {
      certs = makeCertificates();
      tlsApi = await KubernetesApi.start({
        tokens: [TOKEN],
        tls: { key: readFileSync(certs.key, 'utf8'), cert: readFileSync(certs.cert, 'utf8') },
      });
    });
    afterAll(async () => {
      await tlsApi.stop();
      rmSync(certs.dir, { recursive: true, force: true });
    });

    test("the router's root CAs verify the API server", async () => {
      const store = storeOf({ address: tlsApi.url, rootCAs: loadRootCAs([certs.ca]) });
      await store.open();
      await store.create('s1', record('a'));
      expect((await store.get('s1'))?.record.holderIdentity).toBe('a');
    });

    test('an API server certificate nobody trusts is a permanent error saying what to do', async () => {
      const err = await failure(storeOf({ address: tlsApi.url }).open());
      expect(err.permanent).toBe(true);
      expect(err.message).toMatch(
        /the certificate of Kubernetes API https:\/\/127\.0\.0\.1:\d+ is not trusted/,
      );
    });

    test('in-cluster defaults: the service account directory gives token, CA and namespace', async () => {
      const sa = path.join(dir, 'serviceaccount');
      mkdirSync(sa);
      writeFileSync(path.join(sa, 'token'), TOKEN);
      writeFileSync(path.join(sa, 'ca.crt'), readFileSync(certs.ca));
      writeFileSync(path.join(sa, 'namespace'), 'vmware\n');
      const defaults = inClusterDefaults(sa);
      expect(defaults).toEqual({
        address: 'https://kubernetes.default.svc',
        tokenFile: path.join(sa, 'token'),
        caFile: path.join(sa, 'ca.crt'),
        namespace: 'vmware',
      });
      // No cluster DNS here: only the address is overridden, as `address` in the config would.
      const store = storeOf({
        address: tlsApi.url,
        namespace: defaults.namespace!,
        token: undefined,
        tokenFile: defaults.tokenFile,
        caFile: defaults.caFile,
      });
      await store.open();
      await store.create('s2', record('in-cluster'));
      expect(tlsApi.read('vmware', 's2')?.spec.holderIdentity).toBe('in-cluster');
    });

    test('outside a pod there is no namespace file', () => {
      expect(inClusterDefaults(path.join(dir, 'nothing')).namespace).toBeUndefined();
    });
  });
});
