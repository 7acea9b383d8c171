/**
 * A VI/JSON encoder may box a method's primitive result as it boxes an
 * anyType value: `CurrentTime` answered `{"_typeName": "dateTime", "_value":
 * "..."}` instead of the bare string. The stream takes both: it connects,
 * is ready, and delivers.
 */
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import { startViJson, type ViJsonPeer } from '../harness/vijson';
import {
  metricsEntry,
  routerReady,
  startRouterProcess,
  stdoutEntry,
  waitFor,
  type RouterProcess,
} from '../helpers/e2e';
import { FaultyViJsonProxy } from '../peers/faulty-vijson-proxy';

let sim: Simulator;
let peer: ViJsonPeer;
let proxy: FaultyViJsonProxy;
let router: RouterProcess | undefined;

afterAll(async () => {
  await router?.stop();
  await proxy?.stop();
  await peer?.stop();
  await sim?.stop();
});

test('CurrentTime boxed as {"_typeName": "dateTime", "_value": ...}: the stream connects and delivers', async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
  peer = await startViJson({ target: sim });
  proxy = new FaultyViJsonProxy(new URL(peer.url));
  await proxy.start();
  // Every CurrentTime, so that a retry cannot hide a refusal.
  const body = JSON.stringify({ _typeName: 'dateTime', _value: new Date().toISOString() });
  proxy.inject('CurrentTime', { kind: 'garbage', status: 200, body }, 1000);
  router = await startRouterProcess([
    {
      type: 'stream',
      provider: 'vmware_vcenter',
      address: proxy.url,
      auth: { method: 'user_password', secret: { username: sim.username, password: sim.password } },
      options: { call_timeout: '4', max_backoff: '1', protocol: 'vi_json' },
    },
    stdoutEntry,
    metricsEntry(),
  ]);
  await routerReady(router);
  const r = router;
  await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
  await waitFor('the event', () => r.events().some((e) => e.subject === 'VmPoweredOnEvent'), 30_000);
  expect(proxy.injected.filter((i) => i.method === 'CurrentTime')).toHaveLength(1);
  expect(r.stderr()).not.toMatch(/CurrentTime returned nothing/);
});
