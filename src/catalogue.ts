/**
 * The catalogue: every component the router knows, and the configuration
 * functions bound to it. Config validation gets the components from here
 * (the config module never reaches up into the registries).
 */
import type { JsonSchema } from './components/component';
import { loadConfigWith, parseConfigWith, validateConfigWith } from './config/load';
import { type AnyDefinition, buildConfigSchema } from './config/schema';
import type { RouterConfig } from './config/types';
import { eventLogDefinition } from './eventlog/definition';
import { internalMetrics } from './metrics/definition';
import { processors } from './processor/registry';
import { streams } from './stream/registry';

export const components: AnyDefinition[] = [...streams, ...processors, internalMetrics, eventLogDefinition];

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
