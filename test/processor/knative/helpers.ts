/** Shared setup for the Knative processor tests. */
import type { ConfigEntry, OptionValue } from '../../../src/config/types';
import { toCloudEvent } from '../../../src/events/cloudevent';
import type { RouterEvent } from '../../../src/events/types';
import { knativeProcessor } from '../../../src/processor/knative/definition';
import { KnativeSink } from '../../../src/processor/knative/knative-sink';
import { testProcessor, type TestContext, type TestProcessor } from '../../helpers/processor';

export const VCENTER = 'https://vc01.example.com:443/sdk';
export const INSTANCE_UUID = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';

export { makeContext, type TestContext } from '../../helpers/processor';

let nextKey = 5000;

/** A CloudEvent as the router builds it, `time` with nanoseconds (as vCenter 8 may send). */
export function event(className = 'VmPoweredOnEvent', time = '2024-05-06T07:08:09.123456789Z'): RouterEvent {
  const key = nextKey++;
  return toCloudEvent(
    {
      className,
      key,
      createdTime: time,
      data: {
        Key: key,
        ChainId: key,
        CreatedTime: time,
        UserName: 'VSPHERE.LOCAL\\Administrator',
        FullFormattedMessage: `${className} ${key} on vm-${key} (ünïcödé)`,
        Vm: { Name: `vm-${key}`, Vm: { Type: 'VirtualMachine', Value: `vm-${key}` } },
      },
    },
    VCENTER,
    INSTANCE_UUID,
  );
}

export function entry(
  url: string,
  options: Record<string, OptionValue> = {},
  auth?: ConfigEntry['auth'],
): ConfigEntry {
  return { type: 'processor', provider: 'knative', address: url, options, ...(auth ? { auth } : {}) };
}

export async function makeProcessor(
  e: ConfigEntry,
  tc: TestContext,
): Promise<TestProcessor<KnativeSink, null>> {
  const sink = (await knativeProcessor.create(e, tc.ctx)) as KnativeSink;
  // Short waits between retries: the tests count outcomes, not time.
  const p = testProcessor<KnativeSink, null>(knativeProcessor, sink, e, tc.ctx, {
    backoff: { baseMs: 5, maxMs: 20 },
  });
  await p.start();
  return p;
}
