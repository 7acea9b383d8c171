/**
 * A vCenter that drops the update of a waiting WaitForUpdatesEx: govmomi's
 * simulator wakes only the newest of two sessions' collectors. The first
 * router must still deliver every event (from the page read after a wait
 * that brought nothing), count it, and say so once.
 */
import { about, buildHarness, burst, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
} from '../helpers/e2e';

let sim: Simulator;
const routers: RouterProcess[] = [];

afterAll(async () => {
  for (const r of routers) await r.stop();
  await sim?.stop();
});

test('two routers on one simulator: the one whose updates are dropped still delivers every event', async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
  // call_timeout 4 s: WaitForUpdatesEx waits 2 s.
  const entry = () => ({ ...vcenterEntry(sim), options: { call_timeout: '4', max_backoff: '1' } });
  for (let i = 0; i < 2; i++) {
    const r = await startRouterProcess([entry(), stdoutEntry, metricsEntry()]);
    routers.push(r);
    await waitFor('ready', async () => (await fetch(`${r.metricsUrl}/readyz`)).ok);
  }
  await burst(sim, 'VmPoweredOnEvent', 10, 1);
  const powered = (r: RouterProcess) => r.events().filter((e) => e.subject === 'VmPoweredOnEvent');
  for (const r of routers) await waitFor('all 10 events', () => powered(r).length === 10, 60_000);
  const [first, second] = routers;
  expect(powered(first).map((e) => e.id)).toEqual(powered(second).map((e) => e.id));
  expect(first.stderr()).toMatch(/the vCenter sent no update for events its page holds/);
  const metrics = await (await fetch(`${first.metricsUrl}/metrics`)).text();
  expect(metrics).toMatch(/stream_missed_updates_total\{[^}]*\} ([1-9]\d*)/);
});
