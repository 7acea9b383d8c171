/** Shared setup for the OpenFaaS processor tests: a context with captured logs, events, the processor. */
import type { ConfigEntry, OptionValue } from '../../../src/config/types';
import { toCloudEvent } from '../../../src/events/cloudevent';
import type { RouterEvent } from '../../../src/events/types';
import { openfaasProcessor } from '../../../src/processor/openfaas/definition';
import { OpenFaasSink } from '../../../src/processor/openfaas/openfaas-sink';
import { testProcessor, type TestContext, type TestProcessor } from '../../helpers/processor';
import type { OpenFaasGateway } from '../../peers/openfaas-gateway';
import { readOptions } from '../../../src/config/options';
import { openfaasOptions } from '../../../src/processor/openfaas/options';

export const VCENTER = 'https://vc01.example.com:443/sdk';
export const INSTANCE_UUID = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';

export { makeContext, type TestContext } from '../../helpers/processor';

let nextKey = 1000;

/** A CloudEvent as the router builds it; EventEx subjects come from `eventTypeId`. */
export function event(className: string, extra: { eventTypeId?: string; key?: number } = {}): RouterEvent {
  const key = extra.key ?? nextKey++;
  return toCloudEvent(
    {
      className,
      key,
      createdTime: '2024-05-06T07:08:09.123456Z',
      eventTypeId: extra.eventTypeId,
      data: {
        Key: key,
        ChainId: key,
        CreatedTime: '2024-05-06T07:08:09.123456Z',
        UserName: 'VSPHERE.LOCAL\\Administrator',
        FullFormattedMessage: `${className} ${key}`,
        Vm: { Name: `vm-${key}`, Vm: { Type: 'VirtualMachine', Value: `vm-${key}` } },
      },
    },
    VCENTER,
    INSTANCE_UUID,
  );
}

export function entry(
  gw: OpenFaasGateway,
  options: Record<string, OptionValue> = {},
  secret: { username: string; password: string } = gw.credentials,
): ConfigEntry {
  return {
    type: 'processor',
    provider: 'openfaas',
    address: gw.url,
    auth: { method: 'basic_auth', secret: { ...secret } },
    options: { topic_refresh_interval: 1, ...options },
  };
}

export function makeProcessor(
  gw: OpenFaasGateway,
  tc: TestContext,
  options: Record<string, OptionValue> = {},
  secret?: { username: string; password: string },
): OpenFaasTestProcessor {
  const e = entry(gw, options, secret);
  return testProcessor(
    openfaasProcessor,
    new OpenFaasSink(e, readOptions(openfaasOptions, e), tc.ctx),
    e,
    tc.ctx,
  );
}

export type OpenFaasTestProcessor = TestProcessor<OpenFaasSink>;

/** Log lines at ERROR level containing every given fragment. */
export function errorLines(lines: string[], ...fragments: string[]): string[] {
  return lines.filter((l) => / ERROR /.test(l) && fragments.every((f) => l.includes(f)));
}
