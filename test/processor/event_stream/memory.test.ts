/**
 * The event_stream API's memory against clients that never read: 200 listing
 * requests over events of ~500 KB each stay within the manifest's 256 Mi
 * limit (listings beyond the shared budget get 503 with Retry-After), and the
 * history's defaults bound its bytes, not only its count of events.
 * A malformed request path is a 400, never a 500 with an ERROR line.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { ConfigEntry } from '../../../src/config/types';
import { metricsEntry, startRouterProcess, waitFor, type RouterProcess } from '../../helpers/e2e';
import { eventStreamEntry } from './helpers';

jest.setTimeout(180_000);

/** The manifest's memory limit (deploy/event-router-k8s.yaml: 256Mi), in kB. */
const LIMIT_KB = 256 * 1024;

function peakRssKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmHWM');
  return Number(m[1]);
}

const webhook: ConfigEntry = {
  type: 'stream',
  provider: 'webhook',
  address: '127.0.0.1:0',
  auth: { method: 'none' },
  options: { max_event_bytes: 1_000_000 },
};

let router: RouterProcess | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await router?.stop();
});

function port(r: RouterProcess, re: RegExp): string {
  const m = re.exec(r.stderr());
  if (!m) throw new Error(`not listening: ${re}`);
  return m[1];
}

/** A GET whose client reads the first chunk of the reply, then never reads again; resolves with that chunk. */
function neverReading(api: string, path: string): Promise<string> {
  const url = new URL(api);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(url.port), url.hostname, () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`),
    );
    sockets.push(s);
    s.once('data', (d: Buffer) => {
      s.pause();
      resolve(d.toString('latin1'));
    });
    s.once('error', reject);
  });
}

const statusOf = (reply: string): number => Number(/^HTTP\/1\.1 (\d+)/.exec(reply)?.[1] ?? 0);

test('200 clients that never read a listing of events of ~500 KB each: RSS stays under the limit, the history bounded by bytes', async () => {
  router = await startRouterProcess([webhook, eventStreamEntry(), metricsEntry()]);
  const r = router;
  await waitFor(
    'both servers',
    () => /webhook stream listening/.test(r.stderr()) && /event stream API listening/.test(r.stderr()),
  );
  const hook = `http://127.0.0.1:${port(r, /webhook stream listening .*address=[^\s]*:(\d+)/)}/webhook`;
  const api = `http://127.0.0.1:${port(r, /event stream API listening .*?address=[^\s]*:(\d+)/)}`;
  const count = 100;
  for (let i = 0; i < count; i++) {
    const res = await fetch(hook, {
      method: 'POST',
      headers: { 'Content-Type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: `big-${i}`,
        source: '/big',
        type: 't',
        data: { blob: String(i % 10).repeat(500_000) },
      }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(202);
  }
  const details = async (): Promise<Record<string, number>> =>
    (
      (await (await fetch(`${r.metricsUrl}/readyz`)).json()) as {
        details: { processors: Record<string, Record<string, number>> };
      }
    ).details.processors.event_stream;
  await waitFor('every event served', async () => (await details()).events === count);
  // 100 events of ~500 KB are 50 MB: the default byte bound purges the oldest.
  const d = await details();
  expect(d.held).toBeLessThan(count);
  expect(d.held_bytes).toBeLessThanOrEqual(d.max_bytes);

  const replies = await Promise.all(Array.from({ length: 200 }, () => neverReading(api, '/api/v1/events')));
  const statuses = replies.map(statusOf);
  expect(statuses).toContain(200);
  expect(statuses).toContain(503);
  expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
  // Each request refused once the unread replies reached their bound says so: busy, and when to come back.
  // (Read from the refused replies themselves: a later request would race the kernel draining the others.)
  for (const busy of replies.filter((r) => statusOf(r) === 503)) {
    expect(busy).toMatch(/\r\nretry-after: \d+\r\n/i);
    expect(busy).toMatch(/"code":"busy"/);
  }
  expect(peakRssKb(r.proc.pid!)).toBeLessThan(LIMIT_KB);
});

test('an offset with bad percent-encoding is a 400 that says so, not a 500', async () => {
  router = await startRouterProcess([webhook, eventStreamEntry(), metricsEntry()]);
  const r = router;
  await waitFor('the event stream API', () => /event stream API listening/.test(r.stderr()));
  const api = `http://127.0.0.1:${port(r, /event stream API listening .*?address=[^\s]*:(\d+)/)}`;
  const res = await fetch(`${api}/api/v1/events/%E0%A4%A`);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { code: string }).code).toBe('offset_invalid');
  expect(r.stderr()).not.toContain('ERROR');
});
