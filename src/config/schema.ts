/**
 * The configuration file's JSON Schema, assembled from the components the
 * catalogue (`src/catalogue.ts`) hands down. This is the only validation of
 * config: components trust what passed it. `config.schema.json` at the
 * repository root is written from here by `scripts/gen-config-schema.ts` (for
 * editors), and a test keeps it current.
 */
import type { ComponentDeclaration, ComponentKind } from './component-schema';
import type { JsonSchema } from './json-schema';
import type { ConfigEntry } from './types';

/** A component as the configuration sees it (the catalogue's definitions are these and more). */
export type AnyDefinition = ComponentDeclaration;

/** The `type` values that select each kind (the metrics entry is accepted under both spellings). */
export const KIND_TYPES: Record<ComponentKind, string[]> = {
  stream: ['stream'],
  processor: ['processor'],
  metrics: ['metrics', 'internal'],
  router: ['router'],
  coordination: ['coordination'],
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

export function buildConfigSchema(components: AnyDefinition[]): JsonSchema {
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
  const count = (kind: ComponentKind, min: number, max?: number): JsonSchema => ({
    $comment:
      max === 1
        ? min === 1
          ? `exactly one ${kind} entry`
          : `at most one ${kind} entry`
        : `at least one ${kind} entry`,
    contains: { properties: { type: { enum: KIND_TYPES[kind] } }, required: ['type'] },
    minContains: min,
    ...(max === undefined ? {} : { maxContains: max }),
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/vmware-event-router/config.schema.json',
    title: 'vmware-event-router configuration',
    description:
      'A JSON array with one or more stream entries, one or more processor entries, exactly one metrics entry, at most one router entry and at most one coordination entry. Boolean options accept "true"/"false" strings (as the original router) or JSON booleans.',
    type: 'array',
    items: item,
    allOf: [count('stream', 1), count('processor', 1), count('metrics', 1, 1), count('coordination', 0, 1)],
    // Names: required when there are several streams or two processors share a provider; unique.
    componentNames: true,
    $defs,
  };
}

/** A name problem: where, and what is wrong. */
export interface NameProblem {
  path: string;
  message: string;
}

/**
 * The names rule the `componentNames` keyword enforces: several streams need
 * a name each; two processors of one provider need a name each; no two
 * streams (or two processors) share a name.
 */
export function nameProblems(entries: unknown[], components: AnyDefinition[]): NameProblem[] {
  const problems: NameProblem[] = [];
  const coordinated = entries.some((e) => e && typeof e === 'object' && kindOf(e) === 'coordination');
  for (const kind of ['stream', 'processor'] as const) {
    const list = entries
      .map((e, i) => ({ e: e as { type?: unknown; provider?: unknown; name?: unknown }, i }))
      .filter(({ e }) => e && typeof e === 'object' && kindOf(e) === kind);
    const seen = new Map<string, number>();
    // Counted once: a file of many entries must not take a square of them to check.
    const perProvider = new Map<unknown, number>();
    for (const { e } of list) perProvider.set(e.provider, (perProvider.get(e.provider) ?? 0) + 1);
    for (const { e, i } of list) {
      const name = typeof e.name === 'string' ? e.name : undefined;
      const sameProvider = perProvider.get(e.provider) ?? 0;
      if (name === undefined) {
        if (kind === 'stream' && coordinated)
          problems.push({
            path: `/${i}`,
            message:
              'missing required key "name" (with a coordination entry every stream needs a name: its lease is named after it)',
          });
        else if (kind === 'stream' && list.length > 1)
          problems.push({
            path: `/${i}`,
            message: `missing required key "name" (the config has ${list.length} streams: each needs a unique name)`,
          });
        else if (kind === 'processor' && sameProvider > 1)
          problems.push({
            path: `/${i}`,
            message: `missing required key "name" (${sameProvider} processors of provider ${String(e.provider)}: each needs a unique name)`,
          });
        continue;
      }
      const first = seen.get(name);
      if (first !== undefined)
        problems.push({
          path: `/${i}/name`,
          message: `the ${kind} name "${name}" is already used by /${first}`,
        });
      else seen.set(name, i);
    }
  }
  problems.push(...streamOptionProblems(entries, components));
  entries.forEach((e, i) => {
    if (!e || typeof e !== 'object') return;
    const entry = e as ConfigEntry;
    const def = components.find(
      (c) => KIND_TYPES[c.kind].includes(String(entry.type)) && c.provider === entry.provider,
    );
    for (const [path, message] of def?.problems?.(entry) ?? [])
      problems.push({ path: `/${i}${path}`, message });
  });
  return problems;
}

/**
 * A processor's `options.stream` names a stream of the config (its `name`, or
 * its provider when unnamed); a stream-scoped processor (offsets are one
 * vCenter's keys) needs it when the config has several streams.
 */
function streamOptionProblems(entries: unknown[], components: AnyDefinition[]): NameProblem[] {
  const problems: NameProblem[] = [];
  const streamScoped = components
    .filter((c) => c.kind === 'processor' && c.streamScoped)
    .map((c) => c.provider);
  type Entry = { type?: unknown; provider?: unknown; name?: unknown; options?: { stream?: unknown } };
  const list = entries.map((e, i) => ({ e: e as Entry, i })).filter(({ e }) => e && typeof e === 'object');
  const streams = list.filter(({ e }) => kindOf(e) === 'stream');
  const names = streams.map(({ e }) => String(typeof e.name === 'string' ? e.name : e.provider));
  for (const { e, i } of list) {
    // Only a stream-scoped processor's `stream` names a router stream (nats_jetstream's is a JetStream stream).
    if (kindOf(e) !== 'processor' || !streamScoped.includes(String(e.provider))) continue;
    const stream = e.options && typeof e.options === 'object' ? e.options.stream : undefined;
    if (typeof stream === 'string') {
      if (!names.includes(stream))
        problems.push({
          path: `/${i}/options/stream`,
          message: `no stream is named "${stream}" (streams: ${names.map((n) => `"${n}"`).join(', ') || 'none'})`,
        });
    } else if (streams.length > 1) {
      problems.push({
        path: `/${i}/options`,
        message: `missing required option "stream" (the config has ${streams.length} streams and the offsets of ${String(e.provider)} are the keys of one: name it, one of ${names.map((n) => `"${n}"`).join(', ')})`,
      });
    }
  }
  return problems;
}
