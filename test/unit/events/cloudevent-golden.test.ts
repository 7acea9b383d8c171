/**
 * The bytes users' functions parse, pinned: for every event class of the
 * vim25 fixtures (and a few edge cases), the structured-mode JSON, the
 * attributes a filter sees, and the binary-mode HTTP message (ce- headers,
 * Content-Type, body), in the router's own format and in the vsphere_source
 * format with both payload encodings. Events a webhook stream accepts
 * (structured and binary mode, extensions, data_base64) and the answers to
 * the malformed ones are pinned the same way.
 *
 * The expected values in fixtures/cloudevents.golden.json were recorded from
 * the router while it built its events with the `cloudevents` package's
 * class; they change only when the wire format is meant to change
 * (`UPDATE_GOLDEN=1 npx jest test/unit/events/cloudevent-golden.test.ts`
 * rewrites them: review the diff).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binaryMessage } from '../../../src/events/binary';
import {
  cloudEventJson,
  cloudEventObject,
  toCloudEvent,
  type SourceEvent,
} from '../../../src/events/cloudevent';
import type { RouterEvent } from '../../../src/events/types';
import { toVSphereSourceCloudEvent } from '../../../src/events/vsphere-source';
import { marshalEventXml } from '../../../src/stream/vcenter/vim25/go-xml';
import { convertEvent } from '../../../src/stream/vcenter/vim25/convert';
import { parseXml, type XmlElement } from '../../../src/stream/vcenter/vim25/xml';
import { WebhookStream } from '../../../src/stream/webhook/webhook-stream';
import { recordExact, markExactRoot } from '../../../src/util/exact-json';
import { percentEncodeHeader } from '../../../src/events/binary';
import { makeContext } from '../../helpers/processor';

const GOLDEN = path.join(__dirname, 'fixtures', 'cloudevents.golden.json');
const FIXTURE_XML = path.join(__dirname, '..', 'vim25', 'fixtures', 'events.xml');

const SOURCE = 'https://vcenter.example.com/sdk';
const INSTANCE_UUID = 'dbed6e0c-bd88-4ef6-b594-21283e1c677f';
const API_VERSION = '8.0.3.0';

/** What a sink or a filter can see of one event. */
interface Rendered {
  json: string;
  filter: string;
  headers: Record<string, string>;
  body: string;
}

function render(ev: RouterEvent): Rendered {
  const { headers, body } = binaryMessage(ev);
  return {
    json: cloudEventJson(ev),
    filter: JSON.stringify(cloudEventObject(ev)),
    headers,
    body: body.toString('base64'),
  };
}

/** The three dialects of one vCenter event. */
function dialects(name: string, ev: SourceEvent, el: XmlElement | undefined): Record<string, Rendered> {
  const out: Record<string, Rendered> = {
    [`${name} router`]: render(toCloudEvent(ev, SOURCE, INSTANCE_UUID)),
    [`${name} vsphere_source application/json`]: render(
      toVSphereSourceCloudEvent(ev, {
        source: SOURCE,
        apiVersion: API_VERSION,
        encoding: 'application/json',
        xml: () => {
          throw new Error('the JSON encoding never marshals XML');
        },
      }),
    ),
  };
  if (el)
    out[`${name} vsphere_source application/xml`] = render(
      toVSphereSourceCloudEvent(ev, {
        source: SOURCE,
        apiVersion: API_VERSION,
        encoding: 'application/xml',
        xml: () => marshalEventXml(el, ev.className),
      }),
    );
  return out;
}

function fixtureEvents(): Record<string, Rendered> {
  const envelope = parseXml(fs.readFileSync(FIXTURE_XML, 'utf8'));
  const out: Record<string, Rendered> = {};
  envelope.children
    .filter((c) => c.name === 'returnval')
    .forEach((el, i) => Object.assign(out, dialects(`fixture #${i}`, convertEvent(el), el)));
  return out;
}

/** Cases the fixtures do not have: a zone offset, empty EventTypeIds, an int64 beyond 2^53. */
function edgeEvents(): Record<string, Rendered> {
  const big: Record<string, unknown> = { Key: 7, ChangeTag: 2 ** 63 };
  recordExact(big, 'ChangeTag', '9223372036854775807');
  markExactRoot(big);
  const events: Array<[string, SourceEvent]> = [
    [
      'offset time',
      {
        className: 'VmPoweredOnEvent',
        key: 41,
        createdTime: '2026-03-04T07:06:07.123456789+02:00',
        data: { Key: 41, Text: 'äöü "x" <&>\u2028' },
      },
    ],
    [
      'EventEx without EventTypeId',
      { className: 'EventEx', key: 42, createdTime: '2026-03-04T05:06:07Z', data: {} },
    ],
    [
      'ExtendedEvent without EventTypeId',
      { className: 'ExtendedEvent', key: 43, createdTime: '2026-03-04T05:06:07.5Z', data: {} },
    ],
    [
      'int64 beyond 2^53',
      { className: 'TaskEvent', key: 7, createdTime: '2026-03-04T05:06:07.000001Z', data: big },
    ],
  ];
  const out: Record<string, Rendered> = {};
  for (const [name, ev] of events) Object.assign(out, dialects(name, ev, undefined));
  return out;
}

interface WebhookRequest {
  headers: Record<string, string>;
  body: string;
}

const ATTRS = { specversion: '1.0', source: '/golden/webhook', type: 'com.example.golden' };
const structured = (event: Record<string, unknown>): WebhookRequest => ({
  headers: { 'Content-Type': 'application/cloudevents+json' },
  body: JSON.stringify(event),
});
const binary = (
  attrs: Record<string, string>,
  contentType: string | undefined,
  body: string,
): WebhookRequest => ({
  headers: {
    ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
    ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`ce-${k}`, percentEncodeHeader(v)])),
  },
  body,
});

const WEBHOOK_REQUESTS: Record<string, WebhookRequest> = {
  'structured, every optional attribute and two extensions': structured({
    ...ATTRS,
    id: 'all',
    myext: 'x',
    time: '2026-03-04T05:06:07.123456789Z',
    subject: 'golden/subject',
    dataschema: 'https://example.com/schema.json',
    datacontenttype: 'application/json',
    zext: 5,
    data: { n: 1, text: 'äöü "1" <&>', nested: [1, { a: null }] },
  }),
  'structured, no datacontenttype': structured({
    ...ATTRS,
    id: 'bare',
    time: '2026-03-04T05:06:07Z',
    data: { n: 2 },
  }),
  'structured, text data': structured({
    ...ATTRS,
    id: 'text',
    time: '2026-03-04T05:06:07+01:00',
    datacontenttype: 'text/plain',
    data: 'plain text',
  }),
  'structured, data_base64': structured({
    ...ATTRS,
    id: 'b64',
    time: '2026-03-04T05:06:07Z',
    datacontenttype: 'application/octet-stream',
    data_base64: Buffer.from('hello binary \u0000\u0001').toString('base64'),
  }),
  'structured, no data': structured({ ...ATTRS, id: 'nodata', time: '2026-03-04T05:06:07Z', myext: true }),
  'binary, JSON body, extension and a percent-encoded subject': binary(
    { ...ATTRS, id: 'bin', time: '2026-03-04T05:06:07.000000001Z', subject: 'ä b%', myext: 'y' },
    'application/json',
    JSON.stringify({ n: 3, text: 'äöü' }),
  ),
  'binary, text body': binary(
    { ...ATTRS, id: 'bintext', time: '2026-03-04T05:06:07Z' },
    'text/plain',
    'some text',
  ),
  'binary, JSON with a charset': binary(
    { ...ATTRS, id: 'charset', time: '2026-03-04T05:06:07Z' },
    'application/json; charset=utf-8',
    '{"n":4}',
  ),
  'binary, empty body': binary({ ...ATTRS, id: 'empty', time: '2026-03-04T05:06:07Z' }, undefined, ''),
  'structured, invalid extension name': structured({ ...ATTRS, id: 'badext', my_ext: 'x' }),
  'structured, extension with an object value': structured({
    ...ATTRS,
    id: 'objext',
    time: '2026-03-04T05:06:07Z',
    myext: { a: 1 },
  }),
  'structured, missing type': structured({ specversion: '1.0', id: 'notype', source: '/x' }),
  'structured, empty subject': structured({
    ...ATTRS,
    id: 'nosubject',
    time: '2026-03-04T05:06:07Z',
    subject: '',
  }),
  'structured, bad time': structured({ ...ATTRS, id: 'badtime', time: 'yesterday' }),
  'structured, specversion 0.3': structured({ ...ATTRS, specversion: '0.3', id: 'v03' }),
  'structured, dataschema not a URI': structured({ ...ATTRS, id: 'schema', dataschema: 'not a uri' }),
  'structured, not JSON': { headers: { 'Content-Type': 'application/cloudevents+json' }, body: '{' },
  batch: { headers: { 'Content-Type': 'application/cloudevents-batch+json' }, body: '[]' },
  'neither mode': { headers: { 'Content-Type': 'application/json' }, body: '{}' },
  'binary, missing source': binary(
    { specversion: '1.0', id: 'nosource', type: 't' },
    'application/json',
    '{}',
  ),
};

/** Each request's answer from a webhook stream, with the event it appended (if it did). */
async function postToWebhook(
  requests: Record<string, WebhookRequest>,
): Promise<Record<string, { answer: string; event?: RouterEvent }>> {
  const { ctx } = makeContext();
  const stream = new WebhookStream(
    { type: 'stream', provider: 'webhook', address: '127.0.0.1:0', auth: { method: 'none' } } as never,
    { path: '/webhook', max_event_bytes: 1048576 },
    ctx,
  );
  const appended: RouterEvent[] = [];
  const running = stream.run(async (event) => {
    appended.push(event);
  });
  while (!stream.ready()) await new Promise((resolve) => setImmediate(resolve));
  const out: Record<string, { answer: string; event?: RouterEvent }> = {};
  try {
    for (const [name, req] of Object.entries(requests)) {
      const before = appended.length;
      const res = await fetch(`http://127.0.0.1:${stream.address!.port}/webhook`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
      });
      out[name] = { answer: `${res.status} ${(await res.text()).trim()}`, event: appended[before] };
    }
  } finally {
    await stream.stop();
    await running;
  }
  return out;
}

async function webhookEvents(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, { answer, event }] of Object.entries(await postToWebhook(WEBHOOK_REQUESTS)))
    out[`webhook ${name}`] = event ? { answer, ...render(event) } : { answer };
  return out;
}

describe('CloudEvent wire format (golden)', () => {
  let actual: Record<string, unknown>;
  let expected: Record<string, unknown>;

  beforeAll(async () => {
    actual = { ...fixtureEvents(), ...edgeEvents(), ...(await webhookEvents()) };
    if (process.env.UPDATE_GOLDEN === '1') {
      fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
      fs.writeFileSync(GOLDEN, JSON.stringify(actual, null, 2) + '\n');
    }
    expected = JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as Record<string, unknown>;
  });

  it('covers the same cases as recorded', () => {
    expect(Object.keys(actual)).toEqual(Object.keys(expected));
  });

  // One test per recorded case (none before the first recording).
  const recorded = fs.existsSync(GOLDEN)
    ? Object.keys(JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as object)
    : [];
  it.each(recorded)('%s', (name) => {
    expect(actual[name]).toEqual(expected[name]);
    // Key order too (JSON members, header order): toEqual ignores it.
    expect(JSON.stringify(actual[name])).toBe(JSON.stringify(expected[name]));
  });
});

it('a webhook event sent without time gets the time it arrived, in milliseconds', async () => {
  const before = new Date().toISOString();
  const { notime } = await postToWebhook({ notime: structured({ ...ATTRS, id: 'notime' }) });
  const after = new Date().toISOString();
  expect(notime.answer).toBe('202 accepted');
  const time = notime.event!.time!;
  expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(time >= before && time <= after).toBe(true);
});
