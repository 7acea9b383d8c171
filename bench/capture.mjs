// The conversion input of bench/run.mjs: 1,000 events of mixed classes posted
// to the simulator, then the raw reply of one 1,000-event latestPage read both
// over SOAP and (through the VI/JSON harness peer) over VI/JSON.
import fs from 'node:fs';
import path from 'node:path';
import { BIN, log, start, stopChild, vctool, waitLine } from './lib.mjs';

export const VIJSON_BIN = path.join(BIN, 'vijson');

/** The VI/JSON harness peer in front of the simulator at `simUrl` (SOAP passes through it unchanged). */
export async function startViJsonPeer(simUrl) {
  const child = start(VIJSON_BIN, ['-target', simUrl, '-listen', '127.0.0.1:0', '-exit-on-stdin-eof']);
  const { url } = await waitLine(child, (v) => typeof v.url === 'string', 'vijson');
  return { child, url };
}

const MIX = [
  { class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' },
  { class: 'VmPoweredOffEvent', entities: 'vm:DC0_H0_VM1' },
  {
    class: 'UserLoginSessionEvent',
    fields: { IpAddress: '10.0.0.7', UserAgent: 'govc/0.24', Locale: 'en', SessionId: 'a1b2' },
  },
  {
    class: 'EventEx',
    entities: 'vm:DC0_H0_VM0',
    fields: {
      EventTypeId: 'com.vmware.applmgmt.backup.job.failed.event',
      Severity: 'error',
      Message: 'Backup job failed <&> "ünïcödé"',
      Arguments: [
        { Key: 'jobId', Value: 42 },
        { Key: 'target', Value: 'sftp://backup.example.com/vc' },
      ],
    },
  },
  {
    class: 'AlarmStatusChangedEvent',
    entities: 'vm:DC0_C0_RP0_VM0',
    fields: {
      Alarm: { Name: 'VM CPU Usage', Alarm: { Type: 'Alarm', Value: 'alarm-6' } },
      Source: { Name: 'vcenter', Entity: { Type: 'Folder', Value: 'group-d1' } },
      Entity: { Name: 'DC0_C0_RP0_VM0', Entity: { Type: 'VirtualMachine', Value: 'vm-60' } },
      From: 'green',
      To: 'red',
    },
  },
  {
    class: 'VmReconfiguredEvent',
    entities: 'vm:DC0_C0_RP0_VM1',
    fields: { ConfigSpec: { NumCPUs: 4, MemoryMB: 8192, Annotation: 'resized by bench' } },
  },
  {
    class: 'TaskEvent',
    entities: 'vm:DC0_H0_VM1',
    fields: {
      Info: {
        Key: 'task-101',
        Task: { Type: 'Task', Value: 'task-101' },
        Name: 'PowerOnVM_Task',
        DescriptionId: 'VirtualMachine.powerOn',
        EntityName: 'DC0_H0_VM1',
        State: 'success',
        Cancelled: false,
        Cancelable: false,
        QueueTime: '2024-01-01T10:00:00Z',
        EventChainId: 7,
      },
    },
  },
  {
    class: 'VmMessageEvent',
    entities: 'vm:DC0_H0_VM0',
    fields: { FullFormattedMessage: 'message', Message: 'hello' },
  },
  {
    class: 'ExtendedEvent',
    fields: {
      EventTypeId: 'com.vmware.vc.sdrs.StorageDrsEnabledEvent',
      ManagedObject: { Type: 'Datastore', Value: 'datastore-1' },
      Data: [{ Key: 'cluster', Value: 'DC0_C0' }],
    },
  },
  { class: 'VmStartingEvent', entities: 'vm:DC0_C0_RP0_VM0' },
];

function soapEnvelope(body) {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    body +
    '</soapenv:Body></soapenv:Envelope>'
  );
}

/**
 * Posts 1,000 mixed events, then captures the raw RetrievePropertiesEx reply of a 1000-event latestPage,
 * over SOAP and (with the VI/JSON harness peer, when built) over VI/JSON: the same collector read in the
 * same session both ways, so that both replies hold the same page.
 */
export async function captureReply(sim) {
  const simUrl = sim.url;
  const lines = [];
  for (let i = 0; i < 1000; i++) lines.push(JSON.stringify(MIX[i % MIX.length]));
  await vctool(sim, ['post'], lines.join('\n') + '\n');
  let cookie = '';
  const call = async (body) => {
    const res = await fetch(simUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'text/xml; charset=utf-8',
        SOAPAction: 'urn:vim25/7.0',
        ...(cookie ? { Cookie: cookie } : {}),
      },
      body: soapEnvelope(body),
    });
    const sc = res.headers.get('set-cookie');
    if (sc) cookie = sc.split(';')[0];
    const text = await res.text();
    if (!res.ok) throw new Error(`SOAP ${res.status}: ${text.slice(0, 500)}`);
    return text;
  };
  const sc = await call(
    '<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>',
  );
  const ref = (name) => {
    const m = new RegExp(`<${name} type="([^"]+)">([^<]+)</${name}>`).exec(sc);
    if (!m) throw new Error(`ServiceContent has no ${name}`);
    return `type="${m[1]}">${m[2]}`;
  };
  await call(
    `<Login xmlns="urn:vim25"><_this ${ref('sessionManager')}</_this><userName>user</userName><password>pass</password></Login>`,
  );
  const cc = await call(
    `<CreateCollectorForEvents xmlns="urn:vim25"><_this ${ref('eventManager')}</_this><filter><entity><entity ${ref('rootFolder')}</entity><recursion>all</recursion></entity></filter></CreateCollectorForEvents>`,
  );
  const m = /<returnval type="EventHistoryCollector">([^<]+)<\/returnval>/.exec(cc);
  if (!m) throw new Error(`CreateCollectorForEvents: ${cc.slice(0, 500)}`);
  const collector = m[1];
  await call(
    `<SetCollectorPageSize xmlns="urn:vim25"><_this type="EventHistoryCollector">${collector}</_this><maxCount>1000</maxCount></SetCollectorPageSize>`,
  );
  const reply = await call(
    `<RetrievePropertiesEx xmlns="urn:vim25"><_this ${ref('propertyCollector')}</_this><specSet><propSet><type>EventHistoryCollector</type><all>false</all><pathSet>latestPage</pathSet></propSet><objectSet><obj type="EventHistoryCollector">${collector}</obj><skip>false</skip></objectSet></specSet><options></options></RetrievePropertiesEx>`,
  );
  let json;
  if (fs.existsSync(VIJSON_BIN)) {
    // The peer's VI/JSON session id is the simulator's session cookie: the same session, no new Login event.
    const vj = await startViJsonPeer(simUrl);
    const pc = /<propertyCollector type="[^"]+">([^<]+)</.exec(sc)[1];
    const res = await fetch(
      `${vj.url}/vim25/8.0.3.0/PropertyCollector/${encodeURIComponent(pc)}/RetrievePropertiesEx`,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'vmware-api-session-id': cookie.replace(/^vmware_soap_session=/, '').replace(/^"|"$/g, ''),
        },
        body: JSON.stringify({
          specSet: [
            {
              _typeName: 'PropertyFilterSpec',
              propSet: [
                {
                  _typeName: 'PropertySpec',
                  type: 'EventHistoryCollector',
                  all: false,
                  pathSet: ['latestPage'],
                },
              ],
              objectSet: [
                {
                  _typeName: 'ObjectSpec',
                  obj: {
                    _typeName: 'ManagedObjectReference',
                    type: 'EventHistoryCollector',
                    value: collector,
                  },
                  skip: false,
                },
              ],
            },
          ],
          options: { _typeName: 'RetrieveOptions' },
        }),
      },
    );
    json = await res.text();
    await stopChild(vj.child);
    if (!res.ok) throw new Error(`VI/JSON RetrievePropertiesEx ${res.status}: ${json.slice(0, 500)}`);
  } else log(`${VIJSON_BIN} missing: no VI/JSON figures`);
  await call(`<Logout xmlns="urn:vim25"><_this ${ref('sessionManager')}</_this></Logout>`).catch(
    () => undefined,
  );
  return { reply, json };
}
