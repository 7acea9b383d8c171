/**
 * Parity with govmomi on a live simulator: events are posted to the govmomi
 * simulator (test/harness), the raw SOAP reply of RetrievePropertiesEx for an
 * EventHistoryCollector's latestPage is fetched with plain HTTP, every event
 * in it is converted with convertEvent, and each `data` must equal (keys in
 * the same order) what govmomi's json.Marshal prints for the same key
 * (`vctool events`).
 */
import {
  fillEvents,
  postEvents,
  referenceEvents,
  startSimulator,
  vmOp,
  type Simulator,
} from '../../harness/simulator';
import { find, parseXml, parseXmlFast, type XmlElement } from '../../../src/stream/vcenter/vim25/xml';
import { convertEvent } from '../../../src/stream/vcenter/vim25/convert';
import { isSubtypeOf, resolveTypeName } from '../../../src/stream/vcenter/vim25/model';
import { stringifyExact } from '../../../src/util/exact-json';
import { canonicalJson } from '../../helpers/exact-json';

const ENV_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const ENV_CLOSE = '</soapenv:Body></soapenv:Envelope>';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

class RawSoap {
  private cookie = '';
  constructor(private readonly url: string) {}

  lastText = '';

  async call(body: string): Promise<XmlElement> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        SOAPAction: 'urn:vim25/6.5',
        ...(this.cookie ? { Cookie: this.cookie } : {}),
      },
      body: ENV_OPEN + body + ENV_CLOSE,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`SOAP ${res.status}: ${text.slice(0, 500)}`);
    const set = res.headers.get('set-cookie');
    const m = set ? /vmware_soap_session=("[^"]*"|[^;]*)/.exec(set) : null;
    if (m) this.cookie = `vmware_soap_session=${m[1]}`;
    this.lastText = text;
    return parseXml(text);
  }
}

/** Raw SOAP: Login, collector over the root folder, RetrievePropertiesEx(latestPage). */
async function latestPageEvents(sim: Simulator): Promise<{ els: XmlElement[]; fast: XmlElement[] }> {
  const soap = new RawSoap(sim.url);
  const sc = await soap.call(
    '<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>',
  );
  const ref = (name: string): XmlElement => {
    const e = find(sc, name);
    if (!e) throw new Error(`no ${name} in ServiceContent`);
    return e;
  };
  const sessionManager = ref('sessionManager');
  const root = ref('rootFolder');
  const eventManager = ref('eventManager');
  const pc = ref('propertyCollector');
  const mo = (tag: string, e: XmlElement) => `<${tag} type="${e.attrs.type}">${esc(e.text)}</${tag}>`;
  await soap.call(
    `<Login xmlns="urn:vim25">${mo('_this', sessionManager)}<userName>${esc(sim.username)}</userName>` +
      `<password>${esc(sim.password)}</password></Login>`,
  );
  const created = await soap.call(
    `<CreateCollectorForEvents xmlns="urn:vim25">${mo('_this', eventManager)}<filter><entity>${mo('entity', root)}` +
      '<recursion>all</recursion></entity><maxCount>1000</maxCount></filter></CreateCollectorForEvents>',
  );
  const collector = find(created, 'returnval')!;
  try {
    const reply = await soap.call(
      `<RetrievePropertiesEx xmlns="urn:vim25">${mo('_this', pc)}<specSet><propSet><type>EventHistoryCollector</type>` +
        `<pathSet>latestPage</pathSet></propSet><objectSet>${mo('obj', collector)}</objectSet></specSet><options></options>` +
        '</RetrievePropertiesEx>',
    );
    const val = find(reply, 'val');
    if (!val) throw new Error('no latestPage value in the reply');
    return { els: val.children, fast: find(parseXmlFast(soap.lastText), 'val')!.children };
  } finally {
    await soap.call(`<DestroyCollector xmlns="urn:vim25">${mo('_this', collector)}</DestroyCollector>`);
  }
}

describe('convertEvent parity with govmomi on the simulator', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('converts every latestPage event exactly like govmomi json.Marshal', async () => {
    const vm = 'DC0_H0_VM0';
    const tricky = 'café "q" \'a\' <b> & 日本 ✓ 😀 tab\there\nnewline\r\nend';
    await postEvents(sim, [
      { class: 'VmPoweredOnEvent', entities: `vm:${vm}` },
      {
        class: 'VmReconfiguredEvent',
        entities: `vm:${vm}`,
        fields: { ConfigSpec: { Name: 'x', NumCPUs: 4, MemoryMB: 2048, Annotation: tricky } },
      },
      {
        class: 'ExtendedEvent',
        fields: {
          EventTypeId: 'com.vmware.applmgmt.backup.job.failed.event',
          ManagedObject: { Type: 'Folder', Value: 'group-d1' },
          Data: [
            { Key: 'reason', Value: tricky },
            { Key: 'empty', Value: '' },
          ],
          Message: 'backup failed',
        },
      },
      {
        class: 'AlarmStatusChangedEvent',
        entities: `vm:${vm}`,
        fields: {
          Alarm: { Name: 'Host CPU', Alarm: { Type: 'Alarm', Value: 'alarm-1' } },
          Source: { Name: 'Datacenters', Entity: { Type: 'Folder', Value: 'group-d1' } },
          Entity: { Name: vm, Entity: { Type: 'VirtualMachine', Value: 'vm-57' } },
          From: 'green',
          To: 'red',
          FullFormattedMessage: `Alarm 'Host CPU' changed from Green to Red ${tricky}`,
        },
      },
      {
        class: 'UserLoginSessionEvent',
        fields: { IpAddress: '10.1.2.3', UserAgent: tricky, Locale: 'en', SessionId: 'abc' },
      },
      {
        class: 'VmBeingCreatedEvent',
        entities: `vm:${vm}`,
        fields: { ConfigSpec: { Name: 'new-vm', NumCPUs: 2, MemoryMB: 1024, Annotation: 'created' } },
      },
      {
        class: 'EventEx',
        fields: {
          EventTypeId: 'com.vmware.vc.example',
          Severity: 'warning',
          Message: tricky,
          ObjectId: 'vm-57',
          ObjectType: 'VirtualMachine',
          ObjectName: vm,
          Arguments: [
            { Key: 'k', Value: 5 },
            { Key: 's', Value: tricky },
            { Key: 'neg', Value: -2147483648 },
          ],
        },
      },
      { class: 'HostConnectionLostEvent' },
      { class: 'GeneralUserEvent', fields: { Message: tricky } },
    ]);
    await vmOp(sim, 'create', 'parity-vm');
    await vmOp(sim, 'poweron', 'parity-vm');
    await vmOp(sim, 'reconfigure', 'parity-vm', { cpus: 2, memoryMB: 512, annotation: tricky });
    await vmOp(sim, 'poweroff', 'parity-vm');
    await vmOp(sim, 'destroy', 'parity-vm');

    const { els, fast } = await latestPageEvents(sim);
    expect(fast.length).toBe(els.length);
    fast.forEach((el, i) => expect(convertEvent(el)).toEqual(convertEvent(els[i])));
    const ref = await referenceEvents(sim);
    const mine = new Map<number, ReturnType<typeof convertEvent>>();
    for (const el of els) {
      const ev = convertEvent(el);
      expect(ev.known).toBe(true);
      mine.set(ev.key, ev);
    }
    expect(ref.size).toBeGreaterThan(30);
    const classes = new Set<string>();
    for (const [key, want] of ref) {
      const got = mine.get(key);
      expect(got).toBeDefined();
      expect(got!.className).toBe(want.class);
      expect(got!.data).toEqual(want.json);
      // byte-level: same keys in the same order, same values (Go escapes <>& as \u003c..., JSON.parse undoes it)
      expect(JSON.stringify(got!.data)).toBe(JSON.stringify(JSON.parse(want.raw)));
      classes.add(want.class);
    }
    // the tricky text went through XML character references and back
    const ex = [...mine.values()].find((e) => e.className === 'EventEx')!;
    expect(ex.data.Message).toBe(tricky);
    if (process.env.VIM25_PARITY_VERBOSE) console.log(ref.size, [...classes].sort().join(' '));
    for (const c of [
      'VmReconfiguredEvent',
      'EventEx',
      'ExtendedEvent',
      'AlarmStatusChangedEvent',
      'VmCreatedEvent',
    ]) {
      expect(classes.has(c)).toBe(true);
    }
  });

  it('converts fault subclasses (LocalizedMethodFault, every MethodFault shape) exactly like govmomi, int64 digits included', async () => {
    // Every event class that carries a LocalizedMethodFault, filled from two seeds: the fault
    // (and its faultCause chain) of a concrete MethodFault subclass chosen by the seed.
    const faultClasses = [
      'AlarmEmailFailedEvent',
      'AlarmScriptFailedEvent',
      'AlarmSnmpFailedEvent',
      'EventEx',
      'HostSyncFailedEvent',
      'MigrationErrorEvent',
      'MigrationHostErrorEvent',
      'MigrationHostWarningEvent',
      'MigrationResourceErrorEvent',
      'MigrationResourceWarningEvent',
      'MigrationWarningEvent',
      'ScheduledTaskEmailFailedEvent',
      'ScheduledTaskFailedEvent',
      'TaskEvent',
      'VmDiskFailedEvent',
      'VmFailedRelayoutEvent',
      'VmFailedToPowerOffEvent',
      'VmFailedToPowerOnEvent',
      'VmFailedToRebootGuestEvent',
      'VmFailedToResetEvent',
      'VmFailedToShutdownGuestEvent',
      'VmFailedToStandbyGuestEvent',
      'VmFailoverFailed',
      'VmRelocateFailedEvent',
    ];
    const wanted = new Map<number, { class: string; json: string }>();
    const chosen = new Set<string>();
    // 25 fillings of these 24 classes: a few hundred fault values
    for (let seed = 100; seed < 125; seed++) {
      const r = await fillEvents(sim, seed, faultClasses);
      expect(r.rejected).toEqual([]);
      expect(r.missing).toEqual([]);
      for (const e of r.events) wanted.set(e.key, e);
      for (const t of r.chosen.BaseMethodFault ?? []) chosen.add(t);
    }
    const { els, fast } = await latestPageEvents(sim);
    expect(fast.length).toBe(els.length);

    // the wire carried fault values of many MethodFault subclasses, each one known to the model
    const faultTypes = new Set<string>();
    const walk = (el: XmlElement): void => {
      const t = el.attrs['xsi:type'] ?? Object.entries(el.attrs).find(([k]) => k.endsWith(':type'))?.[1];
      if (el.name === 'fault' && t !== undefined) faultTypes.add(t);
      el.children.forEach(walk);
    };
    els.forEach(walk);
    expect(faultTypes.size).toBeGreaterThan(100);
    for (const t of faultTypes) {
      const resolved = resolveTypeName(t);
      expect([t, resolved !== undefined && isSubtypeOf(resolved, 'MethodFault')]).toEqual([t, true]);
    }
    expect(chosen.size).toBeGreaterThan(100);

    let compared = 0;
    for (let i = 0; i < els.length; i++) {
      const ev = convertEvent(els[i]);
      const want = wanted.get(ev.key);
      if (!want) continue;
      expect(ev.known).toBe(true);
      expect(ev.className).toBe(want.class);
      expect(convertEvent(fast[i])).toEqual(ev);
      expect([ev.key, stringifyExact(ev.data, ev.data)]).toEqual([ev.key, canonicalJson(want.json)]);
      compared++;
    }
    expect(compared).toBe(wanted.size);
  });
});
