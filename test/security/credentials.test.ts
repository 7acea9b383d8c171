/**
 * Credentials never reach a host the operator did not configure, and no part
 * of a password written into an address leaves the router.
 */
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  startStack,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  type Stack,
} from '../helpers/e2e';
import { attackerHost, type AttackerHost } from '../peers/attacker-host';
import { FaultyVCenterProxy } from '../peers/faulty-vcenter-proxy';

describe('a vCenter whose Login answers with a redirect', () => {
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

  test.each([307, 308, 302, 301])(
    'HTTP %i: the Login envelope is not re-sent to the Location',
    async (status) => {
      const proxy = new FaultyVCenterProxy(new URL(sim.url));
      await proxy.start();
      const location = `${attacker.url}/sdk`;
      proxy.inject('Login', { kind: 'redirect', status, location }, 1000);
      let router: RouterProcess | undefined;
      try {
        router = await startRouterProcess([
          { ...vcenterEntry(sim), address: proxy.url, options: { call_timeout: '3', max_backoff: '1' } },
          stdoutEntry,
          metricsEntry(),
        ]);
        // Two Login attempts, each of which must stop at the redirecting host.
        await waitFor('two refused Logins', () => proxy.methods.filter((m) => m === 'Login').length >= 2);
        await waitFor('the refused redirect in the log', () => router!.stderr().includes('refused'));
        expect(attacker.requests).toEqual([]);
        const log = router.stderr();
        expect(log).toContain(`Login: HTTP ${status} redirect to ${location} refused`);
        expect(log).not.toContain(sim.password);
      } finally {
        await router?.stop();
        await proxy.stop();
      }
    },
  );
});

describe('a password written into the vCenter address', () => {
  let stack: Stack;

  afterAll(async () => {
    await stack?.stop();
  });

  test('no part of the userinfo appears in CloudEvents, /stats, /metrics or logs', async () => {
    stack = await startStack({
      stream: (sim) => ({
        ...vcenterEntry(sim),
        address: sim.url.replace('http://', 'http://someone:p@ss@'),
      }),
    });
    await postEvents(stack.sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
    await waitFor('the event', () => stack.router.events().length > 0);
    expect(stack.router.events()[0].source).toBe(stack.sim.url);
    const stats = await (await fetch(`${stack.router.metricsUrl}/stats`)).text();
    const metrics = await (await fetch(`${stack.router.metricsUrl}/metrics`)).text();
    for (const text of [JSON.stringify(stack.router.events()), stats, metrics, stack.router.stderr()]) {
      expect(text).not.toContain('p@ss');
      expect(text).not.toContain('ss@');
      expect(text).not.toContain('someone');
    }
  });
});
