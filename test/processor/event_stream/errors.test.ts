/**
 * What the event_stream API answers when a request cannot be served: purged,
 * future and malformed offsets, too many watchers, wrong credentials (each
 * its status and a JSON error naming the valid range), records over
 * max_record_bytes, and configs that do not say which stream to serve.
 */
import { validateConfig } from '../../../src/catalogue';
import { waitFor } from '../../helpers/e2e';
import { postEvents, startSimulator, type Simulator } from '../../harness/simulator';
import {
  eventStreamEntry,
  isMarker,
  openWatch,
  postMarker,
  startEventStreamRouter,
  type CloudEventJson,
  type EventStreamRouter,
  type Watch,
} from './helpers';

const AUTH = { username: 'reader', password: 'es-secret-7d1c' };
const authHeader = `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`;

describe('event_stream errors', () => {
  let sim: Simulator;
  let es: EventStreamRouter;
  let range: { earliest: number; latest: number };

  const get = async (
    path: string,
    headers: Record<string, string> = { Authorization: authHeader },
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> => {
    const r = await fetch(`${es.api}${path}`, { headers });
    const text = await r.text();
    return { status: r.status, body: JSON.parse(text) as Record<string, unknown>, headers: r.headers };
  };

  beforeAll(async () => {
    sim = await startSimulator();
    es = await startEventStreamRouter(
      sim,
      eventStreamEntry({ max_events: '5', max_watchers: '2', max_record_bytes: '4000' }, AUTH),
    );
    await postEvents(
      sim,
      Array.from({ length: 8 }, () => ({ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' })),
    );
    // One record over max_record_bytes: skipped, counted, logged.
    await postEvents(sim, [
      { class: 'EventEx', fields: { EventTypeId: 'com.example.big', Message: 'x'.repeat(6000) } },
    ]);
    await postMarker(sim, 'errors');
    await waitFor('the marker', async () =>
      ((await get('/api/v1/events')).body as unknown as CloudEventJson[]).some((e) => isMarker(e, 'errors')),
    );
    range = (await get('/api/v1/range')).body as unknown as { earliest: number; latest: number };
  });

  afterAll(async () => {
    await es?.router.stop();
    await sim?.stop();
  });

  it('holds max_events events; a record over max_record_bytes is skipped, counted and logged', async () => {
    const page = (await get('/api/v1/events')).body as unknown as CloudEventJson[];
    expect(page).toHaveLength(5);
    expect(page.some((e) => e.subject === 'com.example.big')).toBe(false);
    expect(range.latest - range.earliest).toBe(5); // the skipped key leaves a gap
    const d = await es.details();
    expect(d).toMatchObject({
      held: 5,
      max_events: 5,
      oversize_skipped: 1,
      earliest: range.earliest,
      latest: range.latest,
    });
    expect(es.router.stderr()).toMatch(/event larger than max_record_bytes: skipped .*max_record_bytes=4000/);
    // The same counter on /metrics.
    const metrics = await (await fetch(`${es.router.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/vmware_event_router_event_stream_oversize_skipped_total\{processor="[^"]+"\} 1/);
    // The key skipped is in range but not held.
    const gap = page.find((e, i) => i > 0 && e.data.Key !== page[i - 1].data.Key + 1)!.data.Key - 1;
    const r = await get(`/api/v1/events/${gap}`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'offset_not_found', offset: gap, ...range });
  });

  it('a purged offset: 410 naming the valid range', async () => {
    for (const path of [
      `/api/v1/events/${range.earliest - 1}`,
      `/api/v1/events?watch=true&offset=${range.earliest - 1}`,
    ]) {
      const r = await get(path);
      expect(r.status).toBe(410);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.body).toEqual({
        error: `offset ${range.earliest - 1} is older than the earliest event held (purged); valid offsets: ${range.earliest} to ${range.latest}`,
        code: 'offset_purged',
        offset: range.earliest - 1,
        ...range,
      });
    }
  });

  it('a future offset: 404 naming the valid range (a watch may start at latest + 1)', async () => {
    const one = await get(`/api/v1/events/${range.latest + 1}`);
    expect(one.status).toBe(404);
    expect(one.body).toMatchObject({ code: 'offset_in_future', offset: range.latest + 1, ...range });
    const watch = await get(`/api/v1/events?watch=true&offset=${range.latest + 2}`);
    expect(watch.status).toBe(404);
    expect(watch.body).toMatchObject({
      error: `offset ${range.latest + 2} is after the latest event held (in the future); valid offsets: ${range.earliest} to ${range.latest}`,
      code: 'offset_in_future',
    });
  });

  it.each(['abc', '1.5', '99999999999', '', '0x10'])(
    'a malformed offset %p: 400 naming the valid range',
    async (raw) => {
      for (const path of [
        `/api/v1/events?watch=true&offset=${raw}`,
        ...(raw ? [`/api/v1/events/${raw}`] : []),
      ]) {
        const r = await get(path);
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ code: 'offset_invalid', ...range });
        expect(r.body.error).toContain(`valid offsets: ${range.earliest} to ${range.latest}`);
      }
    },
  );

  it('more than max_watchers: 503 with a JSON error; a closed watch frees its place', async () => {
    const opened: Watch[] = [];
    const watchAuth = async (): Promise<Response> =>
      fetch(`${es.api}/api/v1/events?watch=true`, { headers: { Authorization: authHeader } });
    try {
      const a = await watchAuth();
      const b = await watchAuth();
      expect([a.status, b.status]).toEqual([200, 200]);
      const c = await watchAuth();
      expect(c.status).toBe(503);
      expect(await c.json()).toEqual({
        error: '2 watches are open, the most this server allows (max_watchers 2); retry later',
        code: 'too_many_watchers',
        max_watchers: 2,
      });
      await a.body?.cancel();
      await waitFor('the closed watch to be gone', async () => (await es.details()).watchers === 1);
      const d = await watchAuth();
      expect(d.status).toBe(200);
      await d.body?.cancel();
      await b.body?.cancel();
      expect(await es.details()).toMatchObject({ watchers_refused: 1 });
    } finally {
      for (const w of opened) w.close();
    }
  });

  it('wrong or missing credentials: 401 with the realm and a JSON error; /healthz needs none', async () => {
    const tries: Array<Record<string, string>> = [
      {},
      { Authorization: `Basic ${Buffer.from('reader:wrong').toString('base64')}` },
      { Authorization: `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}x`).toString('base64')}` },
      { Authorization: 'Bearer abc' },
    ];
    for (const headers of tries) {
      for (const path of [
        '/api/v1/range',
        '/api/v1/events',
        `/api/v1/events/${range.latest}`,
        '/api/v1/events?watch=true',
      ]) {
        const r = await get(path, headers);
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Basic realm="Restricted"');
        expect(r.body).toEqual({ error: 'wrong or missing credentials (basic auth)', code: 'unauthorized' });
      }
    }
    expect((await fetch(`${es.api}/healthz`)).status).toBe(200);
    expect((await get('/api/v1/range')).status).toBe(200);
    expect(es.router.stderr()).not.toContain(AUTH.password);
  });

  it('an unknown path: 404 JSON; another method: 405', async () => {
    const r = await get('/api/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'not_found' });
    expect(
      (await fetch(`${es.api}/api/v1/range`, { method: 'POST', headers: { Authorization: authHeader } }))
        .status,
    ).toBe(405);
  });

  it('watch open with an offset still works under auth (the held events, then later ones)', async () => {
    const w = await openWatchWithAuth(es.api, range.earliest);
    try {
      await waitFor('the held events', () => w.events.length >= 5);
      expect(w.events.map((e) => e.data.Key)).toEqual(
        ((await get('/api/v1/events')).body as unknown as CloudEventJson[]).map((e) => e.data.Key),
      );
    } finally {
      w.close();
    }
  });
});

/** openWatch with the credentials in the URL. */
function openWatchWithAuth(api: string, offset: number): Promise<Watch> {
  return openWatch(api.replace('http://', `http://${AUTH.username}:${AUTH.password}@`), offset);
}

describe('event_stream config: which stream it serves', () => {
  const stream = (name: string): Record<string, unknown> => ({
    type: 'stream',
    provider: 'vmware_vcenter',
    name,
    address: `https://${name}/sdk`,
    auth: { method: 'user_password', secret: { username: 'u', password: 'p' } },
  });
  const metrics = {
    type: 'metrics',
    provider: 'internal',
    address: '127.0.0.1:8080',
    auth: { method: 'none' },
  };
  const processor = (options: Record<string, string> = {}): Record<string, unknown> => ({
    type: 'processor',
    provider: 'event_stream',
    address: '0.0.0.0:8081',
    options,
  });

  it('with several streams, options.stream is required and must name one of them', () => {
    expect(validateConfig([stream('vc1'), stream('vc2'), processor(), metrics]).join('\n')).toContain(
      'missing required option "stream" (the config has 2 streams and the offsets of event_stream are the keys of one: name it, one of "vc1", "vc2")',
    );
    expect(
      validateConfig([stream('vc1'), stream('vc2'), processor({ stream: 'vc3' }), metrics]).join('\n'),
    ).toContain('no stream is named "vc3" (streams: "vc1", "vc2")');
    expect(validateConfig([stream('vc1'), stream('vc2'), processor({ stream: 'vc2' }), metrics])).toEqual([]);
  });

  it('with one stream it may be left out', () => {
    expect(validateConfig([stream('vc1'), processor(), metrics])).toEqual([]);
  });
});
