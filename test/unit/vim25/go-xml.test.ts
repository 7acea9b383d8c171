/**
 * Go encoding/xml rules that the every-class comparison with the simulator
 * (test/e2e/vsphere-source.test.ts) may not reach with its random fillings:
 * float formatting (strconv.FormatFloat 'g', -1), escaping, and anyType
 * values. Expected strings are what Go 1.19 prints for the same values.
 */
import { goEscape, goFormatFloat, marshalEventXml } from '../../../src/stream/vcenter/vim25/go-xml';
import { parseXmlFast } from '../../../src/stream/vcenter/vim25/xml';
import { utcTime } from '../../../src/events/vsphere-source';

test.each([
  [0, 64, '0'],
  [100, 64, '100'],
  [999999, 64, '999999'],
  [1e6, 64, '1e+06'],
  [1234567, 64, '1.234567e+06'],
  [1e22, 64, '1e+22'],
  [-2.5, 64, '-2.5'],
  [0.0001, 64, '0.0001'],
  [0.00001, 64, '1e-05'],
  [5e-8, 64, '5e-08'],
  [0.1 + 0.2, 64, '0.30000000000000004'],
  [Math.fround(0.1), 32, '0.1'],
  [Math.fround(16777217), 32, '1.6777216e+07'],
] as const)('FormatFloat(%p, g, -1, %p) = %p', (f, bits, want) => {
  expect(goFormatFloat(f, bits)).toBe(want);
});

test('escaping as Go EscapeText', () => {
  expect(goEscape(`a"b'c&d<e>f\tg\nh\ri😀`)).toBe('a&#34;b&#39;c&amp;d&lt;e&gt;f&#x9;g&#xA;h&#xD;i😀');
});

test('an EventEx: Go type name as root, zero non-omitempty fields, anyType values without type', () => {
  const el = parseXmlFast(
    '<Event xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xsi:type="EventEx">' +
      '<key>7</key><chainId>7</chainId><createdTime>2026-01-02T03:04:05.120+01:00</createdTime><userName>u</userName>' +
      '<eventTypeId>x.y</eventTypeId>' +
      '<arguments><key>d</key><value xsi:type="xsd:double">1000000</value></arguments>' +
      '<arguments><key>b</key><value xsi:type="xsd:boolean">1</value></arguments>' +
      '<arguments><key>l</key><value xsi:type="xsd:long">+9007199254740993</value></arguments>' +
      '</Event>',
  );
  expect(marshalEventXml(el, 'EventEx')).toBe(
    '<EventEx><key>7</key><chainId>7</chainId><createdTime>2026-01-02T03:04:05.12+01:00</createdTime>' +
      '<userName>u</userName><eventTypeId>x.y</eventTypeId>' +
      '<arguments><key>d</key><value>1e+06</value></arguments>' +
      '<arguments><key>b</key><value>true</value></arguments>' +
      '<arguments><key>l</key><value>9007199254740993</value></arguments></EventEx>',
  );
});

test('the vsphere_source time is in UTC with every fractional digit', () => {
  expect(utcTime('2026-01-02T03:04:05.123456789Z')).toBe('2026-01-02T03:04:05.123456789Z');
  expect(utcTime('2026-01-02T00:04:05.5+01:30')).toBe('2026-01-01T22:34:05.5Z');
  expect(utcTime('2026-12-31T23:00:00-02:00')).toBe('2027-01-01T01:00:00Z');
});
