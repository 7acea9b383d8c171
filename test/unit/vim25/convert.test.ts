import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseXml, parseXmlFast, type XmlElement } from '../../../src/stream/vcenter/vim25/xml';
import { convertEvent, convertValue, formatTime } from '../../../src/stream/vcenter/vim25/convert';

const FIX = path.join(__dirname, 'fixtures');

function returnvals(xml: string, parse = parseXml): XmlElement[] {
  return parse(xml).children.filter((c) => c.name === 'returnval');
}

/** Deep equality including key order (what encoding/json prints). */
function expectSameJson(actual: unknown, expected: unknown): void {
  expect(actual).toEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

describe.each([
  ['parseXml', parseXml],
  ['parseXmlFast', parseXmlFast],
])('convertEvent against govmomi json.Marshal (fixtures/events.xml, %s)', (_name, parse) => {
  const els = returnvals(fs.readFileSync(path.join(FIX, 'events.xml'), 'utf8'), parse);
  const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'events.govmomi.json'), 'utf8')) as (Record<
    string,
    unknown
  > | null)[];

  it('has one govmomi reference per event', () => {
    expect(els.length).toBe(expected.length);
  });

  els.forEach((el, i) => {
    it(`${el.attrs['xsi:type']} #${i}`, () => {
      const ev = convertEvent(el);
      expect(ev.known).toBe(true);
      const want = expected[i]!;
      // An unknown xsi:type nested in a known event: govmomi drops it to null,
      // we convert it generically (see convert.ts); compare everything else.
      if (el.attrs['xsi:type'] === 'VmReconfiguredEvent') {
        const spec = (ev.data.ConfigSpec as { DeviceChange: { Device: unknown }[] }).DeviceChange;
        expect(spec[2].Device).toEqual({
          Key: 9000,
          DeviceInfo: null,
          Backing: null,
          Connectable: null,
          SlotInfo: null,
          ControllerKey: 0,
          UnitNumber: null,
          ShinyNewProp: 'x',
        });
        spec[2].Device = null;
      }
      expectSameJson(ev.data, want);
      expect(ev.key).toBe(want.Key);
      expect(ev.chainId).toBe(want.ChainId);
      expect(ev.createdTime).toBe(want.CreatedTime);
      if ('EventTypeId' in want) expect(ev.eventTypeId).toBe(want.EventTypeId);
    });
  });

  it('strips the vim25: prefix from the class name', () => {
    expect(convertEvent(els[1]).className).toBe('VmPoweredOffEvent');
    const alias = els.find((e) => e.attrs['xsi:type'] === 'HostSubSpecificationUpdateEvent')!;
    const ev = convertEvent(alias);
    expect(ev.className).toBe('HostSubSpecificationUpdateEvent');
    expect(ev.known).toBe(true);
  });

  it('exposes eventTypeId for EventEx and ExtendedEvent', () => {
    expect(convertEvent(els[2]).eventTypeId).toBe('com.vmware.applmgmt.backup.job.failed.event');
    expect(convertEvent(els[3]).eventTypeId).toBe('com.example.ext.event');
    expect(convertEvent(els[0]).eventTypeId).toBeUndefined();
  });
});

describe('unknown event class', () => {
  const xml = `<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<returnval xsi:type="FancyNewVmEvent"><key>77</key><chainId>70</chainId><createdTime>2023-01-01T00:00:00.500Z</createdTime><userName>bob</userName><vm><name>vm9</name><vm type="VirtualMachine">vm-9</vm></vm><fullFormattedMessage>new &amp; shiny</fullFormattedMessage><template>false</template><count xsi:type="xsd:int">3</count><target type="HostSystem">host-3</target><tag>a</tag><tag>b</tag><detail><reason>r</reason><level>2</level></detail></returnval></r>`;
  const ev = convertEvent(returnvals(xml)[0]);

  it('is delivered with known=false and typed Event base fields first', () => {
    expect(ev.known).toBe(false);
    expect(ev.className).toBe('FancyNewVmEvent');
    expect(ev.key).toBe(77);
    expect(ev.chainId).toBe(70);
    expect(ev.createdTime).toBe('2023-01-01T00:00:00.5Z');
    expectSameJson(ev.data, {
      Key: 77,
      ChainId: 70,
      CreatedTime: '2023-01-01T00:00:00.5Z',
      UserName: 'bob',
      Datacenter: null,
      ComputeResource: null,
      Host: null,
      Vm: { Name: 'vm9', Vm: { Type: 'VirtualMachine', Value: 'vm-9' } },
      Ds: null,
      Net: null,
      Dvs: null,
      FullFormattedMessage: 'new & shiny',
      ChangeTag: '',
      // the rest: generic, document order, first letter upper-cased
      Template: 'false',
      Count: 3,
      Target: { Type: 'HostSystem', Value: 'host-3' },
      Tag: ['a', 'b'],
      Detail: { Reason: 'r', Level: '2' },
    });
  });

  it('has no xsi:type at all: plain Event', () => {
    const e = convertEvent(
      returnvals(
        '<r><returnval><key>1</key><chainId>1</chainId><createdTime>2023-01-01T00:00:00Z</createdTime></returnval></r>',
      )[0],
    );
    expect(e.className).toBe('Event');
    expect(e.known).toBe(true);
    expect(e.data.UserName).toBe('');
  });
});

describe('convertValue', () => {
  it('converts nested types, honouring xsi:type', () => {
    const el = parseXml(
      '<fault xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="InvalidArgument"><invalidProperty>p</invalidProperty></fault>',
    );
    expectSameJson(convertValue(el, 'MethodFault'), {
      FaultCause: null,
      FaultMessage: null,
      InvalidProperty: 'p',
    });
    expect(convertValue(parseXml('<x type="VirtualMachine">vm-1</x>'), 'ManagedObjectReference')).toEqual({
      Type: 'VirtualMachine',
      Value: 'vm-1',
    });
    expect(convertValue(parseXml('<x>poweredOff</x>'), 'VirtualMachinePowerState')).toBe('poweredOff');
    expect(convertValue(parseXml('<x>42</x>'), 'int32')).toBe(42);
  });

  it('fills zero values for absent non-pointer structs', () => {
    expectSameJson(convertValue(parseXml('<x/>'), 'HostEventArgument'), {
      Name: '',
      Host: { Type: '', Value: '' },
    });
  });
});

describe('formatTime (Go RFC3339Nano)', () => {
  it.each([
    ['2020-02-11T21:28:23.677595Z', '2020-02-11T21:28:23.677595Z'],
    ['2020-02-11T21:28:23.000Z', '2020-02-11T21:28:23Z'],
    ['2020-02-11T21:28:23.1234567891Z', '2020-02-11T21:28:23.123456789Z'],
    ['2020-02-11T21:28:23+00:00', '2020-02-11T21:28:23Z'],
    ['2020-02-11T21:28:23.50-05:00', '2020-02-11T21:28:23.5-05:00'],
  ])('%s -> %s', (input, want) => {
    expect(formatTime(input)).toBe(want);
  });
});

describe('parseXmlFast', () => {
  it('builds the same tree as parseXml (character references decoded)', () => {
    const x = fs.readFileSync(path.join(FIX, 'events.xml'), 'utf8');
    const a = parseXml(x.replace(/&#233;/g, 'é').replace(/&#x1F600;/g, '😀'));
    expect(parseXmlFast(x)).toEqual(a);
  });

  it('handles declarations, comments, CDATA, quotes and entities', () => {
    const el = parseXmlFast(
      `<?xml version="1.0"?><!-- c --><s:Envelope xmlns:s="x"><a k='v "q"' xsi:type="xsd:int">1&amp;#65;&#65;&#x42;<![CDATA[<raw>&amp;]]></a><b/></s:Envelope>`,
    );
    expect(el.name).toBe('Envelope');
    expect(el.children[0]).toEqual({
      name: 'a',
      attrs: { k: 'v "q"', 'xsi:type': 'xsd:int' },
      children: [],
      text: '1&#65;AB<raw>&amp;',
    });
    expect(el.children[1]).toEqual({ name: 'b', attrs: {}, children: [], text: '' });
  });

  it('rejects malformed XML', () => {
    expect(() => parseXmlFast('<a><b></a>')).toThrow(/mismatched/);
    expect(() => parseXmlFast('<a>')).toThrow(/unclosed/);
    expect(() => parseXmlFast('')).toThrow(/no root/);
  });
});
