/**
 * With the stream's `checkpoint` option, delivery is at-least-once across
 * restarts: the router resumes after the newest event every processor
 * acknowledged. Each test runs the compiled router twice against the govmomi
 * simulator with the same checkpoint directory.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigEntry } from '../../src/config/types';
import { about, buildHarness, postEvents, startSimulator, type Simulator } from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
} from '../helpers/e2e';
import type { EventBridgeEndpoint } from '../peers/eventbridge-endpoint';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { entryFor, startEndpoint } from '../processor/aws_event_bridge/helpers';

const VM = 'vm:DC0_H0_VM0';
const keyOf = (e: Record<string, unknown>): number => (e.data as { Key: number }).Key;
const idOf = (body: unknown): string => (body as { id: string }).id;
const keyOfBody = (body: unknown): number => (body as { data: { Key: number } }).data.Key;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sim: Simulator;
let router: RouterProcess | undefined;
let gw: OpenFaasGateway | undefined;
let ep: EventBridgeEndpoint | undefined;

beforeEach(async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim);
});

afterEach(async () => {
  await router?.stop('SIGKILL');
  router = undefined;
  await gw?.close();
  gw = undefined;
  await ep?.close();
  ep = undefined;
  await sim?.stop();
});

function stream(dir: string, options: Record<string, string> = {}): ConfigEntry {
  const e = vcenterEntry(sim);
  return { ...e, options: { ...e.options, checkpoint: 'true', checkpoint_dir: dir, ...options } };
}

async function ready(r: RouterProcess): Promise<void> {
  await waitFor('router ready', async () => (await fetch(`${r.metricsUrl}/readyz`)).ok);
}

/** Posts `n` events of `cls`, `perSecond` a second, in batches of 10; returns when all are posted. */
async function postAtRate(cls: string, n: number, perSecond: number): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    const t = Date.now();
    await postEvents(
      sim,
      Array.from({ length: Math.min(10, n - i) }, () => ({ class: cls, entities: VM })),
    );
    await sleep(Math.max(0, (10 * 1000) / perSecond - (Date.now() - t)));
  }
}

test('SIGKILL in the middle of 600 events at 200/s: after a restart every event reached the gateway, duplicates bounded, same ids', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-'));
  gw = await OpenFaasGateway.start();
  gw.deploy({ name: 'fn', annotations: { topic: 'VmPoweredOnEvent' } });
  const faas = {
    type: 'processor',
    provider: 'openfaas',
    address: gw.url,
    auth: { method: 'basic_auth', secret: { ...gw.credentials } },
    options: { topic_refresh_interval: '1' },
  };
  const config = () => [stream(dir), faas, metricsEntry()];
  router = await startRouterProcess(config());
  await ready(router);

  const posting = postAtRate('VmPoweredOnEvent', 600, 200);
  await waitFor('some events delivered', () => gw!.delivered('fn').length >= 200);
  await router.stop('SIGKILL');
  const beforeKill = gw.delivered('fn').length;
  router = await startRouterProcess(config());
  await posting;
  await waitFor(
    '600 distinct events at the gateway',
    () => new Set(gw!.delivered('fn').map((i) => idOf(i.body))).size >= 600,
    120_000,
  );

  const delivered = gw.delivered('fn');
  const byKey = new Map<number, Set<string>>();
  for (const inv of delivered) {
    const k = keyOfBody(inv.body);
    byKey.set(k, (byKey.get(k) ?? new Set()).add(idOf(inv.body)));
  }
  expect(byKey.size).toBe(600);
  // A re-sent event keeps its id.
  for (const ids of byKey.values()) expect(ids.size).toBe(1);
  const duplicates = delivered.length - 600;
  console.log(
    `SIGKILL after ${beforeKill} deliveries: ${delivered.length} deliveries for 600 events, ${duplicates} duplicates`,
  );
  // Resent: at most what was in flight or acknowledged after the last checkpoint write (1 s at 200/s, plus the window).
  expect(duplicates).toBeLessThan(beforeKill);
  expect(router.stderr()).toMatch(/resuming after the checkpoint/);
});

test('SIGKILL in the middle of 600 events at 200/s, EventBridge: after a restart every event was put, same ids', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-'));
  ep = await startEndpoint();
  const config = () => [stream(dir), entryFor(ep!), metricsEntry()];
  router = await startRouterProcess(config());
  await ready(router);
  const distinct = () =>
    new Map(ep!.entries.map((e) => [keyOfBody(JSON.parse(e.Detail)), idOf(JSON.parse(e.Detail))]));

  const posting = postAtRate('VmPoweredOnEvent', 600, 200);
  await waitFor('some events put', () => ep!.entries.length >= 200);
  await router.stop('SIGKILL');
  const beforeKill = ep.entries.length;
  router = await startRouterProcess(config());
  await posting;
  await waitFor('600 distinct events put', () => distinct().size >= 600, 120_000);
  const ids = new Map<number, Set<string>>();
  for (const e of ep.entries) {
    const d = JSON.parse(e.Detail) as unknown;
    ids.set(keyOfBody(d), (ids.get(keyOfBody(d)) ?? new Set()).add(idOf(d)));
  }
  expect(ids.size).toBe(600);
  for (const s of ids.values()) expect(s.size).toBe(1);
  const duplicates = ep.entries.length - 600;
  console.log(
    `EventBridge, SIGKILL after ${beforeKill} entries: ${ep.entries.length} entries for 600 events, ${duplicates} duplicates`,
  );
  expect(duplicates).toBeLessThan(beforeKill);
});

test('clean stop, 300 events while down, start: all 300 delivered once; a replay window shorter than the downtime delivers only the window', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-'));
  router = await startRouterProcess([stream(dir), stdoutEntry, metricsEntry()]);
  await ready(router);
  await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: VM }]);
  await waitFor('the first event', () => router!.events().some((e) => e.subject === 'VmPoweredOffEvent'));
  const first = router.events().map(keyOf);
  expect(await router.stop('SIGTERM')).toBe(0);
  expect(readdirSync(dir).filter((f) => f.endsWith('.checkpoint.json'))).toHaveLength(1);

  await postEvents(
    sim,
    Array.from({ length: 300 }, () => ({ class: 'VmPoweredOnEvent', entities: VM })),
  );
  router = await startRouterProcess([stream(dir), stdoutEntry, metricsEntry()]);
  await waitFor(
    '300 events',
    () => router!.events().filter((e) => e.subject === 'VmPoweredOnEvent').length >= 300,
  );
  await sleep(1000);
  const second = router.events().map(keyOf);
  expect(router.events().filter((e) => e.subject === 'VmPoweredOnEvent')).toHaveLength(300);
  expect(new Set(second).size).toBe(second.length);
  for (const k of first) expect(second).not.toContain(k);
  expect(await router.stop('SIGTERM')).toBe(0);

  // Down longer than a 10 s replay window: the 50 events posted before the window are not replayed;
  // the 5 posted just before the start are (the window leaves the router 10 s to connect).
  await postEvents(
    sim,
    Array.from({ length: 50 }, () => ({ class: 'VmPoweredOnEvent', entities: VM })),
  );
  await sleep(12_000);
  await postEvents(
    sim,
    Array.from({ length: 5 }, () => ({ class: 'VmPoweredOffEvent', entities: VM })),
  );
  router = await startRouterProcess([stream(dir, { replay_window: '10' }), stdoutEntry, metricsEntry()]);
  await waitFor(
    'the window events',
    () => router!.events().filter((e) => e.subject === 'VmPoweredOffEvent').length >= 5,
  );
  await sleep(1000);
  expect(router.events().filter((e) => e.subject === 'VmPoweredOnEvent')).toHaveLength(0);
  expect(router.stderr()).toMatch(/checkpoint older than the replay window/);
  const metrics = await (await fetch(`${router.metricsUrl}/metrics`)).text();
  expect(metrics).toMatch(/stream_checkpoint_window_exceeded_total\{[^}]*\} 1/);
});

test('a vCenter restarted while the router was down: its new events are followed from the start, nothing re-delivered', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-'));
  router = await startRouterProcess([stream(dir), stdoutEntry, metricsEntry()]);
  await ready(router);
  await postEvents(
    sim,
    Array.from({ length: 20 }, () => ({ class: 'VmPoweredOnEvent', entities: VM })),
  );
  await waitFor(
    '20 events',
    () => router!.events().filter((e) => e.subject === 'VmPoweredOnEvent').length === 20,
  );
  const firstRun = router.events();
  expect(await router.stop('SIGTERM')).toBe(0);

  await sim.restart(); // a new key space: its keys start again from 1
  await about(sim);
  await postEvents(
    sim,
    Array.from({ length: 5 }, () => ({ class: 'VmPoweredOffEvent', entities: VM })),
  );
  router = await startRouterProcess([stream(dir), stdoutEntry, metricsEntry()]);
  await waitFor(
    'the 5 new events',
    () => router!.events().filter((e) => e.subject === 'VmPoweredOffEvent').length >= 5,
  );
  await sleep(1000);
  const secondRun = router.events();
  // The new vCenter's whole history is delivered (its own start-up events included), each once...
  expect(secondRun.filter((e) => e.subject === 'VmPoweredOffEvent')).toHaveLength(5);
  expect(new Set(secondRun.map((e) => e.id)).size).toBe(secondRun.length);
  // ...its smaller keys are not mistaken for delivered ones, and nothing of the first run comes back.
  expect(Math.min(...secondRun.map(keyOf))).toBeLessThan(Math.max(...firstRun.map(keyOf)));
  const lastTime = firstRun[firstRun.length - 1].time as string;
  for (const e of secondRun) expect((e.time as string) > lastTime).toBe(true);
});

test('a peer that rejects one event for good: it lands in the dead-letter file, the checkpoint moves past it, a restart does not resend it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-'));
  const deadLetters = path.join(dir, 'dead-letters.jsonl');
  gw = await OpenFaasGateway.start();
  gw.deploy({ name: 'ok', annotations: { topic: 'VmPoweredOnEvent' } });
  gw.deploy({ name: 'reject', annotations: { topic: 'VmPoweredOffEvent' }, status: 400 });
  const faas = {
    type: 'processor',
    provider: 'openfaas',
    address: gw.url,
    auth: { method: 'basic_auth', secret: { ...gw.credentials } },
    options: { topic_refresh_interval: '1', dead_letter_file: deadLetters },
  };
  router = await startRouterProcess([stream(dir), faas, metricsEntry()]);
  await ready(router);
  await postEvents(sim, [
    { class: 'VmPoweredOnEvent', entities: VM },
    { class: 'VmPoweredOffEvent', entities: VM },
    { class: 'VmPoweredOnEvent', entities: VM },
  ]);
  await waitFor('both accepted events', () => gw!.delivered('ok').length === 2);
  await waitFor('the dead letter', () => {
    try {
      // A file created but not yet written reads as empty: wait for the line itself.
      const lines = readFileSync(deadLetters, 'utf8').trim();
      return lines !== '' && lines.split('\n').length === 1;
    } catch {
      return false;
    }
  });
  const line = JSON.parse(readFileSync(deadLetters, 'utf8')) as {
    reason: string;
    event: { subject: string };
  };
  expect(line.reason).toBe('HTTP_400');
  expect(line.event.subject).toBe('VmPoweredOffEvent');
  expect(await router.stop('SIGTERM')).toBe(0);

  router = await startRouterProcess([stream(dir), faas, metricsEntry()]);
  await ready(router);
  await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: VM }]);
  await waitFor('the new event', () => gw!.delivered('ok').length === 3);
  await sleep(1000);
  expect(gw.invocationsOf('reject')).toHaveLength(1);
  expect(gw.delivered('ok')).toHaveLength(3);
});

test.each([
  ['corrupt', () => 'not json {', /checkpoint ignored: not valid JSON \(corrupt\); starting at "now"/],
  [
    'from another vCenter',
    () =>
      JSON.stringify({
        version: 1,
        source: 'https://vc99.example.com/sdk',
        name: 'vmware_vcenter',
        instanceUuid: 'x',
        key: 5,
        time: new Date().toISOString(),
        written: new Date().toISOString(),
      }),
    /checkpoint ignored: it belongs to another vCenter; starting at "now"/,
  ],
])(
  'a checkpoint file that is %s: one clear line, a start at "now", exit 0 on SIGTERM',
  async (_what, content, line) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-cp-'));
    writeFileSync(path.join(dir, 'vmware_vcenter.checkpoint.json'), content());
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: VM }]);
    router = await startRouterProcess([stream(dir), stdoutEntry, metricsEntry()]);
    await ready(router);
    expect(router.stderr()).toMatch(line);
    await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: VM }]);
    await waitFor('the live event', () => router!.events().some((e) => e.subject === 'VmPoweredOffEvent'));
    expect(router.events().filter((e) => e.subject === 'VmPoweredOnEvent')).toHaveLength(0);
    expect(await router.stop('SIGTERM')).toBe(0);
  },
);
