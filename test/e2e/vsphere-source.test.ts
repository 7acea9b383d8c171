/**
 * `cloudevent_format: vsphere_source`: the compiled router against the
 * simulator gives each event the CloudEvent that VSphereSource
 * (vmware-tanzu/sources-for-knative) would give it. Two routers run side by
 * side: one with VSphereSource's default payload encoding (application/xml),
 * one with `application/json`. The expected CloudEvent of every event is
 * computed here from what vctool reads back with govmomi (its json.Marshal for
 * the fields, and Go's encoding/xml.Marshal of the same event for the XML
 * data), following the adapter's rules; where each rule comes from:
 *
 *  - pkg/vsphere/adapter.go (sendEvents):
 *      ev.SetSource(a.Source)                      source: vClient.URL().String()
 *      ev.SetID(fmt.Sprintf("%d", Key))           id: the event key in decimal
 *      ev.SetType(fmt.Sprintf("com.vmware.vsphere.%s.v0", details.Type))
 *      ev.SetTime(CreatedTime)                    time
 *      ev.SetExtension("eventclass", details.Class)
 *      ev.SetExtension("vsphereapiversion", VAPIVersion)  = ServiceContent.About.ApiVersion
 *      ev.SetData(a.PayloadEncoding, be)          datacontenttype + data
 *  - pkg/vsphere/vsphere.go (getEventDetails): EventEx -> ("eventex", EventTypeId),
 *    ExtendedEvent -> ("extendedevent", EventTypeId), else ("event", Go type name).
 *  - pkg/apis/sources/v1alpha1/vspheresource_defaults.go: payloadEncoding defaults
 *    to application/xml; application/json is the other valid value.
 *  - cloudevents sdk-go v2 datacodec: application/xml data is encoding/xml.Marshal,
 *    application/json data is encoding/json.Marshal.
 *  - govmomi vim25/soap.NewClient removes the user info from the client's URL,
 *    so the source carries no credentials.
 *
 * The router also sets `subject` (documented in docs/vsphere-source.md).
 */
import { canonicalJson } from '../helpers/exact-json';
import {
  metricsEntry,
  startRouterProcess,
  startStack,
  stdoutEntry,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  type Stack,
  routerReady,
} from '../helpers/e2e';
import {
  about,
  fillEvents,
  postEvents,
  referenceEvents,
  runVctool,
  vmOp,
  type ReferenceEvent,
  type Simulator,
} from '../harness/simulator';
import type { ConfigEntry } from '../../src/config/types';

jest.setTimeout(300_000);

function vsphereSourceEntry(sim: Simulator, encoding?: string): ConfigEntry {
  const e = vcenterEntry(sim);
  return {
    ...e,
    options: {
      ...e.options,
      cloudevent_format: 'vsphere_source',
      ...(encoding ? { vsphere_source_payload_encoding: encoding } : {}),
    },
  };
}

let stack: Stack;
let sim: Simulator;
let xmlRouter: RouterProcess;
let jsonRouter: RouterProcess;
let apiVersion: string;

beforeAll(async () => {
  // the default payload encoding: no vsphere_source_payload_encoding given
  stack = await startStack({ stream: (s) => vsphereSourceEntry(s) });
  ({ sim, router: xmlRouter } = stack);
  jsonRouter = await startRouterProcess([
    vsphereSourceEntry(sim, 'application/json'),
    stdoutEntry,
    metricsEntry(),
  ]);
  await routerReady(jsonRouter);
  apiVersion = (await about(sim)).ApiVersion;
});

afterAll(async () => {
  await jsonRouter?.stop();
  await stack?.stop();
});

type Line = Record<string, unknown>;

/** The printed CloudEvents of `keys`, by key (the id is the key). */
async function printed(router: RouterProcess, keys: number[], what: string): Promise<Map<number, Line>> {
  const byKey = new Map<number, Line>();
  const want = new Set(keys.map(String));
  let scanned = 0;
  await waitFor(`${what}: ${keys.length} events printed`, () => {
    for (; scanned < router.stdoutLines.length; scanned++) {
      const line = JSON.parse(router.stdoutLines[scanned]) as Line;
      if (want.has(line.id as string))
        byKey.set(Number(line.id), { ...line, _raw: router.stdoutLines[scanned] });
    }
    return byKey.size === want.size;
  });
  return byKey;
}

/** The attributes VSphereSource gives the event, computed from govmomi's JSON of it. */
function expectedAttributes(ref: ReferenceEvent): Record<string, unknown> {
  const json = ref.json as { Key: number; CreatedTime: string; EventTypeId?: string };
  // vsphere.go getEventDetails: the Go type decides the class; EventEx/ExtendedEvent are named by EventTypeId
  const byTypeId = ref.class === 'EventEx' || ref.class === 'ExtendedEvent';
  const eventclass =
    ref.class === 'EventEx' ? 'eventex' : ref.class === 'ExtendedEvent' ? 'extendedevent' : 'event';
  return {
    specversion: '1.0',
    // adapter.go: fmt.Sprintf("%d", Key)
    id: String(json.Key),
    // adapter.go: vClient.URL().String(), credentials removed by govmomi's soap.NewClient
    source: sim.url,
    // adapter.go eventTypeFormat "com.vmware.vsphere.%s.v0"
    type: `com.vmware.vsphere.${byTypeId ? (json.EventTypeId ?? '') : ref.class}.v0`,
    // adapter.go SetTime(CreatedTime)
    time: json.CreatedTime,
    eventclass,
    // adapter.go VAPIVersion: ServiceContent.About.ApiVersion
    vsphereapiversion: apiVersion,
    // the router's addition: the subject of its own dialect
    subject: byTypeId ? json.EventTypeId || ref.class : ref.class,
  };
}

const ATTRIBUTES = [
  'data',
  'datacontenttype',
  'eventclass',
  'id',
  'source',
  'specversion',
  'subject',
  'time',
  'type',
  'vsphereapiversion',
];

function withoutData(line: Line): Record<string, unknown> {
  const rest = { ...line };
  delete rest.data;
  delete rest.datacontenttype;
  delete rest._raw;
  return rest;
}

/** The `data` member as printed (text between `,"data":` and `,"datacontenttype":`). */
function dataText(raw: string): string {
  const start = raw.indexOf(',"data":');
  const end = raw.lastIndexOf(',"datacontenttype":');
  return raw.slice(start + ',"data":'.length, end);
}

test('the driver mix: type, id, source, extensions, datacontenttype and data as VSphereSource gives them', async () => {
  const before = Math.max(0, ...(await referenceEvents(sim)).keys());
  await postEvents(sim, [
    {
      class: 'EventEx',
      entities: 'vm:DC0_H0_VM0',
      fields: {
        EventTypeId: 'com.vmware.vc.vm.VmStateFailedToRevertToSnapshot',
        Severity: 'warning',
        Message: 'quotes "q" \'a\' <tag> & tab\there\nline',
        Arguments: [
          { Key: 'count', Value: 5 },
          { Key: 'name', Value: 'vm & co' },
        ],
      },
    },
    // EventEx without EventTypeId: getEventDetails names it by the empty EventTypeId
    { class: 'EventEx', fields: { Severity: 'info' } },
    {
      class: 'ExtendedEvent',
      fields: {
        EventTypeId: 'com.vmware.applmgmt.backup.job.failed.event',
        ManagedObject: { Type: 'HostSystem', Value: 'host-21' },
        Data: [{ Key: 'reason', Value: 'disk full' }],
      },
    },
    {
      class: 'AlarmStatusChangedEvent',
      entities: 'vm:DC0_H0_VM0',
      fields: {
        From: 'green',
        To: 'red',
        Alarm: { Name: 'cpu', Alarm: { Type: 'Alarm', Value: 'alarm-7' } },
        Source: { Name: 'Datacenters', Entity: { Type: 'Folder', Value: 'group-d1' } },
      },
    },
  ]);
  // VmStoppingEvent, VmPoweredOffEvent, VmStartingEvent, VmPoweredOnEvent from the simulator itself
  await vmOp(sim, 'poweroff', 'DC0_H0_VM0');
  await vmOp(sim, 'poweron', 'DC0_H0_VM0');
  // a login of its own (UserLoginSessionEvent, then UserLogoutSessionEvent)
  await runVctool(sim, ['about'], undefined, { freshSession: true });

  const refs = await referenceEvents(sim, before);
  const classes = [...refs.values()].map((r) => r.class);
  for (const c of [
    'EventEx',
    'ExtendedEvent',
    'AlarmStatusChangedEvent',
    'VmPoweredOffEvent',
    'VmPoweredOnEvent',
    'UserLoginSessionEvent',
  ])
    expect(classes).toContain(c);
  const keys = [...refs.keys()];
  const xml = await printed(xmlRouter, keys, 'xml router');
  const json = await printed(jsonRouter, keys, 'json router');

  for (const [key, ref] of refs) {
    const want = expectedAttributes(ref);
    const x = xml.get(key)!;
    const j = json.get(key)!;
    // exactly these attributes, no other extension
    expect(
      Object.keys(x)
        .filter((k) => k !== '_raw')
        .sort(),
    ).toEqual(ATTRIBUTES);
    expect(
      Object.keys(j)
        .filter((k) => k !== '_raw')
        .sort(),
    ).toEqual(ATTRIBUTES);
    expect(withoutData(x)).toEqual(want);
    expect(withoutData(j)).toEqual(want);
    // vspheresource_defaults.go: application/xml unless set; sdk-go xml codec = encoding/xml.Marshal
    expect(x.datacontenttype).toBe('application/xml');
    expect(x.data).toBe(ref.xml);
    // payloadEncoding application/json: sdk-go json codec = encoding/json.Marshal (govmomi's JSON)
    expect(j.datacontenttype).toBe('application/json');
    expect(canonicalJson(dataText(j._raw as string))).toBe(canonicalJson(ref.raw));
  }

  // spot checks of the rules on known events, in plain words
  const byClass = (c: string): Line => xml.get([...refs].find(([, r]) => r.class === c)![0])!;
  expect(byClass('VmPoweredOnEvent').type).toBe('com.vmware.vsphere.VmPoweredOnEvent.v0');
  expect(byClass('VmPoweredOnEvent').eventclass).toBe('event');
  expect(byClass('ExtendedEvent').type).toBe(
    'com.vmware.vsphere.com.vmware.applmgmt.backup.job.failed.event.v0',
  );
  expect(byClass('ExtendedEvent').eventclass).toBe('extendedevent');
  const ex = [...refs].filter(([, r]) => r.class === 'EventEx').map(([k]) => xml.get(k)!);
  expect(ex.map((e) => e.type)).toEqual([
    'com.vmware.vsphere.com.vmware.vc.vm.VmStateFailedToRevertToSnapshot.v0',
    'com.vmware.vsphere..v0',
  ]);
  expect(ex[0].eventclass).toBe('eventex');
  expect(byClass('UserLoginSessionEvent').data as string).toMatch(/^<UserLoginSessionEvent><key>/);
  expect(apiVersion).toBe('6.5');
});

test('every Event class, every field filled: XML data equals Go encoding/xml.Marshal byte for byte', async () => {
  const r = await fillEvents(sim, 7);
  expect(r.rejected).toEqual([]);
  expect(r.events.length).toBeGreaterThan(400);
  const keys = r.events.map((e) => e.key);
  const xml = await printed(xmlRouter, keys, 'xml router');
  const json = await printed(jsonRouter, keys, 'json router');
  const differing: string[] = [];
  for (const ev of r.events) {
    const got = xml.get(ev.key)!.data as string;
    if (got !== ev.xml) {
      let i = 0;
      while (i < got.length && got[i] === ev.xml[i]) i++;
      differing.push(
        `${ev.class} (key ${ev.key}) at ${i}:\n  router: ${got.slice(Math.max(0, i - 80), i + 80)}\n  go:     ${ev.xml.slice(Math.max(0, i - 80), i + 80)}`,
      );
    }
    const j = json.get(ev.key)!;
    if (canonicalJson(dataText(j._raw as string)) !== canonicalJson(ev.json))
      differing.push(`${ev.class} (key ${ev.key}): JSON data differs`);
    const byTypeId = ev.class === 'EventEx' || ev.class === 'ExtendedEvent';
    if (!byTypeId) expect(j.type).toBe(`com.vmware.vsphere.${ev.class}.v0`);
  }
  expect(differing).toEqual([]);
});

test('a payload encoding without cloudevent_format vsphere_source is named as ignored, and the router format is kept', async () => {
  const e = vcenterEntry(sim);
  const r = await startRouterProcess([
    { ...e, options: { ...e.options, vsphere_source_payload_encoding: 'application/xml' } },
    stdoutEntry,
    metricsEntry(),
  ]);
  try {
    await routerReady(r);
    const warned = r
      .stderr()
      .split('\n')
      .filter((l) => l.includes('vsphere_source_payload_encoding is ignored'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('cloudevent_format "vsphere_source"');
    await postEvents(sim, [{ class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM1' }]);
    await waitFor('a router-format event printed', () =>
      r.stdoutLines.some((l) => (JSON.parse(l) as Line).type === 'com.vmware.event.router/event'),
    );
  } finally {
    await r.stop();
  }
});
