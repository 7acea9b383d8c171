/** Shared fixtures for the EventBridge processor tests. */
import type { ComponentContext } from '../../../src/components/component';
import type { ConfigEntry } from '../../../src/config/types';
import { toCloudEvent } from '../../../src/events/cloudevent';
import type { RouterEvent } from '../../../src/events/types';
import type { Fields, Logger } from '../../../src/log/logger';
import { RouterMetrics } from '../../../src/metrics/metrics';
import { eventBridgeProcessor } from '../../../src/processor/aws_event_bridge/definition';
import { testProcessor, type TestProcessor } from '../../helpers/processor';
import { EventBridgeSink } from '../../../src/processor/aws_event_bridge/eventbridge-sink';
import { EventBridgeEndpoint } from '../../peers/eventbridge-endpoint';
import { readOptions } from '../../../src/config/options';
import { eventBridgeOptions } from '../../../src/processor/aws_event_bridge/options';

export const REGION = 'eu-central-1';
export const ACCOUNT = '123456789012';
export const RULE_NAME = 'vmware-event-router';
export const ARN = `arn:aws:events:${REGION}:${ACCOUNT}:rule/${RULE_NAME}`;
export const KEY_ID = 'AKIATESTROUTER00001';
export const SECRET = 'tEsT/sEcReT+kEy/ThAt-MuSt-NeVeR-bE-LoGgEd';
export const VC_SOURCE = 'https://vc01.example.com:443/sdk';

/** The seed README's pattern, verbatim. */
export const SEED_PATTERN = {
  detail: { subject: ['VmPoweredOnEvent', 'VmPoweredOffEvent', 'DrsVmPoweredOnEvent'] },
};

/** A logger keeping every line raw (no redaction), to prove secrets are never passed to it. */
export class CaptureLogger implements Logger {
  constructor(
    readonly lines: string[] = [],
    private readonly base: Fields = {},
  ) {}
  private emit(level: string, msg: string, fields?: Fields): void {
    const all = { ...this.base, ...fields };
    const flat = Object.fromEntries(
      Object.entries(all).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
    );
    this.lines.push(JSON.stringify({ level, msg, ...flat }));
  }
  debug(m: string, f?: Fields) {
    this.emit('debug', m, f);
  }
  info(m: string, f?: Fields) {
    this.emit('info', m, f);
  }
  warn(m: string, f?: Fields) {
    this.emit('warn', m, f);
  }
  error(m: string, f?: Fields) {
    this.emit('error', m, f);
  }
  child(fields: Fields): Logger {
    return new CaptureLogger(this.lines, { ...this.base, ...fields });
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export function makeCtx(): ComponentContext & { logger: CaptureLogger } {
  return { logger: new CaptureLogger(), metrics: new RouterMetrics({ defaultMetrics: false }) };
}

/** `tls`: serve https with this key and certificate (PEM text). */
export async function startEndpoint(
  pattern: unknown = SEED_PATTERN,
  tls?: { key: string; cert: string },
): Promise<EventBridgeEndpoint> {
  const ep = await new EventBridgeEndpoint({ region: REGION, credentials: { [KEY_ID]: SECRET } }).start(tls);
  ep.setRules('default', [
    {
      Name: 'other-rule',
      Arn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/other-rule`,
      EventPattern: '{"source":["x"]}',
    },
    { Name: RULE_NAME, Arn: ARN, EventPattern: JSON.stringify(pattern) },
  ]);
  return ep;
}

export function entryFor(
  ep: EventBridgeEndpoint,
  options: Record<string, string | number> = {},
  secret: string | null = SECRET,
): ConfigEntry {
  return {
    type: 'processor',
    provider: 'aws_event_bridge',
    ...(secret === null
      ? {}
      : {
          auth: {
            method: 'access_key',
            secret: { aws_access_key_id: KEY_ID, aws_secret_access_key: secret },
          },
        }),
    options: {
      aws_region: REGION,
      aws_eventbridge_rule_arn: ARN,
      aws_eventbridge_event_bus: 'default',
      aws_eventbridge_endpoint: ep.url,
      ...options,
    },
  };
}

/** A processor with short retry backoffs (the production defaults are seconds). */
export function makeProcessor(
  ep: EventBridgeEndpoint,
  ctx: ComponentContext,
  options: Record<string, string | number> = {},
  secret: string | null = SECRET,
): EventBridgeTestProcessor {
  const entry = entryFor(ep, options, secret);
  const sink = new EventBridgeSink(entry, readOptions(eventBridgeOptions, entry), ctx, {
    backoffBaseMs: 5,
    backoffMaxMs: 50,
  });
  return testProcessor(eventBridgeProcessor, sink, entry, ctx, { backoff: { baseMs: 5, maxMs: 50 } });
}

export type EventBridgeTestProcessor = TestProcessor<EventBridgeSink>;

let nextKey = 1000;

export function vmEvent(className: string, extra: Record<string, unknown> = {}): RouterEvent {
  const key = nextKey++;
  return toCloudEvent(
    {
      className,
      key,
      createdTime: '2024-05-06T07:08:09.123456Z',
      data: {
        Key: key,
        ChainId: key,
        CreatedTime: '2024-05-06T07:08:09.123456Z',
        UserName: 'VSPHERE.LOCAL\\Administrator',
        Vm: { Name: `web-${key}`, Vm: { Type: 'VirtualMachine', Value: `vm-${key}` } },
        FullFormattedMessage: `${className} ${key}`,
        ...extra,
      },
    },
    VC_SOURCE,
    '0b1d2c3e-4f50-6172-8394-a5b6c7d8e9f0',
  );
}

/** The value of one of the processor's own Prometheus series. */
export async function metricValue(
  ctx: ComponentContext,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = ctx.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
    )
    .reduce((n, v) => n + v.value, 0);
}
