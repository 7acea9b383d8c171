/**
 * A hostile vCenter whose reply, within the 16 MiB cap, nests millions of
 * levels or packs millions of empty containers: the reply is refused with an
 * error that says why, before the parse builds a tree many times its size.
 * Real replies (the recorded SOAP events) still parse.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { requestJson } from '../../src/stream/vcenter/vijson/vijson-client';
import { parseXmlFast } from '../../src/stream/vcenter/vim25/xml';
import { MAX_REPLY_NESTING } from '../../src/util/reply-shape';

const MB = 1024 * 1024;

let server: http.Server;
let body = '';
let url = '';
beforeAll(async () => {
  server = http.createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk/vim25/8.0.1.0/ServiceInstance/ServiceInstance/content`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function get(): Promise<unknown> {
  return requestJson(url, {
    method: 'GET',
    name: 'RetrieveServiceContent',
    address: 'https://vc.example.com/sdk',
    agent: new http.Agent(),
    timeoutMs: 30_000,
    abort: new AbortController(),
  });
}

test.each([
  ['8 MB of nested arrays', () => '['.repeat(4 * MB) + ']'.repeat(4 * MB), /nested deeper than 100 levels/],
  ['nested objects', () => '{"a":'.repeat(200) + '1' + '}'.repeat(200), /nested deeper than 100 levels/],
  [
    '16 MB of empty objects',
    () =>
      '[' +
      Array(5 * MB)
        .fill('{}')
        .join(',') +
      ']',
    /more than \d+ elements/,
  ],
])('VI/JSON: %s is refused before it is parsed', async (_name, make, why) => {
  body = make();
  await expect(get()).rejects.toThrow(why);
});

test(`VI/JSON: nesting up to ${MAX_REPLY_NESTING} levels and brackets inside strings are accepted`, async () => {
  body = JSON.stringify({ s: '[[[[{{{{'.repeat(100) }).replace(
    /}$/,
    ',"n":' + '['.repeat(99) + ']'.repeat(99) + '}',
  );
  await expect(get()).resolves.toMatchObject({ status: 200 });
});

test.each([
  [
    'deeply nested elements',
    () => '<element-with-a-long-name>'.repeat(200) + '</element-with-a-long-name>'.repeat(200),
    /nested deeper than 100 levels/,
  ],
  ['millions of empty elements', () => '<r>' + '<a/>'.repeat(4 * MB) + '</r>', /more than \d+ elements/],
])('SOAP: %s are refused', (_name, make, why) => {
  expect(() => parseXmlFast(make())).toThrow(why);
});

test('SOAP: the recorded events still parse', () => {
  const xml = readFileSync(path.join(__dirname, '..', 'unit', 'vim25', 'fixtures', 'events.xml'), 'utf8');
  expect(parseXmlFast(xml).name).toBeDefined();
});
