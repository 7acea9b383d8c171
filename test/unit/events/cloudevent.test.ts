import { cloudEventJson, InvalidCloudEventError, newCloudEvent } from '../../../src/events/cloudevent';

const REQUIRED = { specversion: '1.0', id: 'e-1', source: '/unit', type: 'com.example.unit' };

describe('newCloudEvent', () => {
  it.each(['specversion', 'id', 'source', 'type'] as const)(
    'refuses an event whose required attribute %s is missing or empty',
    (name) => {
      for (const value of [undefined, '']) {
        const init = { ...REQUIRED, [name]: value };
        expect(() => newCloudEvent(init)).toThrow(InvalidCloudEventError);
        expect(() => newCloudEvent(init)).toThrow(`CloudEvent attribute ${name} is required`);
      }
    },
  );

  it.each(['myExt', 'my_ext', 'my-ext', '', 'data', 'subject', 'data_base64'])(
    'refuses the extension name %j (lower-case letters and digits, not an attribute)',
    (name) => {
      expect(() => newCloudEvent(REQUIRED, { [name]: 'x' })).toThrow(InvalidCloudEventError);
      expect(() => newCloudEvent(REQUIRED, { [name]: 'x' })).toThrow('invalid CloudEvent extension name');
    },
  );

  it('puts the attributes first, then the data, then the extensions as given; unset ones are absent', () => {
    const event = newCloudEvent(
      { ...REQUIRED, time: '2026-03-04T05:06:07.123456789Z', subject: undefined, data: { a: 1 } },
      { zext: 'z', aext2: 2, unset: undefined },
    );
    expect(Object.keys(event)).toEqual([
      'id',
      'time',
      'type',
      'source',
      'specversion',
      'data',
      'zext',
      'aext2',
    ]);
    expect(cloudEventJson(event)).toBe(
      '{"id":"e-1","source":"/unit","specversion":"1.0","type":"com.example.unit",' +
        '"time":"2026-03-04T05:06:07.123456789Z","data":{"a":1},"zext":"z","aext2":2}',
    );
  });

  it('writes binary data as data_base64', () => {
    const event = newCloudEvent({
      ...REQUIRED,
      time: '2026-03-04T05:06:07Z',
      data: Buffer.from([0, 1, 0xff]),
    });
    expect(event.data_base64).toBe('AAH/');
    expect(cloudEventJson(event)).toBe(
      '{"id":"e-1","source":"/unit","specversion":"1.0","type":"com.example.unit",' +
        '"time":"2026-03-04T05:06:07Z","data_base64":"AAH/"}',
    );
  });

  it('stamps an event without time with the current time', () => {
    const before = new Date().toISOString();
    const { time } = newCloudEvent({ ...REQUIRED, time: '' });
    expect(time! >= before && time! <= new Date().toISOString()).toBe(true);
  });
});

describe('the modules that build and encode events', () => {
  /** Whether importing `modules` (fresh) loads the `cloudevents` package. */
  async function loadsCloudEventsPackage(modules: string[]): Promise<boolean> {
    let loaded = false;
    await jest.isolateModulesAsync(async () => {
      jest.doMock('cloudevents', () => {
        loaded = true;
        return {};
      });
      for (const m of modules) await import(m);
    });
    return loaded;
  }

  it('do not load the cloudevents package (megabytes of memory: only a webhook stream needs it)', async () => {
    expect(
      await loadsCloudEventsPackage([
        '../../../src/events/cloudevent',
        '../../../src/events/vsphere-source',
        '../../../src/events/binary',
        '../../../src/eventlog/event-log',
        '../../../src/stream/webhook/definition',
      ]),
    ).toBe(false);
    // The check sees the package when it is loaded.
    expect(await loadsCloudEventsPackage(['../../../src/stream/webhook/webhook-stream'])).toBe(true);
  });
});
