/**
 * `cloudevent_format: vsphere_source` through the knative processor in binary
 * mode: the HTTP request a broker ingress gets is the one VSphereSource's Go
 * CloudEvents client sends (binary mode is that SDK's default): `ce-`
 * headers for type, id, source, time and the eventclass / vsphereapiversion
 * extensions, `Content-Type: application/xml`, and the body Go's
 * encoding/xml.Marshal of the govmomi event (vctool prints it for the same
 * event). Structured mode carries the XML as a JSON string.
 */
import { percentDecodeHeader } from '../../../src/events/binary';
import {
  metricsEntry,
  startRouterInProcess,
  vcenterEntry,
  waitFor,
  type InProcessRouter,
} from '../../helpers/e2e';
import {
  about,
  buildHarness,
  postEvents,
  referenceEvents,
  startSimulator,
  type Simulator,
} from '../../harness/simulator';
import { CloudEventsReceiver } from '../../peers/cloudevents-receiver';

let sim: Simulator;
let binary: CloudEventsReceiver;
let structured: CloudEventsReceiver;
let eventex: CloudEventsReceiver;
let r: InProcessRouter;

beforeAll(async () => {
  buildHarness();
  sim = await startSimulator();
  await about(sim); // vctool's own login predates the router
  binary = await CloudEventsReceiver.start();
  structured = await CloudEventsReceiver.start();
  eventex = await CloudEventsReceiver.start();
  const stream = vcenterEntry(sim);
  r = await startRouterInProcess({
    streams: [{ ...stream, options: { ...stream.options, cloudevent_format: 'vsphere_source' } }],
    processors: [
      {
        type: 'processor',
        provider: 'knative',
        name: 'kn-binary',
        address: binary.url,
        options: { encoding: 'binary' },
      },
      { type: 'processor', provider: 'knative', name: 'kn-structured', address: structured.url },
      // a filter as a Trigger for VSphereSource would write it: on the extension attribute
      {
        type: 'processor',
        provider: 'knative',
        name: 'kn-eventex',
        address: eventex.url,
        filter: { eventclass: ['eventex'] },
      },
    ],
    metrics: metricsEntry(),
  });
  await waitFor('stream and processors ready', async () => (await fetch(`${r.metricsUrl}/readyz`)).ok);
});

afterAll(async () => {
  await r?.stop();
  await binary?.close();
  await structured?.close();
  await eventex?.close();
  await sim?.stop();
});

test('binary mode: ce- headers and the XML body as VSphereSource sends them; structured: the XML as a string', async () => {
  const before = Math.max(0, ...(await referenceEvents(sim)).keys());
  await postEvents(sim, [
    { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
    {
      class: 'EventEx',
      fields: { EventTypeId: 'com.vmware.vc.HA.HostStateChangedEvent', Message: 'a <b> & "c"' },
    },
  ]);
  const refs = await referenceEvents(sim, before);
  const keys = [...refs.keys()].map(String);
  await waitFor('both receivers got the posted events', () =>
    keys.every((k) => binary.ids.includes(k) && structured.ids.includes(k)),
  );
  const eventexKeys = [...refs].filter(([, ref]) => ref.class === 'EventEx').map(([k]) => String(k));
  expect(eventexKeys).toHaveLength(1);
  await waitFor('the filtered processor got the EventEx', () => eventex.ids.includes(eventexKeys[0]));
  const apiVersion = (await about(sim)).ApiVersion;
  for (const [key, ref] of refs) {
    const b = binary.received.find((e) => e.event.id === String(key))!;
    const h = (name: string): string => percentDecodeHeader(String(b.headers[name]));
    const json = ref.json as { CreatedTime: string; EventTypeId?: string };
    const name = ref.class === 'EventEx' ? json.EventTypeId : ref.class;
    expect(b.mode).toBe('binary');
    expect(b.headers['content-type']).toBe('application/xml');
    expect(h('ce-specversion')).toBe('1.0');
    expect(h('ce-id')).toBe(String(key));
    expect(h('ce-type')).toBe(`com.vmware.vsphere.${name}.v0`);
    expect(h('ce-source')).toBe(sim.url);
    expect(h('ce-time')).toBe(json.CreatedTime);
    expect(h('ce-eventclass')).toBe(ref.class === 'EventEx' ? 'eventex' : 'event');
    expect(h('ce-vsphereapiversion')).toBe(apiVersion);
    expect(b.body).toBe(ref.xml);

    const s = structured.received.find((e) => e.event.id === String(key))!;
    const doc = JSON.parse(s.body) as Record<string, unknown>;
    expect(doc.datacontenttype).toBe('application/xml');
    expect(doc.data).toBe(ref.xml);
    expect(doc.eventclass).toBe(h('ce-eventclass'));
    expect(doc.vsphereapiversion).toBe(apiVersion);
  }
  // the filter on eventclass let only the EventEx through: a runner takes the log in order, so the
  // VmPoweredOnEvent posted before it had already been filtered (and counted) when it arrived
  expect(eventex.ids.filter((id) => keys.includes(id))).toEqual(eventexKeys);
  const metrics = await (await fetch(`${r.metricsUrl}/metrics`)).text();
  expect(metrics).toMatch(/processor_filtered_total\{processor="kn-eventex"\} [1-9]/);
});
