/**
 * Records the exact requests node-soap sends for every vim25 method the SOAP
 * transport calls, against the govmomi simulator through a recording proxy,
 * with the simulator's replies: test/unit/vcenter/fixtures/soap-exchanges.json.
 * Run once with node-soap still building the envelopes, to pin what the
 * envelope writer that replaces it must produce.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../harness/simulator';
import { SoapTransport } from '../../../src/stream/vcenter/soap/soap-transport';

const OUT = path.join(__dirname, '..', '..', 'unit', 'vcenter', 'fixtures', 'soap-exchanges.json');
const USER = 'us<e>r&"\'é';
const PASSWORD = 'p<&"\'>ss ]]> ü\t\r\n!';

interface Exchange {
  call: string;
  args: unknown[];
  request: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
  reply: { status: number; headers: http.IncomingHttpHeaders; body: string };
}

jest.setTimeout(60_000);

test('capture', async () => {
  const sim: Simulator = await startSimulator({ username: USER, password: PASSWORD });
  const exchanges: Exchange[] = [];
  let current = { call: '', args: [] as unknown[] };
  const target = new URL(sim.url);
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: target.host },
        },
        (r) => {
          const rc: Buffer[] = [];
          r.on('data', (c: Buffer) => rc.push(c));
          r.on('end', () => {
            const replyBody = Buffer.concat(rc);
            exchanges.push({
              ...current,
              request: {
                method: req.method ?? '',
                url: req.url ?? '',
                headers: req.headers,
                body: body.toString('utf8'),
              },
              reply: { status: r.statusCode ?? 0, headers: r.headers, body: replyBody.toString('utf8') },
            });
            res.writeHead(r.statusCode ?? 502, r.headers).end(replyBody);
          });
        },
      );
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/sdk`;
  const t = await SoapTransport.create(address, { insecure: false, timeoutMs: 10_000 });
  const step = async <T>(call: string, args: unknown[], fn: () => Promise<T>): Promise<T | undefined> => {
    current = { call, args };
    const t0 = Date.now();
    try {
      return await fn();
    } catch (err) {
      process.stderr.write(`${call}: ${(err as Error).message}\n`);
      return undefined as T | undefined; // a fault is recorded like any reply
    } finally {
      process.stderr.write(`${call} ${Date.now() - t0} ms\n`);
    }
  };
  try {
    const content = (await step('retrieveServiceContent', [], () => t.retrieveServiceContent()))!;
    await step('login', [content, USER, PASSWORD], () => t.login(content, USER, PASSWORD));
    await step('currentTime', [], () => t.currentTime());
    const collector = (await step(
      'createCollectorForEvents',
      [content.eventManager, content.rootFolder, 100],
      () => t.createCollectorForEvents(content.eventManager, content.rootFolder, 100),
    ))!;
    await step('setCollectorPageSize', [collector, 50], () => t.setCollectorPageSize(collector, 50));
    await step('createLatestPageFilter', [content.propertyCollector, collector], () =>
      t.createLatestPageFilter(content.propertyCollector, collector),
    );
    const first = await step('waitForUpdatesEx', [content.propertyCollector, '', 1, 10_000], () =>
      t.waitForUpdatesEx(content.propertyCollector, '', 1, 10_000),
    );
    await step('waitForUpdatesEx', [content.propertyCollector, first?.version ?? '', 1, 10_000], () =>
      t.waitForUpdatesEx(content.propertyCollector, first?.version ?? '', 1, 10_000),
    );
    await step('retrieveLatestPage', [content.propertyCollector, collector], () =>
      t.retrieveLatestPage(content.propertyCollector, collector),
    );
    await step('latestEvent', [content.propertyCollector, content.eventManager], () =>
      t.latestEvent(content.propertyCollector, content.eventManager),
    );
    await step('resetCollector', [collector], () => t.resetCollector(collector));
    await step('readPreviousEvents', [collector, 10], () => t.readPreviousEvents(collector, 10));
    // Escaping of a managed object reference (a fault: no such object).
    const odd = { type: 'EventHistory<&"\'>Collector', value: 'session[a<b&c"d\'e>]f' };
    await step('setCollectorPageSize', [odd, 7], () => t.setCollectorPageSize(odd, 7));
    await step('destroyCollector', [collector, 10_000], () => t.destroyCollector(collector, 10_000));
    await step('logout', [content, 10_000], () => t.logout(content, 10_000));
  } finally {
    t.close();
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await sim.stop();
  }
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(exchanges, null, 2) + '\n');
  expect(exchanges.length).toBe(15);
});
