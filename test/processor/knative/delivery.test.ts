/**
 * The Knative processor against a CloudEvents receiver built on the
 * `cloudevents` package's HTTP parsing: both content modes, retries of 503,
 * a 400 dropped and counted, auth headers, redirects not followed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudEventJson } from '../../../src/events/cloudevent';
import { binaryMessage, percentDecodeHeader, percentEncodeHeader } from '../../../src/events/binary';
import { parseConfig } from '../../../src/catalogue';
import { waitFor } from '../../helpers/wait';
import { CloudEventsReceiver, type ReceivedEvent } from '../../peers/cloudevents-receiver';
import { entry, event, makeContext, makeProcessor, type TestContext } from './helpers';

const ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'datacontenttype'] as const;

/** The attributes the SDK parsed, plus the exact time from the raw request. */
function attributesOf(r: ReceivedEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of ATTRIBUTES) out[a] = (r.event as unknown as Record<string, unknown>)[a];
  out.time =
    r.mode === 'binary'
      ? percentDecodeHeader(String(r.headers['ce-time']))
      : (JSON.parse(r.body) as { time: string }).time;
  return out;
}

/** Retries the runner counted (every reason). */
async function retried(tc: TestContext): Promise<number> {
  return (await tc.metrics.retries.get()).values.reduce((n, v) => n + v.value, 0);
}

const vcenter = {
  type: 'stream',
  provider: 'vmware_vcenter',
  address: 'https://vc.example.com/sdk',
  auth: { method: 'user_password', secret: { username: 'u', password: 'p-not-echoed' } },
};
const metrics = { type: 'metrics', provider: 'internal', address: '127.0.0.1:0', auth: { method: 'none' } };

let receiver: CloudEventsReceiver;
beforeEach(async () => {
  receiver = await CloudEventsReceiver.start();
});
afterEach(async () => {
  await receiver.close();
});

describe('binary encoding', () => {
  test('every attribute is a ce- header, time verbatim, data the body', () => {
    const ev = event('VmPoweredOnEvent', '2024-05-06T07:08:09.000000001Z');
    const m = binaryMessage(ev);
    expect(m.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': ev.id,
      'ce-source': ev.source,
      'ce-type': 'com.vmware.event.router/event',
      'ce-subject': 'VmPoweredOnEvent',
      'ce-time': '2024-05-06T07:08:09.000000001Z',
      'Content-Type': 'application/json',
    });
    expect(JSON.parse(m.body.toString('utf8'))).toEqual(ev.data);
  });

  test('header values are percent-encoded where the binding requires', () => {
    expect(percentEncodeHeader('a b"c%d/é')).toBe('a%20b%22c%25d/%C3%A9');
    expect(percentDecodeHeader(percentEncodeHeader('Ünïcode "x" 100%'))).toBe('Ünïcode "x" 100%');
  });
});

describe('knative processor', () => {
  test('structured and binary carry identical attributes and data, time exact to the nanosecond', async () => {
    const events = [
      event('VmPoweredOnEvent', '2024-05-06T07:08:09.123456789Z'),
      event('VmPoweredOffEvent', '2024-05-06T07:08:10.000001Z'),
      event('VmCreatedEvent', '2024-05-06T07:08:11Z'),
    ];
    const got: Record<string, ReceivedEvent[]> = {};
    for (const encoding of ['structured', 'binary'] as const) {
      const tc = makeContext();
      const p = await makeProcessor(entry(receiver.url, { encoding }), tc);
      for (const ev of events) await p.process(ev);
      await waitFor(`${encoding}: all received`, () => receiver.received.length === events.length);
      await p.stop(5000);
      got[encoding] = receiver.received.splice(0).sort((a, b) => a.event.id.localeCompare(b.event.id));
      for (const r of got[encoding]) expect(r.mode).toBe(encoding);
    }
    const structured = got.structured;
    const binary = got.binary;
    const sorted = [...events].sort((a, b) => a.id.localeCompare(b.id));
    for (let i = 0; i < sorted.length; i++) {
      const ev = sorted[i];
      // The structured body is exactly the event log's JSON.
      expect(structured[i].body).toBe(cloudEventJson(ev));
      expect(structured[i].headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(binary[i].headers['content-type']).toBe('application/json');
      expect(binary[i].headers['ce-time']).toBe(ev.time);
      const attrs = attributesOf(structured[i]);
      expect(attrs).toEqual(attributesOf(binary[i]));
      expect(attrs).toEqual({
        specversion: '1.0',
        id: ev.id,
        source: ev.source,
        type: ev.type,
        subject: ev.subject,
        datacontenttype: 'application/json',
        time: ev.time,
      });
      expect(structured[i].event.data).toEqual(ev.data);
      expect(binary[i].event.data).toEqual(ev.data);
    }
  });

  test.each(['structured', 'binary'])(
    '%s: a receiver answering 503 to every third request still gets every event exactly once',
    async (encoding) => {
      receiver.failEvery = 3;
      const tc = makeContext();
      // Retries enough that no event runs out of them on an unlucky sequence of 503s.
      const p = await makeProcessor(entry(receiver.url, { encoding, retries: 20 }), tc);
      const events = Array.from({ length: 60 }, () => event());
      for (const ev of events) await p.process(ev);
      await waitFor('every event received', () => receiver.received.length >= events.length);
      await p.stop(5000);
      expect([...receiver.ids].sort()).toEqual(events.map((e) => e.id).sort());
      expect(new Set(receiver.ids).size).toBe(events.length);
      expect(receiver.requests.filter((r) => r.status === 503).length).toBeGreaterThan(0);
      expect(await retried(tc)).toBe(receiver.requests.filter((r) => r.status === 503).length);
      expect(await tc.metrics.invocationErrors.get()).toMatchObject({ values: [] });
      const text = await tc.metrics.registry.metrics();
      expect(text).toContain(
        `vmware_event_router_processor_invocations_total{processor="knative",subject="VmPoweredOnEvent"} ${events.length}`,
      );
    },
  );

  test('Retry-After of a 503 is honoured before the retry', async () => {
    receiver.failEvery = 1;
    receiver.retryAfter = '1';
    const tc = makeContext();
    const p = await makeProcessor(entry(receiver.url, { retries: 3 }), tc);
    const started = Date.now();
    await p.process(event());
    await waitFor('a 503 answered', () => receiver.requests.length === 1);
    receiver.failEvery = 0;
    await waitFor('delivered after the retry', () => receiver.received.length === 1);
    // A lower bound only: the retry waited at least the second the receiver asked for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await p.stop(5000);
  });

  test('a 400 is dropped and counted, the next event is delivered', async () => {
    receiver.rejectNext = 1;
    const tc = makeContext();
    const p = await makeProcessor(entry(receiver.url, { max_in_flight: 1 }), tc);
    const rejected = event('VmPoweredOffEvent');
    const ok = event('VmPoweredOnEvent');
    await p.process(rejected);
    await p.process(ok);
    await waitFor('second event received', () => receiver.received.length === 1);
    await p.stop(5000);
    expect(receiver.ids).toEqual([ok.id]);
    // Sent once: a 400 is not retried.
    expect(receiver.requests.map((r) => r.status)).toEqual([400, 202]);
    expect(await retried(tc)).toBe(0);
    const text = await tc.metrics.registry.metrics();
    expect(text).toContain(
      'vmware_event_router_processor_errors_total{processor="knative",subject="VmPoweredOffEvent"} 1',
    );
    const log = tc.lines.join('\n');
    expect(log).toContain('answered 400');
    expect(log).toContain(rejected.id);
  });

  test('bearer and basic auth headers arrive; userinfo in the address is never sent', async () => {
    const tc = makeContext();
    const bearer = await makeProcessor(
      entry(receiver.url, {}, { method: 'bearer', secret: { token: 'sEcReT-tOkEn' } }),
      tc,
    );
    await bearer.process(event());
    await waitFor('bearer event', () => receiver.received.length === 1);
    await bearer.stop(5000);
    const basic = await makeProcessor(
      entry(
        receiver.url.replace('http://', 'http://who:leak@'),
        { encoding: 'binary' },
        { method: 'basic_auth', secret: { username: 'router', password: 'p@ss:word' } },
      ),
      tc,
    );
    await basic.process(event());
    await waitFor('basic event', () => receiver.received.length === 2);
    await basic.stop(5000);
    expect(receiver.requests.map((r) => r.authorization)).toEqual([
      'Bearer sEcReT-tOkEn',
      'Basic ' + Buffer.from('router:p@ss:word').toString('base64'),
    ]);
    const log = tc.lines.join('\n');
    for (const secret of ['sEcReT-tOkEn', 'p@ss:word', 'leak']) expect(log).not.toContain(secret);
  });

  test('a receiver that echoes the bearer token in its error: the reply is withheld from the log', async () => {
    const tc = makeContext();
    const e = entry(receiver.url, {}, { method: 'bearer', secret: { token: 'eChOeD-tOkEn-7' } });
    // Loaded as the router loads it: the token is registered as a secret.
    parseConfig(JSON.stringify([vcenter, e, metrics]), 'config.json');
    const proc = await makeProcessor(e, tc);
    receiver.rejectNext = 1;
    receiver.echoAuthorization = true;
    const rejected = event();
    await proc.process(rejected);
    await waitFor('the rejection', () => receiver.requests.some((r) => r.status === 400));
    await proc.stop(5000);
    const log = tc.lines.join('\n');
    expect(log).toContain('answered 400');
    expect(log).toContain(rejected.id);
    expect(log).not.toContain('eChOeD-tOkEn-7');
  });

  test('a redirect is not followed: the event fails naming the Location, credentials stay home', async () => {
    let redirected = 0;
    const other: Server = createServer((req, res) => {
      redirected++;
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/steal`;
    const hops: Array<string | undefined> = [];
    const redirector: Server = createServer((req, res) => {
      hops.push(req.headers.authorization);
      res.writeHead(307, { Location: otherUrl }).end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const tc = makeContext();
    const p = await makeProcessor(
      entry(
        `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/`,
        {},
        { method: 'bearer', secret: { token: 'tOkEn' } },
      ),
      tc,
    );
    const ev = event('VmRemovedEvent');
    await p.process(ev);
    await waitFor('failure counted', async () =>
      (await tc.metrics.registry.metrics()).includes(
        'vmware_event_router_processor_errors_total{processor="knative",subject="VmRemovedEvent"} 1',
      ),
    );
    await p.stop(5000);
    other.closeAllConnections();
    redirector.closeAllConnections();
    await new Promise((r) => other.close(r));
    await new Promise((r) => redirector.close(r));
    expect(hops).toEqual(['Bearer tOkEn']);
    expect(redirected).toBe(0);
    expect(tc.lines.join('\n')).toContain(otherUrl);
  });

  test('connection refused is retried until the receiver is up', async () => {
    const port = receiver.port;
    const url = receiver.url;
    await receiver.close();
    const tc = makeContext();
    const p = await makeProcessor(entry(url, { retries: 1000 }), tc);
    const ev = event();
    await p.process(ev);
    await waitFor('a retry after ECONNREFUSED', async () => (await retried(tc)) > 0);
    const again = await CloudEventsReceiver.start(port);
    receiver = again;
    await waitFor('delivered once up', () => again.received.length === 1);
    await p.stop(5000);
    expect(again.ids).toEqual([ev.id]);
  });
});
