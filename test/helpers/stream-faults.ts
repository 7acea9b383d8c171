/**
 * Assertions shared by the vCenter stream's fault tests (SOAP and VI/JSON):
 * the same guarantee, every posted event delivered exactly once, whatever the
 * transport went through.
 */
import { postEvents, referenceEvents, type Simulator } from '../harness/simulator';
import { waitFor, type RouterProcess } from './e2e';

export const keyOf = (e: Record<string, unknown>): number => (e.data as { Key: number }).Key;

/** The value of the first series `re` matches on the router's /metrics (its group 1), 0 when absent. */
export async function metricValue(router: RouterProcess, re: RegExp): Promise<number> {
  const text = await (await fetch(`${router.metricsUrl}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Keys delivered are exactly the keys posted: no loss, no duplicate, ascending. */
export function expectExactlyOnce(router: RouterProcess, postedKeys: number[]): void {
  const keys = router.events().map(keyOf);
  expect(new Set(keys).size).toBe(keys.length);
  for (const k of postedKeys) expect(keys).toContain(k);
  for (let i = 1; i < keys.length; i++) expect(keys[i]).toBeGreaterThan(keys[i - 1]);
}

/** Post two events around whatever happens in `during`, return their keys once both are delivered. */
export async function postAround(
  sim: Simulator,
  router: RouterProcess,
  during: () => Promise<void>,
  vm = 'vm:DC0_H0_VM0',
): Promise<number[]> {
  await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: vm }]);
  await during();
  await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: vm }]);
  const ref = [...(await referenceEvents(sim)).values()].filter((r) => r.class.startsWith('VmPowered'));
  const keys = ref.slice(-2).map((r) => (r.json as { Key: number }).Key);
  await waitFor('both events', () => keys.every((k) => router.events().some((e) => keyOf(e) === k)), 60_000);
  return keys;
}
