/**
 * Events written both ways: as vCenter's SOAP endpoint writes them and as its
 * VI/JSON endpoint writes the same event (govmomi's vim25/json codec rules, see
 * src/stream/vcenter/vim25/convert-json.ts): [name, SOAP element, VI/JSON object].
 */
export const SOAP_NS =
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"';

export const cases: [string, string, string][] = [
  [
    'VmPoweredOnEvent with entity references',
    `<returnval xsi:type="VmPoweredOnEvent"><key>42</key><chainId>42</chainId><createdTime>2026-11-21T23:05:40.428605706Z</createdTime><userName>VSPHERE.LOCAL\\Administrator</userName><datacenter><name>DC0</name><datacenter type="Datacenter">datacenter-2</datacenter></datacenter><host><name>DC0_H0</name><host type="HostSystem">host-21</host></host><vm><name>DC0_H0_VM0</name><vm type="VirtualMachine">vm-57</vm></vm><fullFormattedMessage>DC0_H0_VM0 on DC0_H0 in DC0 is powered on</fullFormattedMessage><template>false</template></returnval>`,
    `{"_typeName":"VmPoweredOnEvent","key":42,"chainId":42,"createdTime":"2026-11-21T23:05:40.428605706Z","userName":"VSPHERE.LOCAL\\\\Administrator","datacenter":{"_typeName":"DatacenterEventArgument","name":"DC0","datacenter":{"_typeName":"ManagedObjectReference","type":"Datacenter","value":"datacenter-2"}},"host":{"_typeName":"HostEventArgument","name":"DC0_H0","host":{"_typeName":"ManagedObjectReference","type":"HostSystem","value":"host-21"}},"vm":{"_typeName":"VmEventArgument","name":"DC0_H0_VM0","vm":{"_typeName":"ManagedObjectReference","type":"VirtualMachine","value":"vm-57"}},"fullFormattedMessage":"DC0_H0_VM0 on DC0_H0 in DC0 is powered on","template":false}`,
  ],
  [
    'EventEx with anyType arguments (int, long beyond 2^53, string, ArrayOfString, ArrayOfLong beyond 2^53) and a severity',
    `<returnval xsi:type="EventEx"><key>7</key><chainId>7</chainId><createdTime>2026-01-02T03:04:05.100Z</createdTime><userName></userName><fullFormattedMessage>backup failed</fullFormattedMessage><eventTypeId>com.vmware.applmgmt.backup.job.failed.event</eventTypeId><severity>error</severity><arguments><key>count</key><value xsi:type="xsd:int">3</value></arguments><arguments><key>big</key><value xsi:type="xsd:long">9223372036854775807</value></arguments><arguments><key>who</key><value xsi:type="xsd:string">bob</value></arguments><arguments><key>tags</key><value xsi:type="ArrayOfString"><string>a</string><string>b</string></value></arguments><arguments><key>wwns</key><value xsi:type="ArrayOfLong"><long>251675922307046214</long><long>-9030083459117472695</long><long>7</long></value></arguments></returnval>`,
    `{"_typeName":"EventEx","key":7,"chainId":7,"createdTime":"2026-01-02T03:04:05.1Z","userName":"","fullFormattedMessage":"backup failed","eventTypeId":"com.vmware.applmgmt.backup.job.failed.event","severity":"error","arguments":[{"_typeName":"KeyAnyValue","key":"count","value":{"_typeName":"int","_value":3}},{"_typeName":"KeyAnyValue","key":"big","value":{"_typeName":"long","_value":9223372036854775807}},{"_typeName":"KeyAnyValue","key":"who","value":{"_typeName":"string","_value":"bob"}},{"_typeName":"KeyAnyValue","key":"tags","value":{"_typeName":"ArrayOfString","_value":["a","b"]}},{"_typeName":"KeyAnyValue","key":"wwns","value":{"_typeName":"ArrayOfLong","_value":[251675922307046214,-9030083459117472695,7]}}]}`,
  ],
  [
    'AlarmStatusChangedEvent with enum values and a polymorphic alarm argument',
    `<returnval xsi:type="AlarmStatusChangedEvent"><key>9</key><chainId>9</chainId><createdTime>2026-01-02T03:04:05Z</createdTime><userName>u</userName><fullFormattedMessage>m</fullFormattedMessage><alarm><name>cpu</name><alarm type="Alarm">alarm-1</alarm></alarm><source><name>root</name><entity type="Folder">group-d1</entity></source><entity><name>vm</name><entity type="VirtualMachine">vm-1</entity></entity><from>green</from><to>red</to></returnval>`,
    `{"_typeName":"AlarmStatusChangedEvent","key":9,"chainId":9,"createdTime":"2026-01-02T03:04:05Z","userName":"u","fullFormattedMessage":"m","alarm":{"_typeName":"AlarmEventArgument","name":"cpu","alarm":{"_typeName":"ManagedObjectReference","type":"Alarm","value":"alarm-1"}},"source":{"_typeName":"ManagedEntityEventArgument","name":"root","entity":{"_typeName":"ManagedObjectReference","type":"Folder","value":"group-d1"}},"entity":{"_typeName":"ManagedEntityEventArgument","name":"vm","entity":{"_typeName":"ManagedObjectReference","type":"VirtualMachine","value":"vm-1"}},"from":"green","to":"red"}`,
  ],
  [
    'a fault inside an event (polymorphic LocalizedMethodFault.fault)',
    `<returnval xsi:type="VmFailedToPowerOnEvent"><key>11</key><chainId>11</chainId><createdTime>2026-01-02T03:04:05Z</createdTime><userName>u</userName><vm><name>vm</name><vm type="VirtualMachine">vm-1</vm></vm><template>false</template><reason><fault xsi:type="InvalidState"></fault><localizedMessage>bad state</localizedMessage></reason></returnval>`,
    `{"_typeName":"VmFailedToPowerOnEvent","key":11,"chainId":11,"createdTime":"2026-01-02T03:04:05Z","userName":"u","vm":{"_typeName":"VmEventArgument","name":"vm","vm":{"_typeName":"ManagedObjectReference","type":"VirtualMachine","value":"vm-1"}},"template":false,"reason":{"_typeName":"LocalizedMethodFault","fault":{"_typeName":"InvalidState"},"localizedMessage":"bad state"}}`,
  ],
  [
    'an event class this router does not know',
    `<returnval xsi:type="FancyNewVmEvent"><key>77</key><chainId>70</chainId><createdTime>2023-01-01T00:00:00.500Z</createdTime><userName>bob</userName><count xsi:type="xsd:int">3</count><target type="HostSystem">host-3</target><detail><reason>r</reason></detail></returnval>`,
    `{"_typeName":"FancyNewVmEvent","key":77,"chainId":70,"createdTime":"2023-01-01T00:00:00.500Z","userName":"bob","count":{"_typeName":"int","_value":3},"target":{"_typeName":"ManagedObjectReference","type":"HostSystem","value":"host-3"},"detail":{"reason":"r"}}`,
  ],
];
