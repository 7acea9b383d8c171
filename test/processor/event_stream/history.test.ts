/**
 * The event_stream history on its own (the real processor and HTTP server, fed
 * entries directly): int32 serial key order across the wrap to negative keys,
 * a new key space after a vCenter restart, and purging at max_events.
 */
import type { LogEntry } from '../../../src/eventlog/event-log';
import type { RouterEvent } from '../../../src/events/types';
import { createLogger } from '../../../src/log/logger';
import { RouterMetrics } from '../../../src/metrics/metrics';
import { keyAfter } from '../../../src/events/key-order';
import { EventStreamSink } from '../../../src/processor/event_stream/event-stream-sink';
import { waitFor } from '../../helpers/wait';
import { openWatch } from './helpers';
import { readOptions } from '../../../src/config/options';
import type { ConfigEntry } from '../../../src/config/types';
import { eventStreamOptions } from '../../../src/processor/event_stream/options';

function entry(key: number): LogEntry {
  const event = { id: `id-${key}`, data: { Key: key } } as unknown as RouterEvent;
  return {
    seq: 0,
    stream: 'vc',
    key,
    event,
    json: JSON.stringify({
      specversion: '1.0',
      id: `id-${key}`,
      subject: 'VmPoweredOnEvent',
      data: { Key: key },
    }),
  } as LogEntry;
}

describe('event_stream history', () => {
  let p: EventStreamSink;
  let api: string;
  const logs: string[] = [];

  const start = async (options: Record<string, string> = {}): Promise<void> => {
    const logger = createLogger({ level: 'debug', json: false, write: (l) => logs.push(l) });
    const entry: ConfigEntry = {
      type: 'processor',
      provider: 'event_stream',
      address: '127.0.0.1:0',
      options,
    };
    p = new EventStreamSink(entry, readOptions(eventStreamOptions, entry), {
      logger,
      metrics: new RouterMetrics({ defaultMetrics: false }),
    });
    await p.start();
    api = `http://127.0.0.1:${p.address!.port}`;
  };
  const send = (...keys: number[]): Promise<unknown> =>
    p.send(keys.map((k) => ({ entry: entry(k), target: null, bytes: 0 })));
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await fetch(`${api}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  afterEach(async () => {
    await p?.stop();
  });

  it('orders keys in int32 serial order across the wrap to negative keys', async () => {
    expect(keyAfter(-2147483648, 2147483647)).toBe(true);
    expect(keyAfter(2147483647, -2147483648)).toBe(false);
    await start();
    await send(2147483646, 2147483647, -2147483648, -2147483647);
    expect((await get('/api/v1/range')).body).toEqual({ earliest: 2147483646, latest: -2147483647 });
    expect((await get('/api/v1/events/-2147483648')).body).toMatchObject({ data: { Key: -2147483648 } });
    expect((await get('/api/v1/events/2147483645')).status).toBe(410);
    expect((await get('/api/v1/events?watch=true&offset=-2147483645')).status).toBe(404);
    const w = await openWatch(api, 2147483647);
    const now = await openWatch(api, -2147483646); // latest + 1: from the next event on
    await send(-2147483646);
    await waitFor('the watches', () => w.events.length === 4 && now.events.length === 1);
    expect(w.events.map((e) => e.data.Key)).toEqual([2147483647, -2147483648, -2147483647, -2147483646]);
    expect(now.events.map((e) => e.data.Key)).toEqual([-2147483646]);
    w.close();
    now.close();
  });

  it('starts afresh when the vCenter starts a new key space; a caught-up watcher goes on', async () => {
    await start();
    await send(100, 101, 102);
    const w = await openWatch(api);
    await send(1, 2);
    expect((await get('/api/v1/range')).body).toEqual({ earliest: 1, latest: 2 });
    await waitFor('the watch', () => w.events.length === 2);
    expect(w.events.map((e) => e.data.Key)).toEqual([1, 2]);
    expect(p.details()).toMatchObject({ key_space_restarts: 1, held: 2 });
    expect(logs.join('\n')).toMatch(
      /new key space: the history starts afresh.*offset=1 previous_latest=102 dropped=3/,
    );
    expect((await get('/api/v1/events/101')).status).toBe(404);
    w.close();
  });

  it('holds max_events, purging the oldest; the newest page is page_size', async () => {
    await start({ max_events: '3', page_size: '2' });
    await send(10, 11, 12, 13, 14);
    expect((await get('/api/v1/range')).body).toEqual({ earliest: 12, latest: 14 });
    const r = await fetch(`${api}/api/v1/events`);
    expect(((await r.json()) as Array<{ data: { Key: number } }>).map((e) => e.data.Key)).toEqual([13, 14]);
    expect((await get('/api/v1/events/11')).body).toMatchObject({
      code: 'offset_purged',
      earliest: 12,
      latest: 14,
    });
  });
});
