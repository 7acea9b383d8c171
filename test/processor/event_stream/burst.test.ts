/**
 * event_stream under a 5,000-event burst from the simulator:
 * - a client that disconnects mid-burst and resumes with offset=<last key + 1>
 *   receives every event exactly once across both connections;
 * - 100 concurrent watchers each receive all events in order while an
 *   OpenFaaS processor beside them receives all of them too, and a stalled
 *   watcher (never reads) is ended when it falls out of the history, counted,
 *   and does not hold up the others. The router's RSS is printed.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { waitFor } from '../../helpers/e2e';
import { burst, postEvents, startSimulator, type Simulator } from '../../harness/simulator';
import { OpenFaasGateway } from '../../peers/openfaas-gateway';
import {
  eventStreamEntry,
  increasing,
  isMarker,
  openWatch,
  postMarker,
  startEventStreamRouter,
  type CloudEventJson,
  type EventStreamRouter,
  type Watch,
} from './helpers';

jest.setTimeout(300_000);

const CLS = 'VmPoweredOnEvent';
const COUNT = 5000;
const LONG = 180_000;

const burstKeys = (events: CloudEventJson[]): number[] =>
  events.filter((e) => e.subject === CLS).map((e) => e.data.Key);

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function rss(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMiB: Math.round(kb('VmRSS') / 1024), peakMiB: Math.round(kb('VmHWM') / 1024) };
}

describe('a client that disconnects during a burst and resumes from its last key + 1', () => {
  let sim: Simulator;
  let es: EventStreamRouter;

  beforeAll(async () => {
    sim = await startSimulator();
    es = await startEventStreamRouter(sim);
  });

  afterAll(async () => {
    await es?.router.stop();
    await sim?.stop();
  });

  it('receives every event of the burst exactly once across both connections', async () => {
    const first = await openWatch(es.api, undefined, {
      onEvent: (e, w) => {
        if (burstKeys(w.events).length === 1000) w.close();
      },
    });
    const posted = burst(sim, CLS, COUNT);
    await first.ended;
    const last = first.events[first.events.length - 1].data.Key;
    const second = await openWatch(es.api, last + 1);
    expect(second.status).toBe(200);
    expect((await posted).posted).toBe(COUNT);
    await postMarker(sim, 'resume');
    await waitFor(
      'the marker on the second connection',
      () => second.events.some((e) => isMarker(e, 'resume')),
      LONG,
    );
    second.close();

    const one = burstKeys(first.events);
    const two = burstKeys(second.events);
    expect(one.length).toBeGreaterThanOrEqual(1000);
    expect(one.length).toBeLessThan(COUNT);
    const all = [...one, ...two];
    expect(all).toHaveLength(COUNT);
    expect(new Set(all).size).toBe(COUNT);
    expect(increasing(all)).toBe(true);
    expect(two[0]).toBeGreaterThan(last);
    // Nothing at all was lost between the connections: the second starts right after the first.
    expect(second.events[0].data.Key).toBe(last + 1);
    console.log(
      `resume: first connection ${one.length} burst events (last key ${last}), second ${two.length}; held ${String((await es.details()).held)}`,
    );
  });
});

describe('100 watchers and an OpenFaaS processor during a burst', () => {
  let sim: Simulator;
  let gw: OpenFaasGateway;
  let es: EventStreamRouter;

  beforeAll(async () => {
    sim = await startSimulator();
    gw = await OpenFaasGateway.start({ password: 'gw-es-secret' });
    gw.deploy({ name: 'power-on', annotations: { topic: CLS } });
    es = await startEventStreamRouter(sim, eventStreamEntry(), [
      {
        type: 'processor',
        provider: 'openfaas',
        address: gw.url,
        auth: { method: 'basic_auth', secret: { username: 'admin', password: 'gw-es-secret' } },
        options: { topic_refresh_interval: '1' },
      },
    ]);
  });

  afterAll(async () => {
    await es?.router.stop();
    await gw?.close();
    await sim?.stop();
  });

  it('every watcher gets every event in order and OpenFaaS gets them all', async () => {
    const watchers: Watch[] = [];
    for (let i = 0; i < 100; i++) watchers.push(await openWatch(es.api));
    await waitFor('100 watchers', async () => (await es.details()).watchers === 100);

    const started = Date.now();
    const posted = await burst(sim, CLS, COUNT);
    expect(posted.posted).toBe(COUNT);
    await waitFor(
      'OpenFaaS to get every event',
      () => gw.invocations.filter((i) => i.name === 'power-on').length >= COUNT,
      LONG,
    );
    const openfaasSeconds = (Date.now() - started) / 1000;
    await postMarker(sim, 'burst');
    const seen = new Set<Watch>();
    let nextReport = Date.now() + 5000;
    await waitFor(
      'every watcher to see the marker',
      async () => {
        for (const w of watchers) if (!seen.has(w) && w.events.some((e) => isMarker(e, 'burst'))) seen.add(w);
        const ended = watchers.filter((w) => w.isEnded());
        if (ended.length > 0)
          throw new Error(
            `${ended.length} watchers ended: ${JSON.stringify(ended.slice(0, 3).map((w) => ({ events: w.events.length, errors: w.errors })))}; ${JSON.stringify(await es.details())}`,
          );
        if (Date.now() > nextReport) {
          nextReport = Date.now() + 5000;
          const counts = watchers.map((w) => w.events.length);
          console.log(
            `watchers: min ${Math.min(...counts)} max ${Math.max(...counts)} seen ${seen.size}; ${JSON.stringify(await es.details())}`,
          );
        }
        return seen.size === watchers.length;
      },
      LONG,
    );
    const peak = rss(es.router.proc.pid!);

    for (const w of watchers) {
      const keys = burstKeys(w.events);
      expect(keys).toHaveLength(COUNT);
      expect(increasing(keys)).toBe(true);
      expect(w.errors).toEqual([]);
      expect(w.isEnded()).toBe(false);
    }
    const fn = gw.invocations.filter((i) => i.name === 'power-on');
    expect(fn).toHaveLength(COUNT);
    expect(new Set(fn.map((i) => (i.body as CloudEventJson).data.Key)).size).toBe(COUNT);

    const d = await es.details();
    expect(d).toMatchObject({ watchers: 100, watchers_fell_behind: 0, held: 2000, max_events: 2000 });

    for (const w of watchers) w.close();
    await waitFor('the watchers to be gone', async () => (await es.details()).watchers === 0);
    console.log(
      `100 watchers + OpenFaaS, ${COUNT}-event burst: burst posted in ${posted.seconds.toFixed(1)} s, OpenFaaS had all ${COUNT} after ${openfaasSeconds.toFixed(1)} s; router RSS ${peak.rssMiB} MiB, peak ${peak.peakMiB} MiB`,
    );
  });
});

describe('a stalled watcher (never reads) during a burst', () => {
  let sim: Simulator;
  let es: EventStreamRouter;

  beforeAll(async () => {
    sim = await startSimulator();
    es = await startEventStreamRouter(sim, eventStreamEntry({ max_events: '500' }));
  });

  afterAll(async () => {
    await es?.router.stop();
    await sim?.stop();
  });

  it('is ended when it falls out of the history, counted, and does not hold up the readers', async () => {
    const readers: Watch[] = [];
    for (let i = 0; i < 5; i++) readers.push(await openWatch(es.api));
    // A client that sends its request and never reads a byte.
    const stalled = net.connect(Number(new URL(es.api).port), '127.0.0.1');
    stalled.pause();
    stalled.on('error', () => undefined);
    stalled.write('GET /api/v1/events?watch=true HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('6 watchers', async () => (await es.details()).watchers === 6);

    // 64 events of 128 KiB first: more than the loopback socket buffers take, so the stalled
    // watcher's writes block; the burst then purges its position.
    const big = 'x'.repeat(128 * 1024);
    await postEvents(
      sim,
      Array.from({ length: 64 }, (_, i) => ({
        class: 'EventEx',
        fields: { EventTypeId: 'com.example.big', Message: `${i} ${big}` },
      })),
    );
    expect((await burst(sim, CLS, COUNT)).posted).toBe(COUNT);
    await postMarker(sim, 'stalled');
    await waitFor(
      'every reader to see the marker',
      () => readers.every((w) => w.events.some((e) => isMarker(e, 'stalled'))),
      LONG,
    );
    for (const w of readers) {
      const keys = burstKeys(w.events);
      expect(keys).toHaveLength(COUNT);
      expect(increasing(keys)).toBe(true);
      expect(w.errors).toEqual([]);
      expect(w.events.filter((e) => e.subject === 'com.example.big')).toHaveLength(64);
    }
    // Ended and counted on the server while it still never reads.
    await waitFor(
      'the stalled watcher to be ended',
      async () => (await es.details()).watchers_fell_behind === 1,
    );
    const d = await es.details();
    expect(d).toMatchObject({ watchers: 5, watchers_fell_behind: 1, held: 500 });
    // When it finally reads, the connection has been closed.
    let received = '';
    let closed = false;
    stalled.setEncoding('utf8');
    stalled.on('data', (c: string) => (received += c));
    stalled.once('close', () => (closed = true));
    stalled.resume();
    await waitFor('the stalled connection to close', () => closed);
    // It never read the final error line in time (the server closes the connection of a client
    // that does not take it within 2 s): it got the start of the stream, then the close.
    expect(received.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(es.router.stderr()).toMatch(/watcher fell behind the history: ended/);
    const line = /watcher fell behind the history: ended.*/.exec(es.router.stderr())![0];
    console.log(`stalled watcher: ${line}; router RSS ${JSON.stringify(rss(es.router.proc.pid!))}`);
    for (const w of readers) w.close();
  });
});
