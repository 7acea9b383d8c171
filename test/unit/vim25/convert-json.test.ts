/**
 * The VI/JSON reader gives the same `data` as the SOAP reader for the same
 * event: each case is one event written both ways, as vCenter's SOAP and
 * VI/JSON endpoints write it (VI/JSON: govmomi's vim25/json codec rules, see
 * convert-json.ts), and the two conversions must print identically.
 */
import { parseXml } from '../../../src/stream/vcenter/vim25/xml';
import { convertEvent } from '../../../src/stream/vcenter/vim25/convert';
import {
  convertJsonEvent,
  parseViJson,
  type JsonObject,
} from '../../../src/stream/vcenter/vim25/convert-json';
import { stringifyExact } from '../../../src/util/exact-json';
import { marshalEventXml } from '../../../src/stream/vcenter/vim25/go-xml';
import { elementOfViJson } from '../../../src/stream/vcenter/vim25/vijson-element';
import { cases, SOAP_NS } from './both-ways';

function viaSoap(xml: string): string {
  const ev = convertEvent(parseXml(`<r ${SOAP_NS}>${xml}</r>`).children[0]);
  return stringifyExact(ev.data, ev.data);
}

function viaJson(json: string): string {
  const ev = convertJsonEvent(parseViJson(json) as JsonObject);
  return stringifyExact(ev.data, ev.data);
}

describe.each(cases)('%s', (_name, xml, json) => {
  it('converts to the same data over VI/JSON as over SOAP', () => {
    expect(viaJson(json)).toBe(viaSoap(xml));
  });

  it("gives the same Go xml.Marshal (vsphere_source's XML data) over VI/JSON as over SOAP", () => {
    const el = parseXml(`<r ${SOAP_NS}>${xml}</r>`).children[0];
    const className = el.attrs['xsi:type'];
    expect(marshalEventXml(elementOfViJson(parseViJson(json) as JsonObject), className)).toBe(
      marshalEventXml(el, className),
    );
  });
});

describe('parseViJson', () => {
  it('keeps the digits of integers beyond 2^53 and leaves other replies to JSON.parse', () => {
    const ev = convertJsonEvent(
      parseViJson(
        '{"_typeName":"EventEx","key":1,"chainId":1,"createdTime":"2026-01-02T03:04:05Z","arguments":[{"_typeName":"KeyAnyValue","key":"n","value":{"_typeName":"long","_value":-9007199254740993}}]}',
      ) as JsonObject,
    );
    expect(stringifyExact(ev.data, ev.data)).toContain('"Value":-9007199254740993}');
    expect(parseViJson('{"a":"1234567890123456","b":2}')).toEqual({ a: '1234567890123456', b: 2 });
  });

  it('keeps the digits of the items of an anyType ArrayOfLong (the same text as over SOAP)', () => {
    const xml =
      '<returnval xsi:type="EventEx"><key>1</key><chainId>1</chainId><createdTime>2026-01-02T03:04:05Z</createdTime>' +
      '<arguments><key>n</key><value xsi:type="ArrayOfLong"><long>9223372036854775807</long><long>5</long>' +
      '<long>-9030083459117472695</long></value></arguments></returnval>';
    const json =
      '{"_typeName":"EventEx","key":1,"chainId":1,"createdTime":"2026-01-02T03:04:05Z","arguments":[{"_typeName":"KeyAnyValue","key":"n",' +
      '"value":{"_typeName":"ArrayOfLong","_value":[9223372036854775807,5,-9030083459117472695]}}]}';
    expect(viaJson(json)).toContain('{"Long":[9223372036854775807,5,-9030083459117472695]}');
    expect(viaJson(json)).toBe(viaSoap(xml));
  });

  it('fails on a reply that is not JSON', () => {
    expect(() => parseViJson('<html>')).toThrow(SyntaxError);
  });
});
