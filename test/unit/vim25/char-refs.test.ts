/**
 * Character references are decoded once, by the XML parser: `&#65;` is "A",
 * but an escaped `&amp;#65;` is the literal text "&#65;" (as govmomi reads it).
 */
import { convertEvent } from '../../../src/stream/vcenter/vim25/convert';
import { parseXml, parseXmlFast } from '../../../src/stream/vcenter/vim25/xml';

const xml =
  '<Event xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="VmPoweredOnEvent"><key>1</key><chainId>1</chainId>' +
  '<createdTime>2026-01-01T00:00:00Z</createdTime><userName>u</userName>' +
  '<fullFormattedMessage>&#65;&amp;#66;&#x1F600;&#9;&lt;&quot;</fullFormattedMessage><template>false</template></Event>';

test.each([
  ['parseXml', parseXml],
  ['parseXmlFast', parseXmlFast],
])('%s decodes character references exactly once', (_name, parse) => {
  const ev = convertEvent(parse(xml));
  expect(ev.data.FullFormattedMessage).toBe('A&#66;😀\t<"');
});
