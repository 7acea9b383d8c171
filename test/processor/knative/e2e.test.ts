/**
 * End to end: govmomi simulator -> the router (in-process, real vCenter
 * stream) -> two knative processors, one per encoding -> CloudEvents
 * receivers built on the `cloudevents` package's HTTP parsing.
 */
import { total } from '../../../src/metrics/metrics';
import { percentDecodeHeader } from '../../../src/events/binary';
import {
  metricsEntry,
  startRouterInProcess,
  vcenterEntry,
  waitFor,
  type InProcessRouter,
} from '../../helpers/e2e';
import { buildHarness, postEvents, startSimulator, type Simulator } from '../../harness/simulator';
import { CloudEventsReceiver, type ReceivedEvent } from '../../peers/cloudevents-receiver';

interface Data {
  Key: number;
  CreatedTime: string;
}

describe('simulator -> router -> knative processors (structured and binary)', () => {
  let sim: Simulator;
  let structured: CloudEventsReceiver;
  let binary: CloudEventsReceiver;
  let r: InProcessRouter;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator();
    structured = await CloudEventsReceiver.start();
    binary = await CloudEventsReceiver.start();
    // The binary receiver fails a third of the requests: retries must still deliver each event once.
    binary.failEvery = 3;
    r = await startRouterInProcess({
      streams: [vcenterEntry(sim)],
      processors: [
        {
          type: 'processor',
          provider: 'knative',
          name: 'kn-structured',
          address: structured.url,
          auth: { method: 'bearer', secret: { token: 'e2e-token' } },
        },
        {
          type: 'processor',
          provider: 'knative',
          name: 'kn-binary',
          address: binary.url,
          options: { encoding: 'binary', retries: '20' },
        },
      ],
      metrics: metricsEntry(),
    });
    await waitFor('stream and processors ready', async () => (await fetch(`${r.metricsUrl}/readyz`)).ok);
  });

  afterAll(async () => {
    await r?.stop();
    await structured?.close();
    await binary?.close();
    await sim?.stop();
  });

  test('every posted event reaches both receivers once, with identical attributes and exact time', async () => {
    const before = await total(r.metrics.streamEvents);
    const classes = ['VmPoweredOnEvent', 'VmPoweredOffEvent', 'VmCreatedEvent'];
    const specs = Array.from({ length: 30 }, (_, i) => ({
      class: classes[i % classes.length],
      entities: 'vm:DC0_H0_VM0',
    }));
    await postEvents(sim, specs);
    await waitFor(
      'the stream to read every posted event',
      async () => (await total(r.metrics.streamEvents)) >= before + specs.length,
    );
    const read = (await total(r.metrics.streamEvents)) - before;
    await waitFor('both receivers to get every event', async () => {
      const delivered = await total(r.metrics.invocations);
      return structured.received.length >= read && binary.received.length >= read && delivered >= 2 * read;
    });

    const byId = (list: ReceivedEvent[]): Map<string, ReceivedEvent> =>
      new Map(list.map((e) => [e.event.id, e]));
    const s = byId(structured.received);
    const b = byId(binary.received);
    expect(s.size).toBe(structured.received.length); // no duplicates
    expect(b.size).toBe(binary.received.length);
    expect([...s.keys()].sort()).toEqual([...b.keys()].sort());
    const posted = structured.received.filter((e) => classes.includes(String(e.event.subject)));
    expect(posted).toHaveLength(specs.length);

    for (const [id, se] of s) {
      const be = b.get(id)!;
      const json = JSON.parse(se.body) as Record<string, unknown> & { data: Data };
      // vCenter's createdTime to the nanosecond, in both encodings.
      expect(json.time).toBe(json.data.CreatedTime);
      expect(percentDecodeHeader(String(be.headers['ce-time']))).toBe(json.time);
      for (const a of ['specversion', 'id', 'source', 'type', 'subject', 'datacontenttype']) {
        expect(be.event[a as keyof typeof be.event]).toEqual(json[a]);
      }
      expect(json.source).toBe(sim.url);
      expect(be.event.data).toEqual(json.data);
      expect(se.headers.authorization).toBe('Bearer e2e-token');
      expect(be.headers.authorization).toBeUndefined();
    }
    // Some event keeps sub-millisecond digits (the SDK's own serializers would cut them).
    expect([...b.values()].some((e) => /\.\d{4,9}Z$/.test(String(e.headers['ce-time'])))).toBe(true);
    expect(binary.requests.some((q) => q.status === 503)).toBe(true);
    expect(await total(r.metrics.invocationErrors)).toBe(0);

    // /stats and /metrics name both processors.
    const metrics = await (await fetch(`${r.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('processor="kn-structured"');
    expect(metrics).toContain('processor="kn-binary"');
  });
});
