/**
 * `protocol: auto` against the three kinds of server: a vCenter with
 * System.hello (VI/JSON at the release it picks), a vCenter 8.0.1 without it
 * (VI/JSON at 8.0.1.0), and a SOAP-only server (Debian's simulator: SOAP).
 * The log says which in one line, and /readyz names protocol and release.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  about,
  buildHarness,
  postEvents,
  referenceEvents,
  startSimulator,
  type Simulator,
} from '../harness/simulator';
import { startViJson, type ViJsonPeer } from '../harness/vijson';
import {
  metricsEntry,
  startRouterProcess,
  startStack,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  type Stack,
  routerReady,
} from '../helpers/e2e';
import { FaultyViJsonProxy } from '../peers/faulty-vijson-proxy';

const vm = 'vm:DC0_H0_VM0';

async function streamDetails(stack: Stack): Promise<Record<string, unknown>> {
  const body = (await (await fetch(`${stack.router.metricsUrl}/readyz`)).json()) as {
    details: { streams: Record<string, Record<string, unknown>> };
  };
  return body.details.streams.vmware_vcenter;
}

/** One event posted now arrives, with govmomi's data. */
async function expectEventFlows(stack: Stack): Promise<void> {
  await postEvents(stack.sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
  await waitFor('the posted event', () =>
    stack.router.events().some((e) => e.subject === 'VmSuspendedEvent'),
  );
  const got = stack.router.events().filter((e) => e.subject === 'VmSuspendedEvent');
  expect(got).toHaveLength(1);
  const key = (got[0].data as { Key: number }).Key;
  expect(got[0].data).toEqual((await referenceEvents(stack.sim)).get(key)!.json);
}

const negotiationLines = (stack: Stack) =>
  stack.router
    .stderr()
    .split('\n')
    .filter((l) => l.includes('vCenter calls go over'));

describe.each([
  [
    'a vCenter with System.hello',
    true,
    'vCenter calls go over VI/JSON release 8.0.3.0 (negotiated with System.hello)',
    '8.0.3.0',
  ],
  [
    'a vCenter 8.0.1 (System.hello answers 404)',
    false,
    'vCenter calls go over VI/JSON release 8.0.1.0 (no System.hello)',
    '8.0.1.0',
  ],
])('auto on %s', (_name, hello, line, release) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ protocol: 'auto', hello });
  });
  afterAll(async () => stack?.stop());

  test(`VI/JSON at ${release}: the log and /readyz say so, events flow, no SOAP call`, async () => {
    const lines = negotiationLines(stack);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(line);
    expect(await streamDetails(stack)).toMatchObject({ protocol: 'vi_json', api_release: release });
    await expectEventFlows(stack);
    const stats = await stack.peer!.stats();
    expect(stats.soap_calls).toBe(0);
    expect(stats.hello_calls).toBe(1);
  });
});

describe('auto on a SOAP-only server (the simulator itself)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      stream: (sim) => ({
        ...vcenterEntry(sim),
        options: { ...vcenterEntry(sim).options, protocol: 'auto' },
      }),
    });
  });
  afterAll(async () => stack?.stop());

  test('SOAP: the log and /readyz say so, events flow', async () => {
    const lines = negotiationLines(stack);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      'vCenter calls go over SOAP (no System.hello, and no VI/JSON release 8.0.1.0)',
    );
    const details = await streamDetails(stack);
    expect(details.protocol).toBe('soap');
    expect(details).not.toHaveProperty('api_release');
    await expectEventFlows(stack);
  });
});

describe('auto over https (the peer with a self-signed certificate, insecure: true)', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  let router: RouterProcess;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    peer = await startViJson({ target: sim, tls: true });
    const entry = vcenterEntry(sim);
    router = await startRouterProcess([
      { ...entry, address: peer.url, options: { ...entry.options, protocol: 'auto' } },
      stdoutEntry,
      metricsEntry(),
    ]);
    await routerReady(router);
  });
  afterAll(async () => {
    await router?.stop();
    await peer?.stop();
    await sim?.stop();
  });

  test('System.hello and the calls go over TLS: VI/JSON at 8.0.3.0, events flow', async () => {
    expect(peer.url).toMatch(/^https:/);
    expect(router.stderr()).toContain(
      'vCenter calls go over VI/JSON release 8.0.3.0 (negotiated with System.hello)',
    );
    await postEvents(sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
    await waitFor('the posted event', () => router.events().some((e) => e.subject === 'VmSuspendedEvent'));
    // The test's own fetch would refuse the self-signed certificate.
    const stats = await new Promise<{ soap_calls: number; vijson_calls: number }>((resolve, reject) =>
      https
        .get(`${peer.origin}/vijson-stats`, { rejectUnauthorized: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve(JSON.parse(body) as { soap_calls: number; vijson_calls: number }));
        })
        .on('error', reject),
    );
    expect(stats.soap_calls).toBe(0);
    expect(stats.vijson_calls).toBeGreaterThan(0);
  });
});

describe('the vsphere_source dialect (application/xml data, Go xml.Marshal) over VI/JSON', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  const routers: RouterProcess[] = [];
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    peer = await startViJson({ target: sim });
  });
  afterAll(async () => {
    for (const r of routers) await r.stop();
    await peer?.stop();
    await sim?.stop();
  });

  test('each event gets the same CloudEvent over VI/JSON as over SOAP, XML data included', async () => {
    const e = vcenterEntry(sim);
    for (const [address, protocol] of [
      [sim.url, 'soap'],
      [peer.url, 'vi_json'],
    ]) {
      const router = await startRouterProcess([
        {
          ...e,
          name: protocol,
          address,
          options: { ...e.options, protocol, cloudevent_format: 'vsphere_source' },
        },
        stdoutEntry,
        metricsEntry(),
      ]);
      routers.push(router);
      await routerReady(router);
    }
    const posted = [
      { class: 'VmPoweredOnEvent', entities: vm },
      {
        class: 'EventEx',
        fields: {
          EventTypeId: 'com.example.backup.failed',
          Severity: 'error',
          Arguments: [
            { Key: 'count', Value: 42 },
            { Key: 'target', Value: 'sftp://backup/äöü <&> "q"' },
          ],
        },
      },
      {
        class: 'VmReconfiguredEvent',
        fields: { ConfigSpec: { Name: 'x', NumCPUs: 4, MemoryMB: 8192, Annotation: "a 'b' <c>" } },
        entities: vm,
      },
    ];
    await postEvents(sim, posted);
    const keys = [...(await referenceEvents(sim)).keys()].slice(-posted.length);
    const byKey = (r: RouterProcess) =>
      new Map(r.events().map((ev) => [Number(ev.id), ev] as [number, Record<string, unknown>]));
    await waitFor('both routers printed the posted events', () =>
      routers.every((r) => keys.every((k) => byKey(r).has(k))),
    );
    const [soap, json] = routers.map(byKey);
    for (const k of keys) {
      const a = soap.get(k)!;
      const b = json.get(k)!;
      expect(a.datacontenttype).toBe('application/xml');
      expect(typeof a.data).toBe('string');
      // The source is each stream's own address; everything else is the same.
      expect({ ...b, source: a.source }).toEqual(a);
    }
    expect((await peer.stats()).soap_calls).toBe(0);
  });
});

describe('auto where System.hello and the 8.0.1.0 probe answer with a redirect', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  let proxy: FaultyViJsonProxy;
  let elsewhere: http.Server;
  let elsewhereRequests = 0;
  let router: RouterProcess | undefined;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    peer = await startViJson({ target: sim });
    proxy = new FaultyViJsonProxy(new URL(peer.url));
    await proxy.start();
    elsewhere = http.createServer((_req, res) => {
      elsewhereRequests++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await router?.stop();
    await proxy?.stop();
    elsewhere?.closeAllConnections();
    await new Promise<void>((resolve) => (elsewhere ? elsewhere.close(() => resolve()) : resolve()));
    await peer?.stop();
    await sim?.stop();
  });

  test('SOAP: the log names both redirects, neither is followed, events flow', async () => {
    const to = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    proxy.inject('hello', {
      kind: 'redirect',
      status: 302,
      location: `${to}/api/vcenter/system?action=hello`,
    });
    proxy.inject('content', { kind: 'redirect', status: 307, location: `${to}/sdk/vim25/8.0.1.0/content` });
    const entry = vcenterEntry(sim);
    router = await startRouterProcess([
      { ...entry, address: proxy.url, options: { ...entry.options, protocol: 'auto' } },
      stdoutEntry,
      metricsEntry(),
    ]);
    const r = router;
    await routerReady(r);
    const lines = r
      .stderr()
      .split('\n')
      .filter((l) => l.includes('vCenter calls go over'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `vCenter calls go over SOAP (System.hello answered HTTP 302 redirect to ${to}/api/vcenter/system?action=hello, not followed, ` +
        `and release 8.0.1.0 answered HTTP 307 redirect to ${to}/sdk/vim25/8.0.1.0/content, not followed)`,
    );
    expect(proxy.injected).toEqual([
      { method: 'hello', kind: 'redirect' },
      { method: 'content', kind: 'redirect' },
    ]);
    await postEvents(sim, [{ class: 'VmSuspendedEvent', entities: vm }]);
    await waitFor('the posted event', () => r.events().some((e) => e.subject === 'VmSuspendedEvent'));
    const stats = await peer.stats();
    expect(stats.vijson_calls).toBe(0);
    expect(stats.soap_calls).toBeGreaterThan(0);
    expect(elsewhereRequests).toBe(0);
  });
});

describe('SIGTERM while auto negotiates with a peer that never answers', () => {
  /** A peer that answers System.hello with 404 unless `silentHello`, and never answers anything else. */
  async function silentPeer(silentHello: boolean) {
    let arrived!: (url: string) => void;
    const seen = new Promise<string>((resolve) => (arrived = resolve));
    const server = http.createServer((req, res) => {
      const url = req.url ?? '';
      req.resume();
      if (url.startsWith('/api/') && !silentHello)
        return void res
          .writeHead(404, { 'Content-Type': 'application/json' })
          .end('{"error_type":"NOT_FOUND"}');
      arrived(url);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`,
      seen,
      stop: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  // call_timeout is 60 s (its maximum) and the test's own timeout below it: a stop that waits for
  // the call instead of ending it shows as this test timing out.
  test.each([
    ['System.hello', true, '/api/vcenter/system?action=hello'],
    ['the 8.0.1.0 probe', false, '/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content'],
  ])(
    'unanswered %s: the router exits 0',
    async (_what, silentHello, path) => {
      const peer = await silentPeer(silentHello);
      let router: RouterProcess | undefined;
      try {
        router = await startRouterProcess([
          {
            type: 'stream',
            provider: 'vmware_vcenter',
            address: peer.url,
            auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
            options: { protocol: 'auto', call_timeout: '60' },
          },
          stdoutEntry,
          metricsEntry(),
        ]);
        expect(await peer.seen).toBe(path);
        expect(await router.stop()).toBe(0);
        expect(router.proc.exitCode).toBe(0);
        expect(router.stderr()).toContain('stopped');
      } finally {
        await router?.stop('SIGKILL');
        await peer.stop();
      }
    },
    40_000,
  );
});
