/**
 * The vCenter faults of vcenter-faults.test.ts, over VI/JSON: an expired
 * session (NotAuthenticated) means a new login and no lost event; a stalled
 * call and a VI/JSON peer stopped and restarted are survived; a reply that is
 * not JSON is one clear error and the stream retries; a wrong password is the
 * same one clear start error as over SOAP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import { startViJson, VIJSON, type ViJsonPeer } from '../harness/vijson';
import {
  metricsEntry,
  runCli,
  startRouterProcess,
  startStack,
  stdoutEntry,
  waitFor,
  writeConfig,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';
import { expectExactlyOnce, metricValue, postAround } from '../helpers/stream-faults';
import { FaultyViJsonProxy, type ViJsonFault } from '../peers/faulty-vijson-proxy';

const vm = 'vm:DC0_H0_VM0';

function streamEntry(url: string, sim: Simulator, callTimeout = '3', password = sim.password) {
  return {
    type: 'stream',
    provider: 'vmware_vcenter',
    address: url,
    auth: { method: 'user_password', secret: { username: sim.username, password } },
    options: { call_timeout: callTimeout, max_backoff: '1', protocol: 'vi_json' },
  };
}

describe('session expiry over VI/JSON', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  let router: RouterProcess;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator({ sessionIdleTimeout: '1s' });
    await about(sim);
    peer = await startViJson({ target: sim });
    // call_timeout 10 s: WaitForUpdatesEx waits 5 s, longer than the idle timeout.
    router = await startRouterProcess([streamEntry(peer.url, sim, '10'), stdoutEntry, metricsEntry()]);
    await routerReady(router);
  });

  afterAll(async () => {
    await router?.stop();
    await peer?.stop();
    await sim?.stop();
  });

  test('NotAuthenticated: logged in again transparently, no event lost or duplicated', async () => {
    await waitFor(
      'the session to expire and be renewed',
      () => /vCenter session expired, logging in again/.test(router.stderr()),
      30_000,
    );
    const keys = await postAround(sim, router, () => new Promise((r) => setTimeout(r, 3000)));
    expectExactlyOnce(router, keys);
    expect(router.proc.exitCode).toBeNull();
    expect(
      await metricValue(
        router,
        /stream_reconnects_total\{provider="vmware_vcenter",stream="vmware_vcenter",reason="session_expired"\} (\d+)/,
      ),
    ).toBeGreaterThanOrEqual(1);
    const stats = await peer.stats();
    expect(stats.by_method.Login).toBeGreaterThanOrEqual(2);
    expect(stats.soap_calls).toBe(0);
  });
});

describe('through a fault-injecting proxy', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  let proxy: FaultyViJsonProxy;
  let router: RouterProcess;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    await about(sim);
    peer = await startViJson({ target: sim });
    proxy = new FaultyViJsonProxy(new URL(peer.url));
    await proxy.start();
    router = await startRouterProcess([streamEntry(proxy.url, sim), stdoutEntry, metricsEntry()]);
    await routerReady(router);
  });

  afterAll(async () => {
    await router?.stop();
    await proxy?.stop();
    await peer?.stop();
    await sim?.stop();
  });

  const faults: Array<[string, ViJsonFault, RegExp]> = [
    [
      'a reply that is not JSON',
      { kind: 'garbage', body: '<html><body>Service Unavailable</body></html>' },
      /WaitForUpdatesEx: reply is not JSON \(HTTP 200\): <html><body>Service Unavailable<\/body><\/html>/,
    ],
    [
      'a truncated JSON reply',
      { kind: 'garbage', body: '{"_typeName":"UpdateSet","version":"-","filterSet":[{"_type' },
      /WaitForUpdatesEx: reply is not JSON \(HTTP 200\): \{\\"_typeName\\":\\"UpdateSet\\"/,
    ],
    [
      'a VI/JSON fault',
      { kind: 'fault', typeName: 'SystemError', faultstring: 'vpxd is restarting' },
      /WaitForUpdatesEx: vCenter fault SystemError: vpxd is restarting/,
    ],
    [
      'HTTP 503 with a web page',
      { kind: 'garbage', status: 503, contentType: 'text/html', body: '<html>busy</html>' },
      /WaitForUpdatesEx: HTTP 503/,
    ],
    [
      'a stalled reply (the call times out)',
      { kind: 'stall' },
      /WaitForUpdatesEx: no reply within the call timeout/,
    ],
  ];

  test.each(faults)(
    '%s: one clear error, retried, no event lost or duplicated',
    async (_name, fault, message) => {
      const errorsBefore = await metricValue(
        router,
        /stream_call_errors_total\{provider="vmware_vcenter",stream="vmware_vcenter",method="WaitForUpdatesEx"\} (\d+)/,
      );
      const logBefore = router.stderr().length;
      const keys = await postAround(sim, router, async () => {
        proxy.inject('WaitForUpdatesEx', fault, 1);
        await waitFor(
          'the fault to be injected',
          () => proxy.injected.length > 0 && proxy.pending() === 0,
          30_000,
        );
      });
      expectExactlyOnce(router, keys);
      expect(router.proc.exitCode).toBeNull();
      expect(
        await metricValue(
          router,
          /stream_call_errors_total\{provider="vmware_vcenter",stream="vmware_vcenter",method="WaitForUpdatesEx"\} (\d+)/,
        ),
      ).toBe(errorsBefore + 1);
      const log = router.stderr().slice(logBefore);
      const interrupted = log
        .split('\n')
        .filter((l) => l.includes('vCenter stream interrupted, reconnecting'));
      expect(interrupted).toHaveLength(1);
      expect(interrupted[0]).toMatch(message);
    },
  );
});

/** The peer binary on a fixed port (startViJson picks a free one), to stop and start it again there. */
function spawnPeer(target: string, listen: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(VIJSON, ['-target', target, '-listen', listen, '-exit-on-stdin-eof'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr!.resume();
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, url: (JSON.parse(out.slice(0, nl)) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`vijson exited with ${code}`)));
  });
}

async function stopPeer(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  child.stdin?.destroy();
}

describe('a VI/JSON peer stopped and started again', () => {
  test('/readyz is false in between, the router logs in again without exiting, no event lost', async () => {
    buildHarness();
    const sim = await startSimulator();
    let peer = await spawnPeer(sim.url, '127.0.0.1:0');
    const listen = new URL(peer.url).host;
    let router: RouterProcess | undefined;
    try {
      await about(sim);
      router = await startRouterProcess([streamEntry(peer.url, sim), stdoutEntry, metricsEntry()]);
      const r = router;
      await routerReady(r);
      const keys = await postAround(sim, r, async () => {
        await stopPeer(peer.child);
        await waitFor(
          'readyz 503',
          async () => (await fetch(`${r.metricsUrl}/readyz`)).status === 503,
          30_000,
        );
        peer = await spawnPeer(sim.url, listen);
        await routerReady(r, 60_000);
      });
      expectExactlyOnce(r, keys);
      expect(r.proc.exitCode).toBeNull();
      expect(r.stderr()).toMatch(/vCenter stream interrupted, reconnecting/);
    } finally {
      await router?.stop();
      await stopPeer(peer.child);
      await sim.stop();
    }
  });
});

describe('a wrong password', () => {
  let sim: Simulator;
  let peer: ViJsonPeer;
  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    peer = await startViJson({ target: sim });
  });
  afterAll(async () => {
    await peer?.stop();
    await sim?.stop();
  });

  test('is the same one start error as over SOAP, and exit 1', async () => {
    const run = async (address: string, protocol: string) => {
      const entry = { ...streamEntry(address, sim, '3', 'wrong') };
      entry.options = { ...entry.options, protocol };
      const { code, stdout, stderr } = await runCli([
        '-config',
        writeConfig([entry, stdoutEntry, metricsEntry()]),
      ]);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).not.toContain('wrong');
      return stderr.trimEnd().split('\n').pop()!.replace(/^\S+ /, '').replace(address, 'ADDRESS');
    };
    const overJson = await run(peer.url, 'vi_json');
    expect(overJson).toBe(
      'ERROR vmware-event-router could not start: vCenter ADDRESS rejected the login of user "user" (InvalidLogin): check auth.secret.username and auth.secret.password',
    );
    expect(await run(sim.url, 'soap')).toBe(overJson);
    expect((await peer.stats()).by_method.Login).toBe(1);
  });

  test('vi_json against a SOAP-only server: exit 1 at once, naming what answered', async () => {
    const entry = { ...streamEntry(sim.url, sim) };
    const { code, stderr } = await runCli(['-config', writeConfig([entry, stdoutEntry, metricsEntry()])]);
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n').pop()).toMatch(
      /could not start: http:\/\/127\.0\.0\.1:\d+\/sdk is not a vCenter VI\/JSON \(release 8\.0\.1\.0\) endpoint: RetrieveServiceContent was answered with HTTP \d{3}.*protocol auto falls back to SOAP\)$/,
    );
  });
});

describe('shutdown over VI/JSON', () => {
  test('SIGTERM while waiting: exit 0, collectors destroyed and logged out over VI/JSON', async () => {
    const stack = await startStack({ protocol: 'vi_json', stream: (sim) => streamEntry(sim.url, sim, '10') });
    try {
      await postEvents(stack.sim, [{ class: 'VmPoweredOnEvent', entities: vm }]);
      await waitFor('the event', () => stack.router.events().some((e) => e.subject === 'VmPoweredOnEvent'));
      // A WaitForUpdatesEx is pending now: stopping aborts it, then cleans up over VI/JSON.
      expect(await stack.router.stop('SIGTERM')).toBe(0);
      expect(stack.router.stderr()).toMatch(/collector destroyed and logged out of vCenter/);
      const stats = await stack.peer!.stats();
      expect(stats.by_method.DestroyCollector).toBe(2);
      expect(stats.by_method.Logout).toBe(1);
      expect(stats.soap_calls).toBe(0);
    } finally {
      await stack.stop();
    }
  });
});
