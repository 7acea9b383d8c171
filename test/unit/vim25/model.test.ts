import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  allFields,
  isEnum,
  isEventClass,
  resolveTypeName,
  typeNames,
  typeOf,
} from '../../../src/stream/vcenter/vim25/model';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TYPES_GO = '/usr/share/gocode/src/github.com/vmware/govmomi/vim25/types/types.go';

describe('vim25 model', () => {
  it('knows the Event hierarchy, base fields first', () => {
    expect(isEventClass('VmPoweredOnEvent')).toBe(true);
    expect(isEventClass('EventEx')).toBe(true);
    expect(isEventClass('VirtualMachineConfigSpec')).toBe(false);
    expect(isEventClass('NoSuchEvent')).toBe(false);
    expect(typeOf('VmPoweredOnEvent')!.base).toBe('VmEvent');
    expect(allFields('VmPoweredOnEvent').map((f) => f.name)).toEqual([
      'Key',
      'ChainId',
      'CreatedTime',
      'UserName',
      'Datacenter',
      'ComputeResource',
      'Host',
      'Vm',
      'Ds',
      'Net',
      'Dvs',
      'FullFormattedMessage',
      'ChangeTag',
      'Template',
    ]);
    expect(allFields('VmPoweredOnEvent')).toBe(allFields('VmPoweredOnEvent')); // cached
  });

  it('records pointers, arrays, interfaces and anyType', () => {
    const ex = new Map(allFields('EventEx').map((f) => [f.name, f]));
    expect(ex.get('Arguments')).toMatchObject({
      xml: 'arguments',
      type: 'KeyAnyValue',
      array: true,
      pointer: false,
    });
    expect(ex.get('Fault')).toMatchObject({ type: 'LocalizedMethodFault', pointer: true });
    const dev = allFields('VirtualDeviceConfigSpec').find((f) => f.name === 'Device')!;
    expect(dev).toMatchObject({ type: 'VirtualDevice', iface: true, typeattr: true });
    expect(allFields('KeyAnyValue')[1]).toMatchObject({ name: 'Value', type: 'any', typeattr: true });
    expect(allFields('ManagedObjectReference').map((f) => [f.name, f.attr, f.chardata])).toEqual([
      ['Type', true, false],
      ['Value', false, true],
    ]);
  });

  it('includes the implementors of polymorphic fields and enum names', () => {
    for (const t of ['VirtualDisk', 'VirtualVmxnet3', 'InvalidArgument', 'FileNotFound', 'ArrayOfString']) {
      expect(typeOf(t)).toBeDefined();
    }
    expect(isEnum('VirtualMachinePowerState')).toBe(true);
    expect(resolveTypeName('vim25:VmPoweredOnEvent')).toBe('VmPoweredOnEvent');
    // helpers.go maps it to HostEvent, but types.go (initialised later) registers its own struct
    expect(resolveTypeName('HostSubSpecificationUpdateEvent')).toBe('HostSubSpecificationUpdateEvent');
    expect(typeNames().length).toBeGreaterThan(2000);
  });

  (fs.existsSync(TYPES_GO) ? it : it.skip)('model.generated.json is up to date with types.go', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vim25-')), 'model.json');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/gen-vim25-model.mjs'), TYPES_GO, '--out', out]);
    const committed = fs.readFileSync(
      path.join(ROOT, 'src/stream/vcenter/vim25/model.generated.json'),
      'utf8',
    );
    expect(fs.readFileSync(out, 'utf8')).toBe(committed);
  });
});
