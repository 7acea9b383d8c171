import { parseXml } from '../../../src/stream/vcenter/vim25/xml';
import { convertEvent } from '../../../src/stream/vcenter/vim25/convert';
import { cloudEventJson, toCloudEvent } from '../../../src/events/cloudevent';
import { stringifyExact } from '../../../src/util/exact-json';

const XSI =
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"';

test('int64 values beyond 2^53 keep every digit in the CloudEvent JSON, as govmomi prints them', () => {
  const el = parseXml(
    `<returnval ${XSI} xsi:type="VmWwnChangedEvent"><key>7</key><chainId>7</chainId>` +
      '<createdTime>2024-01-01T00:00:00Z</createdTime><userName></userName>' +
      '<oldNodeWwns>9223372036854775807</oldNodeWwns><oldNodeWwns>-9223372036854775808</oldNodeWwns>' +
      '<oldNodeWwns>+0009007199254740993</oldNodeWwns><oldPortWwns>42</oldPortWwns></returnval>',
  );
  const ev = convertEvent(el);
  // in memory: plain (rounded) numbers, as JSON.parse would give them
  expect(ev.data.OldNodeWwns).toEqual([2 ** 63, -(2 ** 63), 2 ** 53]);
  const text = cloudEventJson(toCloudEvent(ev, 'http://vc/sdk', 'dbed6e0c-bd88-4ef6-b594-21283e1c677f'));
  expect(text).toContain(
    '"OldNodeWwns":[9223372036854775807,-9223372036854775808,9007199254740993],"OldPortWwns":[42]',
  );
  expect(JSON.parse(text)).toBeDefined();
});

test('anyType xsd:long values keep their digits; trees without such values print as JSON.stringify does', () => {
  const el = parseXml(
    `<returnval ${XSI} xsi:type="EventEx"><key>8</key><chainId>8</chainId>` +
      '<createdTime>2024-01-01T00:00:00Z</createdTime><userName></userName>' +
      '<arguments><key>n</key><value xsi:type="xsd:long">-1234567890123456789</value></arguments>' +
      '<arguments><key>d</key><value xsi:type="xsd:double">12345678901234567890</value></arguments>' +
      '<eventTypeId>x</eventTypeId></returnval>',
  );
  const ev = convertEvent(el);
  const text = stringifyExact(ev.data, ev.data);
  expect(text).toContain('{"Key":"n","Value":-1234567890123456789}');
  // a double is a float64 in Go too: shortest round-trip digits, like JS
  expect(text).toContain('{"Key":"d","Value":12345678901234567000}');
  const plain = { a: 1, b: [2, 'x'] };
  expect(stringifyExact(plain, plain)).toBe(JSON.stringify(plain));
});
