/**
 * Issue 2, items 1 and 2: events posted while the router runs come out of the
 * stdout processor with `data` deep-equal to govmomi's json.Marshal of the
 * same event read from the same simulator, and with the CloudEvent
 * attributes of SPEC §3. The govmomi side is produced by `vctool events`.
 * Over both protocols: SOAP straight to the simulator, and VI/JSON through
 * the harness peer in front of it (which counts the router's calls).
 */
import { eventId } from '../../src/events/cloudevent';
import { about, postEvents, referenceEvents, vmOp, type Simulator } from '../harness/simulator';
import { startStack, waitFor, WIRE_PROTOCOLS, type RouterProcess, type Stack } from '../helpers/e2e';

const vm = 'vm:DC0_H0_VM0';
const posted = [
  { class: 'VmPoweredOnEvent', entities: vm },
  { class: 'VmPoweredOffEvent', entities: vm },
  {
    class: 'UserLoginSessionEvent',
    fields: { IpAddress: '10.0.0.7', UserAgent: 'pyvmomi', Locale: 'en', SessionId: 'abc-1' },
  },
  {
    class: 'EventEx',
    fields: {
      EventTypeId: 'com.vmware.applmgmt.backup.job.failed.event',
      Severity: 'error',
      Message: 'backup failed',
      Arguments: [
        { Key: 'count', Value: 42 },
        { Key: 'target', Value: 'sftp://backup/äöü <&> "q"' },
      ],
      ObjectId: 'vm-57',
      ObjectType: 'VirtualMachine',
      ObjectName: 'DC0_H0_VM0',
    },
  },
  {
    class: 'ExtendedEvent',
    fields: {
      EventTypeId: 'com.example.ext.event',
      ManagedObject: { Type: 'VirtualMachine', Value: 'vm-57' },
      Data: [
        { Key: 'k1', Value: 'v1' },
        { Key: 'k2', Value: 'v2' },
      ],
    },
    entities: vm,
  },
  {
    class: 'AlarmStatusChangedEvent',
    fields: {
      Alarm: { Name: 'CPU usage', Alarm: { Type: 'Alarm', Value: 'alarm-1' } },
      Source: { Name: 'root', Entity: { Type: 'Folder', Value: 'group-d1' } },
      Entity: { Name: 'DC0_H0_VM0', Entity: { Type: 'VirtualMachine', Value: 'vm-57' } },
      From: 'green',
      To: 'red',
    },
    entities: vm,
  },
  {
    class: 'VmReconfiguredEvent',
    fields: { ConfigSpec: { Name: 'DC0_H0_VM0', NumCPUs: 4, MemoryMB: 8192, Annotation: 'resized by ops' } },
    entities: vm,
  },
  {
    class: 'VmBeingCreatedEvent',
    fields: { ConfigSpec: { Name: 'new-vm', NumCPUs: 2, MemoryMB: 2048, GuestId: 'otherGuest' } },
    entities: vm,
  },
];

describe.each(WIRE_PROTOCOLS)('over %s', (protocol) => {
  let stack: Stack;
  let sim: Simulator;
  let router: RouterProcess;

  beforeAll(async () => {
    stack = await startStack({ protocol });
    ({ sim, router } = stack);
  });
  afterAll(async () => stack?.stop());

  test('every posted and simulator-emitted event matches govmomi json.Marshal, with SPEC §3 attributes', async () => {
    await postEvents(sim, posted);
    // Events the simulator emits itself when driven.
    await vmOp(sim, 'create', 'parity-vm');
    await vmOp(sim, 'poweron', 'parity-vm');
    await vmOp(sim, 'reconfigure', 'parity-vm');
    await vmOp(sim, 'poweroff', 'parity-vm');

    const ref = await referenceEvents(sim);
    const classesWanted = [
      ...posted.map((p) => p.class),
      'VmCreatedEvent',
      'VmPoweredOnEvent',
      'VmReconfiguredEvent',
      'VmPoweredOffEvent',
    ];
    // Everything newer than the router's start that govmomi sees must come out of the router.
    await waitFor('all posted events on stdout', () => {
      const classes = router.events().map((e) => e.subject);
      return router.events().length >= posted.length + 4 && classes.includes('VmCreatedEvent');
    });
    await new Promise((r) => setTimeout(r, 500));
    const out = router.events();
    const keys = out.map((e) => (e.data as { Key: number }).Key);
    const { InstanceUuid: instanceUuid } = await about(sim);

    const refAfter = [...(await referenceEvents(sim)).entries()].filter(([k]) => k >= keys[0]);
    expect(refAfter.length).toBeGreaterThan(posted.length);
    expect(out.map((e) => (e.data as { Key: number }).Key)).toEqual(refAfter.map(([k]) => k));
    for (const e of out) {
      const key = (e.data as { Key: number }).Key;
      const r = ref.get(key) ?? (await referenceEvents(sim)).get(key);
      expect(r).toBeDefined();
      expect(e.data).toEqual(r!.json);
      // Attributes (SPEC §3).
      expect(e.specversion).toBe('1.0');
      expect(e.id).toBe(eventId(instanceUuid, key));
      expect(e.source).toBe(stack.peer?.url ?? sim.url);
      expect(e.datacontenttype).toBe('application/json');
      expect(e.time).toBe((r!.json as { CreatedTime: string }).CreatedTime);
      if (r!.class === 'EventEx') {
        expect(e.type).toBe('com.vmware.event.router/eventex');
        expect(e.subject).toBe((r!.json as { EventTypeId: string }).EventTypeId);
      } else if (r!.class === 'ExtendedEvent') {
        expect(e.type).toBe('com.vmware.event.router/extendedevent');
        expect(e.subject).toBe('com.example.ext.event');
      } else {
        expect(e.type).toBe('com.vmware.event.router/event');
        expect(e.subject).toBe(r!.class);
      }
    }
    const subjects = new Set(out.map((e) => e.subject));
    for (const c of classesWanted) {
      if (c === 'EventEx') expect(subjects).toContain('com.vmware.applmgmt.backup.job.failed.event');
      else if (c === 'ExtendedEvent') expect(subjects).toContain('com.example.ext.event');
      else expect(subjects).toContain(c);
    }
    // EventEx arguments keep their xsd types: int → number, string → string.
    const ex = out.find((e) => e.type === 'com.vmware.event.router/eventex')!;
    expect((ex.data as { Arguments: unknown[] }).Arguments).toEqual([
      { Key: 'count', Value: 42 },
      { Key: 'target', Value: 'sftp://backup/äöü <&> "q"' },
    ]);
  });

  test('the same vCenter event always gets the same id; stdout carries only CloudEvents', () => {
    const ids = router.events().map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const line of router.stdoutLines) expect(() => JSON.parse(line)).not.toThrow();
    expect(eventId('dbed6e0c-bd88-4ef6-b594-21283e1c677f', 7)).toBe(
      eventId('dbed6e0c-bd88-4ef6-b594-21283e1c677f', 7),
    );
    expect(eventId('dbed6e0c-bd88-4ef6-b594-21283e1c677f', 7)).not.toBe(
      eventId('dbed6e0c-bd88-4ef6-b594-21283e1c677f', 8),
    );
  });

  if (protocol === 'soap')
    test('the log says the calls go over SOAP, once', () => {
      expect(
        router
          .stderr()
          .split('\n')
          .filter((l) => l.includes('vCenter calls go over')),
      ).toEqual([expect.stringMatching(/INFO {2}vCenter calls go over SOAP .*protocol=soap/)]);
    });
  if (protocol !== 'soap')
    test('the router made every call over VI/JSON (the peer counted no SOAP call)', async () => {
      const stats = await stack.peer!.stats();
      expect(stats.soap_calls).toBe(0);
      expect(stats.hello_calls).toBe(1);
      for (const m of [
        'Login',
        'CreateCollectorForEvents',
        'CreateFilter',
        'WaitForUpdatesEx',
        'RetrievePropertiesEx',
      ])
        expect(stats.by_method[m]).toBeGreaterThan(0);
      expect(router.stderr()).toContain(
        'vCenter calls go over VI/JSON release 8.0.3.0 (negotiated with System.hello)',
      );
    });
});
