/**
 * The Kubernetes API test peer answers as the API reference says an API
 * server does, so that the store's tests against it can be trusted: Status
 * bodies, resourceVersion preconditions, 401/403/404/409/422.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '../helpers/wait';
import { readyLine } from '../harness/simulator';
import { KubernetesApi, type LeaseObject, type StatusBody } from '../peers/kubernetes-api';

const TOKEN = 'peer-test-token';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/vmware/leases';

let api: KubernetesApi;
beforeEach(async () => {
  api = await KubernetesApi.start({
    tokens: [TOKEN],
    namespaces: ['vmware', 'other', 'locked'],
    allowedNamespaces: ['vmware', 'other'],
  });
});
afterEach(async () => {
  await api.stop();
});

async function call(
  method: string,
  p: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(api.url + p, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

function lease(name: string, extra: Partial<LeaseObject['metadata']> = {}): unknown {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, ...extra },
    spec: {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      renewTime: '2026-01-02T03:04:05.123456Z',
    },
  };
}

function expectStatus(body: unknown, code: number, reason: string, message: RegExp): void {
  const s = body as StatusBody;
  expect(s).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
  expect(s.message).toMatch(message);
}

test('no bearer token or an unknown one is 401 Unauthorized with a Status body', async () => {
  for (const token of [null, 'not-the-token']) {
    const r = await call('GET', `${LEASES}/x`, undefined, token);
    expect(r.status).toBe(401);
    expectStatus(r.body, 401, 'Unauthorized', /^Unauthorized$/);
  }
  expect(api.requests.map((q) => [q.bearer, q.status])).toEqual([
    [false, 401],
    [true, 401],
  ]);
});

test('create sets uid, resourceVersion and creationTimestamp; a second create is 409 AlreadyExists', async () => {
  const created = await call('POST', LEASES, lease('s1'));
  expect(created.status).toBe(201);
  const o = created.body as LeaseObject;
  expect(o.metadata).toMatchObject({ name: 's1', namespace: 'vmware' });
  expect(o.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  expect(o.metadata.resourceVersion).toMatch(/^\d+$/);
  expect(o.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(o.spec.renewTime).toBe('2026-01-02T03:04:05.123456Z');
  const again = await call('POST', LEASES, lease('s1'));
  expect(again.status).toBe(409);
  expectStatus(again.body, 409, 'AlreadyExists', /^leases\.coordination\.k8s\.io "s1" already exists$/);
  expect((again.body as StatusBody).details).toEqual({
    name: 's1',
    group: 'coordination.k8s.io',
    kind: 'leases',
  });
});

test('an update with a stale resourceVersion is 409 Conflict; the current one or none is accepted', async () => {
  const created = (await call('POST', LEASES, lease('s1'))).body as LeaseObject;
  const v1 = created.metadata.resourceVersion;
  const updated = await call('PUT', `${LEASES}/s1`, lease('s1', { resourceVersion: v1 }));
  expect(updated.status).toBe(200);
  const v2 = (updated.body as LeaseObject).metadata.resourceVersion;
  expect(Number(v2)).toBeGreaterThan(Number(v1));
  expect((updated.body as LeaseObject).metadata.uid).toBe(created.metadata.uid);
  const stale = await call('PUT', `${LEASES}/s1`, lease('s1', { resourceVersion: v1 }));
  expect(stale.status).toBe(409);
  expectStatus(
    stale.body,
    409,
    'Conflict',
    /^Operation cannot be fulfilled on leases\.coordination\.k8s\.io "s1": the object has been modified; please apply your changes to the latest version and try again$/,
  );
  const unconditional = await call('PUT', `${LEASES}/s1`, lease('s1'));
  expect(unconditional.status).toBe(200);
  expect(Number((unconditional.body as LeaseObject).metadata.resourceVersion)).toBeGreaterThan(Number(v2));
});

test('one resourceVersion counter for every object and namespace', async () => {
  const a = (await call('POST', LEASES, lease('a'))).body as LeaseObject;
  const b = (await call('POST', '/apis/coordination.k8s.io/v1/namespaces/other/leases', lease('b')))
    .body as LeaseObject;
  expect(Number(b.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
});

test('a missing Lease is 404 NotFound; a create in a missing namespace names the namespace', async () => {
  const got = await call('GET', `${LEASES}/nope`);
  expect(got.status).toBe(404);
  expectStatus(got.body, 404, 'NotFound', /^leases\.coordination\.k8s\.io "nope" not found$/);
  const put = await call('PUT', `${LEASES}/nope`, lease('nope', { resourceVersion: '1' }));
  expect(put.status).toBe(404);
  api.setAllowedNamespaces(undefined);
  const created = await call('POST', '/apis/coordination.k8s.io/v1/namespaces/absent/leases', lease('x'));
  expect(created.status).toBe(404);
  expectStatus(created.body, 404, 'NotFound', /^namespaces "absent" not found$/);
  expect((created.body as StatusBody).details).toEqual({ name: 'absent', kind: 'namespaces' });
});

test('a name that is not a DNS-1123 subdomain is 422 Invalid naming metadata.name', async () => {
  for (const name of ['Bad_Name', '-x', 'x-', 'a'.repeat(254)]) {
    const r = await call('POST', LEASES, lease(name));
    expect(r.status).toBe(422);
    expectStatus(r.body, 422, 'Invalid', /is invalid: metadata\.name: Invalid value/);
    expect((r.body as StatusBody).details?.causes?.[0]).toMatchObject({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
    });
  }
  const badSpec = await call('POST', LEASES, {
    ...(lease('ok') as object),
    spec: { leaseDurationSeconds: 0 },
  });
  expect(badSpec.status).toBe(422);
  expectStatus(
    badSpec.body,
    422,
    'Invalid',
    /spec\.leaseDurationSeconds: Invalid value: 0: must be greater than 0/,
  );
});

test('a namespace the token may not use is 403 Forbidden, worded as RBAC words it', async () => {
  const r = await call('PUT', '/apis/coordination.k8s.io/v1/namespaces/locked/leases/x', lease('x'));
  expect(r.status).toBe(403);
  expectStatus(
    r.body,
    403,
    'Forbidden',
    /^leases\.coordination\.k8s\.io "x" is forbidden: User "system:serviceaccount:vmware:vmware-event-router" cannot update resource "leases" in API group "coordination\.k8s\.io" in the namespace "locked"$/,
  );
});

test('refusing answers 503; stop and start keep the port and the objects', async () => {
  await call('POST', LEASES, lease('s1'));
  api.refuse(true);
  const r = await call('GET', `${LEASES}/s1`);
  expect(r.status).toBe(503);
  expectStatus(r.body, 503, 'ServiceUnavailable', /unable to handle/);
  api.refuse(false);
  const url = api.url;
  await api.stop();
  await expect(fetch(`${url}${LEASES}/s1`)).rejects.toThrow();
  await api.start();
  expect(api.url).toBe(url);
  expect((await call('GET', `${LEASES}/s1`)).status).toBe(200);
});

test('list and delete', async () => {
  await call('POST', LEASES, lease('a'));
  await call('POST', LEASES, lease('b'));
  const list = (await call('GET', LEASES)).body as { kind: string; items: LeaseObject[] };
  expect(list.kind).toBe('LeaseList');
  expect(list.items.map((i) => i.metadata.name).sort()).toEqual(['a', 'b']);
  expect((await call('DELETE', `${LEASES}/a`)).status).toBe(200);
  expect((await call('GET', `${LEASES}/a`)).status).toBe(404);
});

test('runs as its own process: ready line, refusal on SIGUSR1, exit on SIGTERM', async () => {
  const script = path.resolve(__dirname, '..', '..', 'dist', 'test', 'peers', 'kubernetes-api.js');
  const child = spawn(process.execPath, [script, '--port', '0', '--token', TOKEN, '--namespace', 'vmware'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const ready = await readyLine(child, 'kubernetes-api', () => err);
    const get = (): Promise<Response> =>
      fetch(`${ready.url}${LEASES}/s1`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect((await get()).status).toBe(404);
    child.kill('SIGUSR1');
    await waitFor('the peer to refuse after SIGUSR1', async () => (await get()).status === 503);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});
