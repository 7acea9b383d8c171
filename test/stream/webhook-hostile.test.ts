/**
 * Webhook requests that are valid JSON but not events the router can carry:
 * binary data (`data_base64`) stays base64, deeply nested data and a
 * `datacontenttype` with CR/LF are a 400 (a permanent client error, never a
 * retryable status), and an invalid attribute is named.
 */
import { metricsEntry, startRouterProcess, waitFor, type RouterProcess } from '../helpers/e2e';

jest.setTimeout(120_000);

let router: RouterProcess;
let url: string;

beforeAll(async () => {
  router = await startRouterProcess([
    { type: 'stream', provider: 'webhook', address: '127.0.0.1:0', auth: { method: 'none' } },
    { type: 'processor', provider: 'stdout' },
    metricsEntry(),
  ]);
  await waitFor('the webhook stream', () => /webhook stream listening/.test(router.stderr()));
  url = `http://127.0.0.1:${/webhook stream listening .*address=[^\s]*:(\d+)/.exec(router.stderr())![1]}/webhook`;
});
afterAll(async () => router?.stop());

async function post(event: Record<string, unknown> | string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: typeof event === 'string' ? event : JSON.stringify(event),
  });
  return { status: res.status, text: await res.text() };
}

const base = { specversion: '1.0', source: '/hostile', type: 't' };

test('data_base64 comes out as data_base64, as sent', async () => {
  const data_base64 = Buffer.from('hello binary \u0000\u0001').toString('base64');
  expect(
    (await post({ ...base, id: 'b64', datacontenttype: 'application/octet-stream', data_base64 })).status,
  ).toBe(202);
  await waitFor('the event on stdout', () => router.stdoutLines.some((l) => l.includes('"b64"')));
  const out = router.events().find((e) => e.id === 'b64')!;
  expect(out.data_base64).toBe(data_base64);
  expect(out.data).toBeUndefined();
});

test('deeply nested data is a 400 that says why', async () => {
  const body = JSON.stringify({ ...base, id: 'deep' }).replace(
    /}$/,
    `,"data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
  );
  const { status, text } = await post(body);
  expect(status).toBe(400);
  expect(text).toMatch(/nested deeper than \d+ levels/);
});

test('a datacontenttype with CR/LF is a 400 naming the attribute', async () => {
  const { status, text } = await post({
    ...base,
    id: 'crlf',
    datacontenttype: 'application/json\r\nX-Evil: 1',
    data: {},
  });
  expect(status).toBe(400);
  expect(text).toContain('datacontenttype');
});

test('an invalid time is a 400 naming the attribute', async () => {
  const { status, text } = await post({ ...base, id: 'badtime', time: 'yesterday' });
  expect(status).toBe(400);
  expect(text).toContain('time');
});
