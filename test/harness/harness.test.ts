import {
  about,
  burst,
  buildHarness,
  postEvents,
  referenceEvents,
  runVctool,
  Simulator,
  startSimulator,
  vmOp,
  VctoolError,
} from './simulator';

interface EventJson {
  Key: number;
  CreatedTime: string;
  UserName: string;
  FullFormattedMessage: string;
  Vm: { Name: string; Vm: { Type: string; Value: string } } | null;
  [field: string]: unknown;
}

function classes(events: Map<number, { class: string }>): string[] {
  return [...events.values()].map((e) => e.class);
}

describe('govmomi simulator harness', () => {
  let sim: Simulator;

  beforeAll(async () => {
    buildHarness();
    sim = await startSimulator({ username: 'admin', password: 's3cret!' });
  });

  afterAll(async () => {
    await sim?.stop();
  });

  it('serves a VPX model on 127.0.0.1 over http', async () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sdk$/);
    expect(sim.port).toBeGreaterThan(0);
    const info = await about(sim);
    expect(info.ApiType).toBe('VirtualCenter');
    expect(info.InstanceUuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a wrong password with InvalidLogin', async () => {
    const err = await runVctool(sim, ['about'], undefined, { password: 'wrong', freshSession: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VctoolError);
    expect((err as VctoolError).stderr).toContain('Login failure');

    // the raw SOAP fault, as our TypeScript client sees it
    const res = await fetch(sim.url, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: 'urn:vim25/6.5' },
      body:
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
        '<soapenv:Body><Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>' +
        '<userName>admin</userName><password>wrong</password></Login></soapenv:Body></soapenv:Envelope>',
    });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toContain('<faultcode>ServerFaultCode</faultcode>');
    expect(body).toContain('xsi:type="InvalidLogin"');
  });

  it('posts one event of each class and reads them back as govmomi JSON', async () => {
    const before = await referenceEvents(sim);
    const lastKey = Math.max(...before.keys());
    const vm = 'DC0_H0_VM0';
    await postEvents(sim, [
      { class: 'VmPoweredOnEvent', entities: `vm:${vm}` },
      {
        class: 'VmReconfiguredEvent',
        entities: `vm:${vm}`,
        fields: { ConfigSpec: { Name: 'x', NumCPUs: 4, MemoryMB: 2048, Annotation: 'hello' } },
      },
      {
        class: 'ExtendedEvent',
        fields: {
          EventTypeId: 'com.vmware.applmgmt.backup.job.failed.event',
          ManagedObject: { Type: 'Folder', Value: 'group-d1' },
          Data: [{ Key: 'reason', Value: 'disk full' }],
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
          FullFormattedMessage: 'Alarm Host CPU changed from Green to Red',
        },
      },
      {
        class: 'UserLoginSessionEvent',
        fields: { IpAddress: '10.1.2.3', UserAgent: 'pyvmomi', Locale: 'en', SessionId: 'abc' },
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
          Message: 'msg',
          ObjectId: 'vm-57',
          ObjectType: 'VirtualMachine',
          ObjectName: vm,
          Arguments: [
            { Key: 'k', Value: 5 },
            { Key: 's', Value: 'x' },
          ],
        },
      },
    ]);

    const after = await referenceEvents(sim, lastKey);
    expect(classes(after)).toEqual([
      'VmPoweredOnEvent',
      'VmReconfiguredEvent',
      'ExtendedEvent',
      'AlarmStatusChangedEvent',
      'UserLoginSessionEvent',
      'VmBeingCreatedEvent',
      'EventEx',
    ]);
    const keys = [...after.keys()];
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    const evs = [...after.values()];
    const byClass = new Map(evs.map((e) => [e.class, e.json as EventJson]));

    const on = byClass.get('VmPoweredOnEvent')!;
    expect(on.Vm?.Name).toBe(vm);
    expect(on.UserName).toBe('admin');
    expect(on.CreatedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(on.Datacenter).toEqual({
      Name: 'DC0',
      Datacenter: { Type: 'Datacenter', Value: expect.any(String) },
    });

    const reconf = byClass.get('VmReconfiguredEvent')!;
    expect(reconf.ConfigSpec).toMatchObject({ Name: 'x', NumCPUs: 4, MemoryMB: 2048, Annotation: 'hello' });

    const ext = byClass.get('ExtendedEvent')!;
    expect(ext.Data).toEqual([{ Key: 'reason', Value: 'disk full' }]);
    expect(ext.EventTypeId).toBe('com.vmware.applmgmt.backup.job.failed.event');

    const alarm = byClass.get('AlarmStatusChangedEvent')!;
    expect(alarm.From).toBe('green');
    expect(alarm.To).toBe('red');

    const ex = byClass.get('EventEx')!;
    expect(ex.Arguments).toEqual([
      { Key: 'k', Value: 5 },
      { Key: 's', Value: 'x' },
    ]);
    // the raw text is govmomi's json.Marshal output, untouched
    const raw = evs.find((e) => e.class === 'EventEx')!.raw;
    expect(raw).toContain('"Arguments":[{"Key":"k","Value":5},{"Key":"s","Value":"x"}]');
    expect(JSON.parse(raw)).toEqual(ex);
  });

  it('emits its own VM lifecycle events', async () => {
    const lastKey = Math.max(...(await referenceEvents(sim)).keys());
    await vmOp(sim, 'create', 'harness-vm');
    await vmOp(sim, 'poweron', 'harness-vm');
    await vmOp(sim, 'poweroff', 'harness-vm');
    await vmOp(sim, 'reconfigure', 'harness-vm', { cpus: 4, memoryMB: 4096, annotation: 'bigger' });
    await vmOp(sim, 'destroy', 'harness-vm');
    const got = classes(await referenceEvents(sim, lastKey));
    for (const cls of [
      'VmBeingCreatedEvent',
      'VmCreatedEvent',
      'VmPoweredOnEvent',
      'VmPoweredOffEvent',
      'VmReconfiguredEvent',
      'VmRemovedEvent',
    ]) {
      expect(got).toContain(cls);
    }
    expect(got.indexOf('VmBeingCreatedEvent')).toBeLessThan(got.indexOf('VmPoweredOnEvent'));
    expect(got.indexOf('VmPoweredOffEvent')).toBeLessThan(got.indexOf('VmReconfiguredEvent'));
  });

  it('keeps a burst of 1000 events (one page)', async () => {
    const lastKey = Math.max(...(await referenceEvents(sim)).keys());
    const res = await burst(sim, 'VmPoweredOnEvent', 1000, 8);
    expect(res.posted).toBe(1000);
    const events = await referenceEvents(sim);
    expect(events.size).toBe(1000);
    const keys = [...events.keys()];
    expect(keys[0]).toBe(lastKey + 1);
    expect(keys[999]).toBe(lastKey + 1000);
    expect(new Set(classes(events))).toEqual(new Set(['VmPoweredOnEvent']));
  });

  it('restarts on the same port with a new key space', async () => {
    const port = sim.port;
    const uuid = (await about(sim)).InstanceUuid;
    await sim.restart();
    expect(sim.port).toBe(port);
    // quirk: the simulator's instanceUuid is a constant, so (instanceUuid, key) repeats after a restart
    expect((await about(sim)).InstanceUuid).toBe(uuid);
    const events = await referenceEvents(sim);
    expect(Math.min(...events.keys())).toBe(1);
    expect(events.size).toBeLessThan(100);
  });

  it('expires idle sessions', async () => {
    const short = await startSimulator({ sessionIdleTimeout: '1s' });
    try {
      await about(short); // logs in, saves the session cookie
      // a raw call with a stale cookie after the timeout gets NotAuthenticated
      const { readFileSync } = await import('fs');
      const cookie = readFileSync(short.sessionFile, 'utf8').trim();
      await new Promise((r) => setTimeout(r, 2500));
      const res = await fetch(short.url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/xml', Cookie: `vmware_soap_session=${cookie}` },
        body:
          '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
          '<soapenv:Body><CreateCollectorForEvents xmlns="urn:vim25"><_this type="EventManager">EventManager</_this>' +
          '<filter></filter></CreateCollectorForEvents></soapenv:Body></soapenv:Envelope>',
      });
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('xsi:type="NotAuthenticated"');
      // vctool logs in again by itself
      expect((await about(short)).ApiType).toBe('VirtualCenter');
    } finally {
      await short.stop();
    }
  });

  it('builds the test variant vcsim-tick20ms, which answers and wakes WaitForUpdatesEx every 20 ms', async () => {
    const fast = await startSimulator({ variant: 'tick20ms' });
    try {
      const info = await about(fast);
      expect(info.ApiType).toBe('VirtualCenter');
      // every WaitForUpdatesEx with MaxWaitSeconds=0 returns at the simulator's next tick:
      // 12 empty waits take >= 12 x 250 ms on vcsim, ~12 x 20 ms on the variant
      const timeWaits = async (s: Simulator): Promise<number> => {
        const t0 = process.hrtime.bigint();
        const out = await runVctool(s, ['wait', '-count', '12', '-max-wait', '0', '-page-size', '1']);
        expect(out.trim().split('\n')).toHaveLength(13);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      const slowMs = await timeWaits(sim);
      const fastMs = await timeWaits(fast);
      expect(slowMs).toBeGreaterThanOrEqual(12 * 250);
      expect(fastMs).toBeLessThan(slowMs - 1500);
      // events flow as on vcsim
      await postEvents(fast, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
      expect(classes(await referenceEvents(fast))).toContain('VmPoweredOnEvent');
    } finally {
      await fast.stop();
    }
  });
});
