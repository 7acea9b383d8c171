/**
 * The catalogue: every component the router knows, and the configuration
 * functions bound to it. Config validation gets the components from here
 * (the config module never reaches up into the registries).
 */
import type { ComponentDefinition, JsonSchema } from './components/component';
import { loadConfigWith, parseConfigWith, validateConfigWith } from './config/load';
import { type AnyDefinition, buildConfigSchema } from './config/schema';
import type { ConfigEntry, RouterConfig } from './config/types';
import { kubernetesCoordination } from './coordination/kubernetes/definition';
import { natsCoordination } from './coordination/nats/definition';
import { eventLogDefinition } from './eventlog/definition';
import { internalMetrics } from './metrics/definition';
import { processors } from './processor/registry';
import { streams } from './stream/registry';

export const coordinations = [kubernetesCoordination, natsCoordination];

export const components: AnyDefinition[] = [
  ...streams,
  ...processors,
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
