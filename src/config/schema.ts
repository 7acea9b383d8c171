/**
 * The configuration file's JSON Schema, assembled from the registered
 * components. This is the only validation of config: components trust what
 * passed it. `config.schema.json` at the repository root is written from here
 * by `scripts/gen-config-schema.ts` (for editors), and a test keeps it current.
 */
import type { ComponentDefinition, ComponentKind, JsonSchema } from '../components/component';
import { internalMetrics } from '../metrics/definition';
import { processors } from '../processor/registry';
import { streams } from '../stream/registry';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDefinition = ComponentDefinition<any>;

export const components: AnyDefinition[] = [...streams, ...processors, internalMetrics];

/** The `type` values that select each kind (the metrics entry is accepted under both spellings). */
export const KIND_TYPES: Record<ComponentKind, string[]> = {
  stream: ['stream'],
  processor: ['processor'],
  metrics: ['metrics', 'internal'],
};

/** Which kind an entry is, by its `type` (and `provider` for the ambiguous metrics spelling). */
export function kindOf(entry: { type?: unknown }): ComponentKind | undefined {
  for (const [kind, types] of Object.entries(KIND_TYPES) as [ComponentKind, string[]][]) {
    if (typeof entry.type === 'string' && types.includes(entry.type)) return kind;
  }
  return undefined;
}

function typeMatch(def: AnyDefinition): JsonSchema {
  const props = def.schema.properties as Record<string, JsonSchema>;
  return { properties: { type: props.type, provider: props.provider }, required: ['type', 'provider'] };
}

export function buildConfigSchema(): JsonSchema {
  const allTypes = [...new Set(Object.values(KIND_TYPES).flat())];
  const allProviders = [...new Set(components.map((c) => c.provider).concat(['metrics']))];
  const item: JsonSchema = {
    type: 'object',
    properties: {
      type: { type: 'string', enum: allTypes },
      provider: { type: 'string', enum: allProviders },
    },
    required: ['type', 'provider'],
    // Exactly one registered component must claim the entry.
    anyOf: components.map(typeMatch),
    allOf: components.map((def) => ({
      if: typeMatch(def),
      then: { $ref: `#/$defs/${def.kind}_${def.provider}` },
    })),
  };
  const $defs: Record<string, JsonSchema> = {};
  for (const def of components) $defs[`${def.kind}_${def.provider}`] = def.schema;
  const exactlyOne = (kind: ComponentKind): JsonSchema => ({
    $comment: `exactly one ${kind} entry`,
    contains: { properties: { type: { enum: KIND_TYPES[kind] } }, required: ['type'] },
    minContains: 1,
    maxContains: 1,
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/vmware-event-router/config.schema.json',
    title: 'vmware-event-router configuration',
    description:
      'A JSON array with exactly one stream, one processor and one metrics entry. Boolean options accept "true"/"false" strings (as the original router) or JSON booleans.',
    type: 'array',
    items: item,
    allOf: [exactlyOne('stream'), exactlyOne('processor'), exactlyOne('metrics')],
    $defs,
  };
}
