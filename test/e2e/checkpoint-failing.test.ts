/**
 * A checkpoint that cannot be written (here: a directory put in its place)
 * is logged once when the writes start failing and once when they succeed
 * again; the failures in between are counted (/readyz), not logged every
 * second.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';

jest.setTimeout(180_000);

let sim: Simulator;
let router: RouterProcess | undefined;
beforeAll(async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
});
afterAll(async () => {
  await router?.stop();
  await sim?.stop();
});

async function failedWrites(r: RouterProcess): Promise<number> {
  const body = (await (await fetch(`${r.metricsUrl}/readyz`)).json()) as {
    details: { streams: Record<string, { checkpoint_failed_writes?: number }> };
  };
  return Object.values(body.details.streams)[0]?.checkpoint_failed_writes ?? 0;
}

test('a failing checkpoint write is logged once, and its recovery once', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-fail-'));
  const e = vcenterEntry(sim);
  router = await startRouterProcess([
    { ...e, options: { ...e.options, checkpoint: 'true', checkpoint_dir: dir } },
    stdoutEntry,
    metricsEntry(),
  ]);
  const r = router;
  await routerReady(r);
  const file = path.join(dir, 'vmware_vcenter.checkpoint.json');
  await postEvents(sim, [{ class: 'VmPoweredOnEvent' }]);
  await waitFor('the first checkpoint', () => {
    try {
      return readFileSync(file, 'utf8').length > 0;
    } catch {
      return false;
    }
  });
  rmSync(file);
  mkdirSync(file);
  writeFileSync(path.join(file, 'keep'), '');
  for (let i = 0; i < 4; i++) {
    const before = await failedWrites(r);
    await postEvents(sim, [{ class: 'VmPoweredOnEvent' }]);
    await waitFor('another failed write', async () => (await failedWrites(r)) > before);
  }
  const errors = r.stderr().match(/ERROR could not write the checkpoint/g) ?? [];
  expect(errors).toHaveLength(1);
  // Every failed write is counted for the alert, the ones not logged too (read after /readyz's
  // count: writes go on failing every interval meanwhile, and a counter only grows).
  const shown = await failedWrites(r);
  const metrics = await (await fetch(`${r.metricsUrl}/metrics`)).text();
  const counted = Number(
    /^vmware_event_router_stream_checkpoint_write_errors_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1],
  );
  expect(shown).toBeGreaterThanOrEqual(4);
  expect(counted).toBeGreaterThanOrEqual(shown);

  rmSync(file, { recursive: true });
  await postEvents(sim, [{ class: 'VmPoweredOnEvent' }]);
  await waitFor('written again', () => /INFO {2}checkpoint written again/.test(r.stderr()));
  expect(r.stderr()).toMatch(/checkpoint written again .*failed_writes=\d+/);
  expect(await failedWrites(r)).toBe(0);
});
