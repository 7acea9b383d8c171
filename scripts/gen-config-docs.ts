/**
 * Writes `docs/configuration.md`, the configuration reference, from the JSON
 * Schema that the router validates configs with (`buildConfigSchema()`, the
 * same schema as `config.schema.json`). Per entry kind and provider: fields,
 * auth methods and their secret keys, options (type, default, description)
 * and an example taken from `config-examples/` (those files are validated
 * against the schema by test/packaging/examples.test.ts). Generated: do not
 * edit the Markdown by hand.
 *
 *   npx tsc -p . && node dist/scripts/gen-config-docs.js      (or: make docs)
 *
 * test/packaging/docs.test.ts fails when the committed file is stale.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonSchema } from '../src/config/json-schema';
import { components, configSchema } from '../src/catalogue';
import { v1alpha1Schema } from '../src/config/v1alpha1';
import { formatLike, REGENERATE, repoRoot } from './gen-config-schema';

export const DOCS_FILE = path.join('docs', 'configuration.md');
const EXAMPLES_DIR = 'config-examples';

type Schema = JsonSchema & {
  type?: string;
  description?: string;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  anyOf?: Schema[];
  items?: Schema;
  minItems?: number;
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  if?: Schema;
  then?: Schema;
};

const code = (v: unknown): string => '`' + (typeof v === 'string' ? v : JSON.stringify(v)) + '`';
/** Table cells: no pipes or newlines. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function values(s: Schema): unknown[] {
  if (s.const !== undefined) return [s.const];
  return s.enum ?? [];
}

/** Splits "Text (default X)" into the text and the default. */
function splitDefault(description = ''): { text: string; def?: string } {
  const m = /\s*\(default ([^)]+)\)\s*$/.exec(description);
  if (!m) return { text: description };
  return { text: description.slice(0, m.index), def: m[1] };
}

/** A readable type for an option schema (the shapes built in src/config/schema-parts.ts). */
function typeOf(s: Schema): string {
  if (s.anyOf) {
    const types = s.anyOf.map((b) => b.type);
    if (types.includes('boolean')) return 'boolean (`true`/`false`, or the string `"true"`/`"false"`)';
    const int = s.anyOf.find((b) => b.type === 'integer');
    if (int)
      return `integer${int.minimum !== undefined ? ` ≥ ${int.minimum}` : ''} (a number or a string of digits)`;
    return s.anyOf.map(typeOf).join(' or ');
  }
  if (s.type === 'array' && s.items)
    return `array of ${typeOf(s.items)}s${s.minItems ? ` (at least ${s.minItems})` : ''}`;
  let t = s.type ?? 'any';
  if (s.pattern) t += ` matching ${code(s.pattern)}`;
  return t;
}

interface AuthMethod {
  method: string;
  keys: string[];
}

/** The auth methods of an entry and each method's secret keys (src/config/schema-parts.ts authSchema). */
function authMethods(auth: Schema): AuthMethod[] {
  const names = (auth.properties?.method?.enum ?? []) as string[];
  return names.map((method) => {
    const branch = (auth.allOf ?? []).find((b) => b.if?.properties?.method?.const === method);
    const secret = branch?.then?.properties?.secret;
    return { method, keys: Object.keys(secret?.properties ?? {}) };
  });
}

interface Example {
  file: string;
  entry: Record<string, unknown>;
}

function loadExamples(root: string): Example[] {
  const dir = path.join(root, EXAMPLES_DIR);
  const out: Example[] = [];
  // By name without the extension: event-stream.json (the deployment's) before event-stream-simulator.json.
  const base = (n: string) => n.replace(/\.json$/, '');
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort((a, b) => (base(a) < base(b) ? -1 : base(a) > base(b) ? 1 : 0))) {
    const data = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as unknown;
    if (!Array.isArray(data)) continue;
    for (const entry of data as Record<string, unknown>[]) out.push({ file: `${EXAMPLES_DIR}/${f}`, entry });
  }
  return out;
}

function entrySection(defKey: string, schema: Schema, oneLine: string, examples: Example[]): string[] {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const types = values(props.type);
  const providers = values(props.provider);
  const lines: string[] = [];
  const kind = defKey.slice(0, defKey.indexOf('_'));
  lines.push(`## ${kind}: ${providers.map(code).join(' / ')}`, '');
  lines.push(`${oneLine}.`, '');

  lines.push('| field | required | value |', '| --- | --- | --- |');
  lines.push(
    `| \`type\` | yes | ${types.map(code).join(' or ')}${types.length > 1 ? ' (both spellings are accepted)' : ''} |`,
  );
  lines.push(`| \`provider\` | yes | ${providers.map(code).join(' or ')} |`);
  const address = props.address ?? {};
  lines.push(
    `| \`address\` | ${required.has('address') ? 'yes' : 'no'} | ${cell(address.description ?? '')}${address.pattern ? cell(` (pattern ${code(address.pattern)})`) : ''} |`,
  );
  const auth = props.auth;
  if (auth) {
    lines.push(
      `| \`auth\` | ${required.has('auth') ? 'yes' : 'no'} | \`method\` and, for methods with secret keys, \`secret\` (see below) |`,
    );
  } else {
    lines.push('| `auth` | no | not used by this provider |');
  }
  const options = props.options ?? {};
  const optionProps = options.properties ?? {};
  const optionRequired = new Set(options.required ?? []);
  lines.push(
    `| \`options\` | ${required.has('options') ? 'yes' : 'no'} | ${Object.keys(optionProps).length ? 'see below' : 'none (must be empty or left out)'} |`,
  );
  lines.push('');
  lines.push('Unknown keys are rejected at every level, with a "did you mean" hint.', '');

  if (auth) {
    lines.push('### Authentication', '');
    if (!required.has('auth')) lines.push('`auth` may be left out.', '');
    lines.push('| `auth.method` | `auth.secret` keys |', '| --- | --- |');
    for (const m of authMethods(auth)) {
      lines.push(
        `| ${code(m.method)} | ${m.keys.length ? m.keys.map(code).join(', ') + ' (all required, non-empty strings)' : 'none: leave `secret` out'} |`,
      );
    }
    lines.push('', 'Secret values are never printed, in errors or in logs.', '');
  }

  if (Object.keys(optionProps).length) {
    lines.push('### Options', '');
    lines.push('| option | type | required | default | description |', '| --- | --- | --- | --- | --- |');
    for (const [name, s] of Object.entries(optionProps)) {
      const split = splitDefault(s.description);
      const text = split.text;
      // The schema's own `default` is the one place a default is written; "(default X)" in a
      // description is for values the schema cannot hold as a default.
      const def = s.default !== undefined ? JSON.stringify(s.default) : split.def;
      lines.push(
        `| \`${name}\` | ${cell(typeOf(s))} | ${optionRequired.has(name) ? 'yes' : 'no'} | ${def ? cell(def) : '—'} | ${cell(text)} |`,
      );
    }
    lines.push('');
  }

  const example = examples.find((e) => types.includes(e.entry.type) && providers.includes(e.entry.provider));
  lines.push('### Example', '');
  if (example) {
    lines.push(`From [${example.file}](../${example.file}):`, '');
    lines.push('```json', JSON.stringify(example.entry, null, 2), '```', '');
  } else {
    lines.push(`No file in \`${EXAMPLES_DIR}/\` uses this entry yet.`, '');
  }
  return lines;
}

/** The content of docs/configuration.md. */
export function generateConfigDocs(): string {
  const root = repoRoot();
  const schema = configSchema() as Schema & { $defs: Record<string, Schema> };
  const examples = loadExamples(root);
  const lines: string[] = [
    '# Configuration reference',
    '',
    `<!-- Generated by scripts/gen-config-docs.ts from the configuration JSON Schema; do not edit. Regenerate: ${REGENERATE} -->`,
    '',
    `${schema.description ?? ''}`,
    '',
    'The router reads the file given by `-config` (default `/etc/vmware-event-router/config`). ' +
      'Check a file without starting the router: `vmware-event-router validate -config FILE`. ' +
      'The same schema is in [config.schema.json](../config.schema.json) for editors. ' +
      'Every problem is reported with its JSON path (`/1/options/aws_region`), what was expected and what was found.',
    '',
    '| kind | `type` | `provider` | what it does |',
    '| --- | --- | --- | --- |',
  ];
  const sections: string[] = [];
  for (const def of components) {
    const key = `${def.kind}_${def.provider}`;
    const entry = schema.$defs[key];
    if (!entry) throw new Error(`schema has no $defs/${key}`);
    const props = entry.properties ?? {};
    lines.push(
      `| ${def.kind} | ${values(props.type ?? {})
        .map(code)
        .join(' / ')} | [${values(props.provider ?? {})
        .map(code)
        .join(' / ')}](#${anchor(def.kind, values(props.provider ?? {}))}) | ${cell(def.description)} |`,
    );
    sections.push(...entrySection(key, entry, def.description, examples));
  }
  lines.push('', 'Exactly one stream, one processor and one metrics entry are required.', '', ...sections);
  lines.push(...v1alpha1Section());
  const file = path.join(root, DOCS_FILE);
  return formatLike(file, lines.join('\n') + '\n');
}

/** The values a key takes when the schema fixes them (`const`, `enum`), as the table shows them. */
function allowedValues(s: Schema): string {
  const { const: fixed, enum: values } = s as { const?: unknown; enum?: unknown[] };
  if (fixed !== undefined) return `\`${String(fixed)}\``;
  if (values) return `one of ${values.map((v) => `\`${String(v)}\``).join(', ')}`;
  return '';
}

/** Every key path of the v1alpha1 schema with its description and fixed values (`a.b.c`). */
function v1alpha1Keys(s: Schema, prefix: string, out: Array<[string, string]>): void {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    out.push([key, [sub.description, allowedValues(sub)].filter(Boolean).join(': ')]);
    v1alpha1Keys(sub, key, out);
    for (const alt of (sub as { anyOf?: Schema[] }).anyOf ?? []) v1alpha1Keys(alt, key, out);
  }
}

/** The v0.7/v0.8 RouterConfig: how each key maps onto the entries above. */
function v1alpha1Section(): string[] {
  const keys: Array<[string, string]> = [];
  v1alpha1Keys(v1alpha1Schema as Schema, '', keys);
  return [
    '## The v1alpha1 RouterConfig (v0.7/v0.8 YAML)',
    '',
    'The router also reads the YAML (or JSON) `RouterConfig` of the v0.7/v0.8 router ' +
      '(`apiVersion: event-router.vmware.com/v1alpha1`, `kind: RouterConfig`): a file that is a JSON array is ' +
      'the format above; a document with `apiVersion`/`kind` is this one. It is validated against its own schema ' +
      '(unknown keys rejected with a "did you mean", JSON paths such as `/eventProvider/vcenter/insecureSSL`, ' +
      'passwords and secret keys never shown), then mapped onto the entries above, which are validated as usual:',
    '',
    '| v1alpha1 | maps onto |',
    '| --- | --- |',
    '| `eventProvider.type: vcenter` / `vcsim` | stream `vmware_vcenter`: `address`; `insecureSSL` → `options.insecure`; `checkpoint`, `checkpointDir` → `options.checkpoint`, `options.checkpoint_dir`; `auth.basicAuth` → `user_password` |',
    '| `eventProvider.type: webhook` | stream `webhook`: `bindAddress` → `address`, `path` → `options.path`; `auth.basicAuth` → `basic_auth` (none when left out) |',
    '| `eventProvider.type: horizon` | not supported: a start error |',
    '| `eventProcessor.type: openfaas` | processor `openfaas`: `address`, `async` → `options.async`, `auth.basicAuth` → `basic_auth` (none when left out) |',
    '| `eventProcessor.type: aws_event_bridge` / `awsEventBridge` | processor `aws_event_bridge`: `region`, `eventBus`, `ruleARN` → `options.aws_region`, `aws_eventbridge_event_bus`, `aws_eventbridge_rule_arn`; `aws_access_key` → `access_key`; `aws_iam_role` → no `auth` (the AWS default credential chain) |',
    '| `eventProcessor.type: knative` | processor `knative`: `destination.uri` (a URL, or `{scheme, host, path}`) → `address`; `encoding` → `options.encoding`; `insecureSSL` → `options.insecure`; `destination.ref` needs the Kubernetes API: a start error that says to use `uri` |',
    '| `metricsProvider.type: default` | metrics `internal`: `default.bindAddress` → `address`, `default.auth.basicAuth` → `basic_auth` (none when left out) |',
    '| `certificates.rootCAs` | the router entry (`event_log`): `options.root_cas`, trusted for the vCenter and every processor |',
    '| `metadata`, the `name`s | `metadata` is checked and ignored; each section `name` becomes the entry `name` |',
    '',
    'Every key of the format:',
    '',
    '| key | description |',
    '| --- | --- |',
    ...keys.map(([k, d]) => `| \`${k}\` | ${cell(d)} |`),
    '',
  ];
}

/** GitHub's heading anchor for `## kind: \`a\` / \`b\``. */
function anchor(kind: string, providers: unknown[]): string {
  return `${kind}: ${providers.map((p) => String(p)).join(' / ')}`
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

function main(): void {
  const file = path.join(repoRoot(), DOCS_FILE);
  writeFileSync(file, generateConfigDocs());
  process.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}\n`);
}

if (require.main === module) {
  main();
}
