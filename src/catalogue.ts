/**
 * The catalogue: every component the router knows, and the configuration
 * functions bound to it. Adding a sink is its folder under src/processor/ and
 * one line in `sinks` below; the config schema, the generated reference, the
 * router and `validate -connect` all take the components from here (the
 * config module never reaches up to them).
 */
import type { ComponentDefinition } from './components/component';
import type { JsonSchema } from './config/json-schema';
import { loadConfigWith, parseConfigWith, validateConfigWith } from './config/load';
import { type AnyDefinition, buildConfigSchema } from './config/schema';
import type { ConfigEntry, RouterConfig } from './config/types';
import type { Sink } from './delivery/sink';
import { kubernetesCoordination } from './coordination/kubernetes/definition';
import { natsCoordination } from './coordination/nats/definition';
import { eventLogDefinition } from './eventlog/definition';
import { internalMetrics } from './metrics/definition';
import { eventBridgeProcessor } from './processor/aws_event_bridge/definition';
import { eventStreamProcessor } from './processor/event_stream/definition';
import { knativeProcessor } from './processor/knative/definition';
import { natsJetStreamProcessor } from './processor/nats_jetstream/definition';
import { openfaasProcessor } from './processor/openfaas/definition';
import { stdoutProcessor } from './processor/stdout/definition';
import { vcenterStream } from './stream/vcenter/definition';
import { webhookStream } from './stream/webhook/definition';
import type { Stream } from './stream/stream';

/** Every stream provider. */
export const streams: ComponentDefinition<Stream>[] = [vcenterStream, webhookStream];

/** Every sink, selected by a processor entry's provider. */
export const sinks: ComponentDefinition<Sink>[] = [
  openfaasProcessor,
  eventBridgeProcessor,
  knativeProcessor,
  stdoutProcessor,
  eventStreamProcessor,
  natsJetStreamProcessor,
];

/** Every store that replicas can share the streams through. */
export const coordinations = [kubernetesCoordination, natsCoordination];

export const components: AnyDefinition[] = [
  ...streams,
  ...sinks,
  internalMetrics,
  eventLogDefinition,
  ...coordinations,
];

/** The registered definition for an entry's provider. */
export function definitionFor<T>(list: ComponentDefinition<T>[], entry: ConfigEntry): ComponentDefinition<T> {
  const def = list.find((d) => d.provider === entry.provider);
  // The schema admits only registered providers; reaching this is a programming error.
  if (!def)
    throw new Error(
      `no component registered for ${entry.type}/${entry.provider} (known: ${components.map((c) => c.provider).join(', ')})`,
    );
  return def;
}

export function configSchema(): JsonSchema {
  return buildConfigSchema(components);
}

/** Validate parsed JSON; returns the problems (empty when valid). */
export function validateConfig(data: unknown): string[] {
  return validateConfigWith(components, data);
}

export function parseConfig(text: string, file: string): RouterConfig {
  return parseConfigWith(components, text, file);
}

export function loadConfig(file: string): RouterConfig {
  return loadConfigWith(components, file);
}
