/**
 * Issue 15: the webhook stream. CloudEvents POSTed in structured and binary
 * mode reach the processor once each, in order, with their own attributes
 * (`time` exactly as sent, extensions kept); malformed, unauthenticated and
 * oversized requests get 400, 401 (with the realm) and 413, and are counted.
 * A YAML RouterConfig written as v0.7's event-router-config-webhook-knative.yaml
 * (destination as a uri, addresses changed) delivers what its JSON-array twin
 * delivers. The real router runs in a child process.
 */
import { percentEncodeHeader } from '../../src/events/binary';
import { startRouterProcess, waitFor, type RouterProcess } from '../helpers/e2e';
import { CloudEventsReceiver } from '../peers/cloudevents-receiver';

const USER = 'webhook-user';
const PASS = 'webhook-pass-8c2e';
const AUTH = 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');

function webhookUrl(router: RouterProcess, path = '/webhook'): string {
  const m = /webhook stream listening .*address=[^\s]*:(\d+)/.exec(router.stderr());
  if (!m) throw new Error('webhook stream not listening');
  return `http://127.0.0.1:${m[1]}${path}`;
}

async function startWith(config: unknown): Promise<{ router: RouterProcess; url: string }> {
  const router = await startRouterProcess(config);
  await waitFor('the webhook stream', () => /webhook stream listening/.test(router.stderr()));
  return { router, url: webhookUrl(router) };
}

interface Sent {
  id: string;
  time: string;
  data: { n: number; text: string };
  mode: 'structured' | 'binary';
}

/** Event i: modes alternate; times keep nanoseconds; each carries an extension. */
function sent(i: number): Sent {
  return {
    id: `ev-${i}`,
    time: `2026-03-04T05:06:07.${String(i).padStart(9, '0')}Z`,
    data: { n: i, text: `äöü "${i}" <&>` },
    mode: i % 2 === 0 ? 'structured' : 'binary',
  };
}

async function post(url: string, e: Sent, auth = AUTH): Promise<number> {
  const attrs = {
    specversion: '1.0',
    id: e.id,
    source: '/test/webhook',
    type: 'com.example.test',
    time: e.time,
  };
  const res =
    e.mode === 'structured'
      ? await fetch(url, {
          method: 'POST',
          headers: { Authorization: auth, 'Content-Type': 'application/cloudevents+json' },
          body: JSON.stringify({
            ...attrs,
            myext: `x${e.data.n}`,
            datacontenttype: 'application/json',
            data: e.data,
          }),
        })
      : await fetch(url, {
          method: 'POST',
          headers: {
            Authorization: auth,
            'Content-Type': 'application/json',
            'ce-myext': `x${e.data.n}`,
            ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`ce-${k}`, percentEncodeHeader(v)])),
          },
          body: JSON.stringify(e.data),
        });
  await res.arrayBuffer();
  return res.status;
}

const metricsEntry = {
  type: 'metrics',
  provider: 'internal',
  address: '127.0.0.1:0',
  auth: { method: 'none' },
};
const webhookEntry = {
  type: 'stream',
  provider: 'webhook',
  address: '127.0.0.1:0',
  auth: { method: 'basic_auth', secret: { username: USER, password: PASS } },
};

describe('webhook -> stdout', () => {
  let router: RouterProcess;
  let url: string;

  beforeAll(async () => {
    ({ router, url } = await startWith([
      webhookEntry,
      { type: 'processor', provider: 'stdout' },
      metricsEntry,
    ]));
  });
  afterAll(async () => router?.stop());

  it('1,000 events in both modes reach the processor once each, in order, with their own attributes', async () => {
    const events = Array.from({ length: 1000 }, (_, i) => sent(i));
    for (const e of events) expect(await post(url, e)).toBe(202);
    await waitFor('1,000 events on stdout', () => router.stdoutLines.length >= 1000);
    const out = router.events();
    expect(out).toHaveLength(1000);
    expect(out.map((e) => e.id)).toEqual(events.map((e) => e.id));
    out.forEach((got, i) => {
      expect(got).toMatchObject({
        specversion: '1.0',
        source: '/test/webhook',
        type: 'com.example.test',
        time: events[i].time,
        myext: `x${i}`,
        data: events[i].data,
      });
    });
  });

  it('malformed 400, unauthenticated 401 with the realm, oversized 413: each counted, nothing appended', async () => {
    const before = router.stdoutLines.length;
    const bad = async (init: RequestInit): Promise<Response> => {
      const res = await fetch(url, { method: 'POST', ...init });
      await res.arrayBuffer();
      return res;
    };
    const structured = { Authorization: AUTH, 'Content-Type': 'application/cloudevents+json' };
    expect((await bad({ headers: structured, body: '{"specversion":"1.0"' })).status).toBe(400);
    expect(
      (await bad({ headers: structured, body: '{"specversion":"1.0","source":"/x","type":"t"}' })).status,
    ).toBe(400);
    expect(
      (await bad({ headers: { Authorization: AUTH, 'Content-Type': 'text/plain' }, body: 'hello' })).status,
    ).toBe(400);
    expect(
      (await bad({ headers: { ...structured, 'Content-Type': 'application/cloudevents+json' }, body: '[1]' }))
        .status,
    ).toBe(400);
    const unauth = await bad({
      headers: { ...structured, Authorization: 'Basic ' + btoa(`${USER}:wrong`) },
      body: '{}',
    });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('www-authenticate')).toBe('Basic realm="Restricted"');
    expect(
      (await bad({ headers: { 'Content-Type': 'application/cloudevents+json' }, body: '{}' })).status,
    ).toBe(401);
    const huge = JSON.stringify({
      ...sent(0),
      specversion: '1.0',
      source: '/x',
      type: 't',
      pad: 'a'.repeat(1_100_000),
    });
    expect((await bad({ headers: structured, body: huge })).status).toBe(413);
    const text = await (await fetch(`${router.metricsUrl}/metrics`)).text();
    const count = (code: number): number =>
      Number(
        new RegExp(
          `vmware_event_router_stream_webhook_requests_total\\{stream="webhook",code="${code}"\\} (\\d+)`,
        ).exec(text)?.[1] ?? 0,
      );
    expect(count(400)).toBe(4);
    expect(count(401)).toBe(2);
    expect(count(413)).toBe(1);
    expect(count(202)).toBe(1000);
    expect(router.stdoutLines.length).toBe(before);
  });
});

const YAML_WEBHOOK_KNATIVE = (receiverUrl: string): string => `apiVersion: event-router.vmware.com/v1alpha1
kind: RouterConfig
metadata:
  name: router-config-knative
  labels:
    key: value
eventProvider:
  type: webhook
  name: veba-demo-webhook
  webhook:
    bindAddress: 127.0.0.1:0
    path: /webhook
    auth:
      type: basic_auth
      basicAuth:
        username: ${USER}
        password: ${PASS}
eventProcessor:
  name: veba-demo-knative
  type: knative
  knative:
    encoding: binary
    insecureSSL: false
    destination:
      uri: ${receiverUrl}
metricsProvider:
  type: default
  name: veba-demo-metrics
  default:
    bindAddress: "127.0.0.1:0"
`;

describe('webhook -> knative: the YAML RouterConfig delivers what its JSON-array twin delivers', () => {
  it('the same 200 events, each once, same attributes and data', async () => {
    const rx = [await CloudEventsReceiver.start(), await CloudEventsReceiver.start()];
    const routers: RouterProcess[] = [];
    try {
      const yaml = await startWith(YAML_WEBHOOK_KNATIVE(rx[0].url));
      routers.push(yaml.router);
      const twin = await startWith([
        { ...webhookEntry, name: 'veba-demo-webhook', options: { path: '/webhook' } },
        {
          type: 'processor',
          provider: 'knative',
          name: 'veba-demo-knative',
          address: rx[1].url,
          auth: { method: 'none' },
          options: { encoding: 'binary', insecure: false },
        },
        metricsEntry,
      ]);
      routers.push(twin.router);
      const events = Array.from({ length: 200 }, (_, i) => sent(i));
      for (const e of events) {
        expect(await post(yaml.url, e)).toBe(202);
        expect(await post(twin.url, e)).toBe(202);
      }
      await waitFor('both receivers have 200', () => rx.every((r) => r.received.length >= 200));
      const view = (r: CloudEventsReceiver): unknown[] =>
        r.received
          .map(({ headers, body, mode }) => ({
            id: headers['ce-id'],
            time: headers['ce-time'],
            myext: headers['ce-myext'],
            type: headers['ce-type'],
            source: headers['ce-source'],
            body,
            mode,
          }))
          .sort((a, b) => String(a.id).localeCompare(String(b.id)));
      const a = view(rx[0]);
      expect(a).toHaveLength(200);
      expect(new Set(a.map((e) => (e as { id: string }).id)).size).toBe(200);
      expect(a).toEqual(view(rx[1]));
      const first = a.find((e) => (e as { id: string }).id === 'ev-7') as Record<string, unknown>;
      expect(first).toMatchObject({ time: sent(7).time, myext: 'x7', mode: 'binary' });
      expect(JSON.parse(first.body as string)).toEqual(sent(7).data);
    } finally {
      for (const r of routers) await r.stop();
      for (const r of rx) await r.close();
    }
  });
});
