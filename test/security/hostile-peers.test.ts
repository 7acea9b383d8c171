/**
 * Issue 17: hostile and broken peers. Each test runs the compiled router (or,
 * for EventBridge, the processor) against a peer that redirects, echoes the
 * request into its error, answers with an oversized or empty reply, or hangs.
 * No configured secret goes to a host nobody configured or into any log line,
 * CloudEvent, metric or error; no text that is not a secret is altered; memory
 * stays under the manifest's 256 Mi limit; and every refusal is logged.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { ConfigEntry } from '../../src/config/types';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  CLI,
  metricsEntry,
  startRouterProcess,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';
import { attackerHost, type AttackerHost } from '../peers/attacker-host';
import { FaultyVCenterProxy } from '../peers/faulty-vcenter-proxy';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { CaptureLogger, entryFor, makeCtx } from '../processor/aws_event_bridge/helpers';
import { EventBridgeSink } from '../../src/processor/aws_event_bridge/eventbridge-sink';
import { EventBridgeEndpoint } from '../peers/eventbridge-endpoint';
import { readOptions } from '../../src/config/options';
import { eventBridgeOptions } from '../../src/processor/aws_event_bridge/options';

/** The manifest's memory limit (deploy/: 256Mi). */
const LIMIT_KB = 256 * 1024;

/** Peak resident set of a process (VmHWM), in kB: a high-water mark, no sampling. */
function peakRssKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmHWM');
  return Number(m[1]);
}

function openfaasEntry(gw: OpenFaasGateway, options: Record<string, string> = {}): ConfigEntry {
  return {
    type: 'processor',
    provider: 'openfaas',
    address: gw.url,
    auth: { method: 'basic_auth', secret: gw.credentials },
    options: { topic_refresh_interval: '1', retries: '0', ...options },
  };
}

async function metric(router: RouterProcess, re: RegExp): Promise<number> {
  const text = await (await fetch(`${router.metricsUrl}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

let sim: Simulator;
let attacker: AttackerHost;

beforeAll(async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
  attacker = await attackerHost();
});

afterAll(async () => {
  attacker?.server.close();
  await sim?.stop();
});

describe('OpenFaaS gateway', () => {
  let gw: OpenFaasGateway;
  let router: RouterProcess | undefined;

  beforeEach(async () => {
    gw = await OpenFaasGateway.start();
  });
  afterEach(async () => {
    if (router) expect(await router.stop()).toBe(0);
    router = undefined;
    await gw.close();
  });

  test('a 200 MB /system/functions reply is refused at 8 MiB, logged, and RSS stays under 256 Mi', async () => {
    gw.setHostile({ functionListBytes: 200 * 1000 * 1000 });
    router = await startRouterProcess([vcenterEntry(sim), openfaasEntry(gw), metricsEntry()]);
    const refused =
      /answered GET \/system\/functions\?namespace=openfaas-fn with more than 8 MiB: reply refused/g;
    // Three refreshes, each refused.
    await waitFor('three refused function lists', () => (router!.stderr().match(refused) ?? []).length >= 3);
    expect(
      await metric(router, /topic_map_rebuild_failures_total\{reason="too_large"\} (\d+)/),
    ).toBeGreaterThanOrEqual(3);
    const peak = peakRssKb(router.proc.pid!);
    expect(peak).toBeLessThan(LIMIT_KB);
    // The router stopped reading each list near the cap: far less than 3 x 200 MB left the gateway.
    expect(gw.hugeBytesSent).toBeLessThan(3 * 200 * 1000 * 1000);
    process.stdout.write(`200 MB function list: router peak RSS ${(peak / 1024).toFixed(1)} MiB\n`);
  });

  test('a function answering 200 with a 2 MB body is a success (reading stops at 1 MB, the status is kept)', async () => {
    gw.deploy({ name: 'big', annotations: { topic: 'VmPoweredOnEvent' }, reply: { bytes: 2 * 1000 * 1000 } });
    router = await startRouterProcess([vcenterEntry(sim), openfaasEntry(gw), metricsEntry()]);
    await routerReady(router!);
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
    await waitFor(
      'the invocation counted',
      async () =>
        (await metric(
          router!,
          /function_invocations_total\{function="big\.openfaas-fn",outcome="success"\} (\d+)/,
        )) >= 1,
    );
    expect(await metric(router, /processor_errors_total\{[^}]*\} (\d+)/)).toBe(0);
    expect(router.stderr()).not.toMatch(/OpenFaaS function big\.openfaas-fn invocation failed/);
  });

  test('redirects: /system/* and invocations never follow one; the admin password stays home', async () => {
    gw.deploy({
      name: 'moved',
      annotations: { topic: 'VmPoweredOnEvent' },
      reply: { redirect: 307, location: `${attacker.url}/function/moved` },
    });
    router = await startRouterProcess([vcenterEntry(sim), openfaasEntry(gw), metricsEntry()]);
    await routerReady(router!);
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
    await waitFor('the redirected invocation logged', () =>
      /OpenFaaS function moved\.openfaas-fn invocation failed.* status=307/.test(router!.stderr()),
    );
    gw.setHostile({ systemRedirect: { status: 307, location: `${attacker.url}/system/functions` } });
    await waitFor('the refused /system redirect logged', () =>
      router!.stderr().includes(`with HTTP 307 redirect to ${attacker.url}/system/functions: refused`),
    );
    expect(gw.invocationsOf('moved')).toHaveLength(1);
    expect(attacker.requests).toEqual([]);
    expect(router.stderr()).not.toContain(gw.credentials.password);
  });
});

test('EventBridge: a redirecting endpoint gets no request forwarded, and the start error names no secret', async () => {
  const redirector = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(307, { Location: `${attacker.url}/` }).end());
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  const ctx = makeCtx();
  const entry = entryFor({ url } as EventBridgeEndpoint);
  const p = new EventBridgeSink(entry, readOptions(eventBridgeOptions, entry), ctx, {
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    startAttempts: 2,
  });
  try {
    const err = await p.start().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(attacker.requests).toEqual([]);
    const secret = entry.auth!.secret!.aws_secret_access_key;
    expect(err!.message).not.toContain(secret);
    expect((ctx.logger as CaptureLogger).text()).not.toContain(secret);
  } finally {
    await p.stop();
    redirector.close();
  }
});

describe('vCenter', () => {
  let proxy: FaultyVCenterProxy;
  let router: RouterProcess | undefined;

  beforeEach(async () => {
    proxy = new FaultyVCenterProxy(new URL(sim.url));
    await proxy.start();
  });
  afterEach(async () => {
    if (router) expect(await router.stop()).toBe(0);
    router = undefined;
    await proxy.stop();
  });

  const viaProxy = (callTimeout = '3'): ConfigEntry => ({
    ...vcenterEntry(sim),
    address: proxy.url,
    options: { call_timeout: callTimeout, max_backoff: '1' },
  });

  test('a 100 MB SOAP reply is refused at 16 MiB, logged, RSS stays under 256 Mi, and the stream recovers', async () => {
    proxy.inject('RetrieveServiceContent', { kind: 'huge', bytes: 100 * 1000 * 1000 }, 1);
    router = await startRouterProcess([viaProxy('20'), stdoutEntry, metricsEntry()]);
    await waitFor('the refusal logged', () =>
      router!.stderr().includes('RetrieveServiceContent: reply larger than 16 MiB refused'),
    );
    await routerReady(router!);
    const peak = peakRssKb(router.proc.pid!);
    expect(peak).toBeLessThan(LIMIT_KB);
    expect(proxy.hugeBytesSent).toBeLessThan(100 * 1000 * 1000);
    process.stdout.write(`100 MB SOAP reply: router peak RSS ${(peak / 1024).toFixed(1)} MiB\n`);
  });

  test('empty WaitForUpdatesEx replies at once: backed off, counted, logged once, shown in /readyz', async () => {
    // call_timeout 20 s: the wait time is 10 s, an empty reply within 5 s is early.
    router = await startRouterProcess([viaProxy('20'), stdoutEntry, metricsEntry()]);
    await routerReady(router!);
    const from = proxy.methods.length;
    proxy.inject('WaitForUpdatesEx', { kind: 'empty' }, 100_000);
    const counted = () =>
      metric(
        router!,
        /stream_empty_replies_total\{provider="vmware_vcenter",stream="vmware_vcenter"\} (\d+)/,
      );
    await waitFor('four counted empty replies', async () => (await counted()) >= 4, 60_000);
    const readyz = await fetch(`${router.metricsUrl}/readyz`);
    expect(readyz.status).toBe(503);
    const body = (await readyz.json()) as {
      details?: { streams?: Record<string, { ready?: boolean; fault?: string }> };
    };
    const stream = body.details?.streams?.vmware_vcenter;
    expect(stream?.ready).toBe(false);
    expect(stream?.fault).toMatch(/answers WaitForUpdatesEx at once with an empty reply/);
    const faultLines = router
      .stderr()
      .split('\n')
      .filter((l) => l.includes('answers WaitForUpdatesEx at once'));
    expect(faultLines).toHaveLength(1);
    // Slowed: after the tolerated replies, each call waits its backoff (>= 375, 750, 1500 ms).
    const times = proxy.times.slice(from).filter((_, i) => proxy.methods[from + i] === 'WaitForUpdatesEx');
    // times[0] may be the long poll already running; the empty ones follow. The calls after the
    // 3rd empty reply (the first counted) come at least 375 + 750 + 1500 ms apart in total.
    expect(times.length).toBeGreaterThanOrEqual(6);
    expect(times[times.length - 1] - times[times.length - 4]).toBeGreaterThanOrEqual(375 + 750 + 1500);
    proxy.clear();
    await routerReady(router!, 60_000);
    expect(router.stderr()).toContain('vCenter WaitForUpdatesEx answers normally again');
  });
});

describe.each(['p', 'ab', 'error', 'vmware', 'pass', 'a&b<c'])(
  'password %j and an echoing vCenter',
  (secret) => {
    let echoSim: Simulator;
    let proxy: FaultyVCenterProxy;
    let router: RouterProcess | undefined;

    afterAll(async () => {
      if (router) expect(await router.stop()).toBe(0);
      await proxy?.stop();
      await echoSim?.stop();
    });

    test('the echoed Login is withheld, nothing else is altered, the secret is nowhere', async () => {
      echoSim = await startSimulator({ password: secret });
      await about(echoSim);
      proxy = new FaultyVCenterProxy(new URL(echoSim.url));
      await proxy.start();
      proxy.inject('Login', { kind: 'echo', escapes: 1 }, 1);
      proxy.inject('Login', { kind: 'echo', escapes: 2 }, 1);
      // The config path holds the secret too (it must be shown as written), except for the
      // secret with characters that make it unique: that one must appear nowhere at all.
      const unique = secret === 'a&b<c';
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-echo-'));
      const cfgDir = unique ? dir : path.join(dir, `${secret}-vmware-event-router`);
      mkdirSync(cfgDir, { recursive: true });
      const file = path.join(cfgDir, 'config.json');
      writeFileSync(
        file,
        JSON.stringify([
          { ...vcenterEntry(echoSim), address: proxy.url, options: { call_timeout: '3', max_backoff: '1' } },
          stdoutEntry,
          metricsEntry({ username: 'metrics', password: secret }),
        ]),
      );
      const proc = spawn(process.execPath, [CLI, '-config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      const stdout: string[] = [];
      proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      proc.stdout.setEncoding('utf8').on('data', (d: string) => stdout.push(d));
      const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
      router = {
        proc,
        stdoutLines: [],
        stderr: () => stderr,
        metricsUrl: '',
        events: () => [],
        stop: async () => {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          return exited;
        },
        exited,
      };
      await waitFor('connected after two echoed Logins', () => stderr.includes('connected to vCenter'));
      const port = /metrics server listening address=[^\s]*:(\d+)/.exec(stderr)![1];
      const auth = { Authorization: 'Basic ' + Buffer.from(`metrics:${secret}`).toString('base64') };
      await postEvents(echoSim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
      await waitFor('the event', () => stdout.join('').includes('VmPoweredOnEvent'));
      const stats = await (await fetch(`http://127.0.0.1:${port}/stats`, { headers: auth })).text();
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: auth })).text();
      const log = stderr;

      // The two echoes were withheld whole, and said so.
      expect(
        log.match(/Login: vCenter fault SystemError: \(peer text of \d+ characters withheld/g),
      ).toHaveLength(2);
      for (const text of [log, stdout.join(''), stats, metrics]) {
        expect(text).not.toContain('ECHO[');
        expect(text).not.toMatch(/password&(amp;)*gt;|password>/);
        if (unique)
          for (const form of [secret, 'a&amp;b&lt;c', 'a\\u0026b\\u003cc', 'a&amp;amp;b&amp;lt;c'])
            expect(text).not.toContain(form);
      }
      // Text that is not a secret is left as written.
      expect(log).toContain('starting vmware-event-router');
      expect(log).toContain(`config=${file}`);
      expect(log).toMatch(/ error="Login: vCenter fault SystemError/);
      expect(log).not.toContain('*****');
    });
  },
);

describe('signals', () => {
  let hang: http.Server;
  let hangUrl: string;
  const seen: string[] = [];

  beforeAll(async () => {
    // An OpenFaaS gateway that never answers: the router's start waits for its first topic map.
    hang = http.createServer((req) => seen.push(req.url ?? ''));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    hang.closeAllConnections();
    hang.close();
  });

  const entries = () => [
    vcenterEntry(sim),
    {
      type: 'processor',
      provider: 'openfaas',
      address: hangUrl,
      auth: { method: 'basic_auth', secret: { username: 'admin', password: 'gw-pw' } },
    },
    metricsEntry(),
  ];

  test('SIGTERM while the start waits for a hanging gateway: logged, exit 0', async () => {
    // Counted before the start: the router may reach the gateway before its metrics server listens.
    const before = seen.length;
    const router = await startRouterProcess(entries());
    await waitFor('the start waiting for the gateway', () => seen.length > before);
    expect(await router.stop('SIGTERM')).toBe(0);
    expect(router.stderr()).toMatch(/signal received signal=SIGTERM/);
  });

  test('SIGHUP is logged and ignored (README); SIGTERM then stops with exit 0', async () => {
    const router = await startRouterProcess(entries());
    router.proc.kill('SIGHUP');
    await waitFor('the SIGHUP log line', () => router.stderr().includes('SIGHUP received and ignored'));
    expect(router.proc.exitCode).toBeNull();
    expect((await fetch(`${router.metricsUrl}/healthz`)).status).toBe(200);
    expect(await router.stop('SIGTERM')).toBe(0);
  });
});

describe('the vCenter session key', () => {
  /**
   * A VI/JSON vCenter that hands out a new session key on each Login, then
   * answers every CurrentTime with a fault whose faultstring echoes the key.
   */
  async function echoingViJson() {
    const keys: string[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const url = req.url ?? '';
        const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
          res
            .writeHead(status, { 'Content-Type': 'application/json', ...headers })
            .end(JSON.stringify(value));
        if (url === '/api/vcenter/system?action=hello') return json(200, { api_release: '8.0.2.0' });
        if (url.endsWith('/ServiceInstance/ServiceInstance/content'))
          return json(200, {
            _typeName: 'ServiceContent',
            rootFolder: { _typeName: 'ManagedObjectReference', type: 'Folder', value: 'group-d1' },
            propertyCollector: {
              _typeName: 'ManagedObjectReference',
              type: 'PropertyCollector',
              value: 'pc',
            },
            sessionManager: { _typeName: 'ManagedObjectReference', type: 'SessionManager', value: 'sm' },
            eventManager: { _typeName: 'ManagedObjectReference', type: 'EventManager', value: 'em' },
            about: { _typeName: 'AboutInfo', fullName: 'hostile', instanceUuid: 'u', apiVersion: '8.0.2.0' },
          });
        if (url.endsWith('/Login')) {
          const key = `session-key-${keys.length}-${Math.random().toString(36).slice(2)}`;
          keys.push(key);
          return json(200, { _typeName: 'UserSession', key: 'k' }, { 'vmware-api-session-id': key });
        }
        if (url.endsWith('/Logout')) return void res.writeHead(204).end();
        const sent = String(req.headers['vmware-api-session-id'] ?? '');
        json(500, { _typeName: 'SystemError', faultstring: `session ${sent} cannot do that` });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`,
      keys,
      stop: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  test('a VI/JSON peer echoing the session id in its faults: the router log never shows it', async () => {
    const peer = await echoingViJson();
    let router: RouterProcess | undefined;
    try {
      router = await startRouterProcess([
        {
          type: 'stream',
          provider: 'vmware_vcenter',
          address: peer.url,
          auth: { method: 'user_password', secret: { username: 'user', password: 'pass' } },
          options: { protocol: 'vi_json', call_timeout: '10', max_backoff: '1' },
        },
        stdoutEntry,
        metricsEntry(),
      ]);
      const r = router;
      const withheld = () =>
        r
          .stderr()
          .split('\n')
          .filter((l) => l.includes('CurrentTime: vCenter fault SystemError: (peer text of'));
      await waitFor('two faults logged, their text withheld', () => withheld().length >= 2);
      expect(withheld()[0]).toContain('withheld: it contains a configured secret');
      expect(peer.keys.length).toBeGreaterThanOrEqual(2);
      expect(await r.stop()).toBe(0);
      for (const key of peer.keys) expect(r.stderr()).not.toContain(key);
    } finally {
      await router?.stop('SIGKILL');
      await peer.stop();
    }
  });
});
