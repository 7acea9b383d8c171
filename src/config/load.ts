/**
 * Reads and validates the configuration file. Every problem is reported at
 * once, each naming its JSON path (`/1/options/aws_region`), what was
 * expected and what was found. Values under `auth.secret` are never shown,
 * and every secret is registered for redaction before anything is logged.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ErrorObject } from 'ajv';
import { registerSecret } from '../log/logger';
import { validate as validateEntries } from './entries-validator.generated';
import type { KeywordContext } from './keywords';
import { type AnyDefinition, KIND_TYPES, kindOf } from './schema';
import { isSecretKey, type ConfigEntry, type RouterConfig } from './types';
import { isV1alpha1, isV1alpha1SecretPath, mapV1alpha1, v1alpha1Secrets } from './v1alpha1';

/** At most this many problems are listed; the rest are counted ("... and 219,983 more"). */
export const MAX_LISTED_PROBLEMS = 20;

/** The first `max` problems, then how many more there are. */
export function listProblems(problems: string[], max = MAX_LISTED_PROBLEMS): string[] {
  if (problems.length <= max) return problems;
  return [...problems.slice(0, max), `... and ${problems.length - max} more`];
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
    /** A file refused unread (not a regular file, over 1 MiB) is said in one line. */
    oneLine = false,
  ) {
    super(
      oneLine
        ? `invalid configuration ${file}: ${problems.join('; ')}`
        : `invalid configuration ${file}:\n` +
            listProblems(problems)
              .map((p) => `  - ${p}`)
              .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** A validator ajv generated at build time: true when valid, else its errors are left on it. */
interface GeneratedValidator {
  (this: KeywordContext, data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** Run a generated validator; its errors (empty when valid). */
function run(validate: GeneratedValidator, components: AnyDefinition[], data: unknown): ErrorObject[] {
  return validate.call({ components }, data) ? [] : (validate.errors ?? []);
}

function isSecretPath(path: string): boolean {
  return /\/auth\/secret(\/|$)/.test(path) || isV1alpha1SecretPath(path);
}

/** Credentials inside URLs are secrets too. */
function maskUrlCredentials(s: string): string {
  return s.replace(/(\/\/)[^/@\s]*@/g, '$1*****@');
}

function shown(path: string, value: unknown): string {
  if (isSecretPath(path)) return '(secret, not shown)';
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(maskUrlCredentials(value.length > 80 ? value.slice(0, 77) + '...' : value));
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...new Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The closest allowed key, when it is close enough to be a likely typo. */
export function didYouMean(key: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const dd = distance(key.toLowerCase(), a.toLowerCase());
    if (dd < bestD) {
      bestD = dd;
      best = a;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function describe(e: ErrorObject, root: unknown[], components: AnyDefinition[]): string | undefined {
  const path = e.instancePath || '/';
  switch (e.keyword) {
    case 'eventPattern':
      return `${path}: invalid filter pattern: ${e.message ?? 'invalid'}`;
    case 'componentNames':
      return `${path}: ${e.message ?? 'invalid name'}`;
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const hint = didYouMean(key, allowed);
      const where = `${e.instancePath}/${key}`;
      return `${where}: unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed here: ${allowed.join(', ') || 'none'}`;
    }
    case 'required':
      return `${path}: missing required key "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'type':
      return `${path}: expected ${(e.params as { type: string }).type}, found ${shown(path, e.data)}`;
    case 'const':
      return `${path}: expected ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}, found ${shown(path, e.data)}`;
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues ?? [];
      const strings = allowed.filter((v): v is string => typeof v === 'string');
      const hint = typeof e.data === 'string' ? didYouMean(e.data, strings) : undefined;
      return `${path}: expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, found ${shown(path, e.data)}${hint ? ` (did you mean "${hint}"?)` : ''}`;
    }
    case 'pattern': {
      // The description says what is expected; a long pattern (ports 0-65535) would only be noise.
      const pattern = (e.params as { pattern: string }).pattern;
      const described = String((e.parentSchema as { description?: string })?.description ?? 'value');
      return `${path}: ${described} expected${pattern.length <= 60 ? ` (pattern ${pattern})` : ''}, found ${shown(path, e.data)}`;
    }
    case 'minLength':
      return `${path}: must not be empty`;
    case 'minimum':
      return `${path}: must be at least ${(e.params as { limit: number }).limit}, found ${shown(path, e.data)}`;
    case 'not':
      return `${path}: "secret" is not allowed with this auth method`;
    case 'anyOf': {
      const schema = e.parentSchema as { anyOf?: Array<{ properties?: { type?: unknown } }> };
      if (schema.anyOf?.[0]?.properties?.type !== undefined)
        return unknownComponent(path, e.data, components);
      const branches = (e.parentSchema as { anyOf?: Array<{ type?: string }> }).anyOf ?? [];
      if (branches.some((b) => b.type === 'boolean'))
        return `${path}: expected true or false (a JSON boolean, or the string "true" or "false"), found ${shown(path, e.data)}`;
      if (branches.some((b) => b.type === 'integer'))
        return `${path}: expected an integer (a JSON number or a string of digits), found ${shown(path, e.data)}`;
      return `${path}: expected a value as documented, found ${shown(path, e.data)}`;
    }
    case 'contains': {
      const kind = (String((e.parentSchema as { $comment?: string }).$comment ?? '').match(
        /one (\w+) entry/,
      ) ?? [])[1];
      const n = root.filter((x) => x && typeof x === 'object' && kindOf(x as ConfigEntry) === kind).length;
      return n === 0
        ? `/: a ${kind} entry is required (found none)`
        : `/: one ${kind} entry is allowed, found ${n} (the original router silently kept the last one)`;
    }
    case 'if':
      return undefined; // reported through the failing `then` branch's own errors
    default:
      return `${path}: ${e.message ?? 'invalid'}`;
  }
}

/**
 * An entry no component claims: one line that says which part is wrong and
 * the closest known value (a misspelled `type`, or a provider unknown for
 * that type).
 */
function unknownComponent(path: string, data: unknown, components: AnyDefinition[]): string {
  const entry = (data ?? {}) as { type?: unknown; provider?: unknown };
  const kind = kindOf(entry);
  if (!kind) {
    const types = [...new Set(Object.values(KIND_TYPES).flat())];
    const hint = typeof entry.type === 'string' ? didYouMean(entry.type, types) : undefined;
    return `${path}/type: expected one of the entry types ${types.join(', ')}, found ${shown(path + '/type', entry.type)}${hint ? ` (did you mean "${hint}"?)` : ''}`;
  }
  const providers = components.filter((c) => c.kind === kind).map((c) => c.provider);
  const hint = typeof entry.provider === 'string' ? didYouMean(entry.provider, providers) : undefined;
  return `${path}/provider: expected one of the ${kind} providers ${providers.join(', ')}, found ${shown(path + '/provider', entry.provider)}${hint ? ` (did you mean "${hint}"?)` : ''}`;
}

/**
 * ajv reports every failing branch of an `anyOf` and every item a `contains`
 * looked at; for the operator those are noise beside the one summary line.
 */
function withoutBranchNoise(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  const unknownEntries = anyOfs.filter((e) => e.schemaPath === '#/items/anyOf').map((e) => e.instancePath);
  return errors.filter((e) => {
    if (e.schemaPath.includes('/contains/')) return false;
    // A misspelled entry also fails the "at least one processor" count: its own line says why.
    if (e.keyword === 'contains' && unknownEntries.length > 0) return false;
    if (e.keyword === 'anyOf') return true;
    if (anyOfs.some((a) => a.instancePath === e.instancePath && e.schemaPath.startsWith(a.schemaPath + '/')))
      return false;
    // type/provider enums of an entry no component claims.
    return !unknownEntries.some((p) => e.instancePath === `${p}/type` || e.instancePath === `${p}/provider`);
  });
}

/**
 * Validate parsed JSON against the components' schema; returns the problems
 * (empty when valid). The schema's validator was generated from the
 * catalogue's components (scripts/gen-config-validator.ts; a test keeps it
 * current): `components` are the catalogue's.
 */
export function validateConfigWith(components: AnyDefinition[], data: unknown): string[] {
  const errors = run(validateEntries as GeneratedValidator, components, data);
  if (errors.length === 0) return [];
  const root = Array.isArray(data) ? data : [];
  const problems = withoutBranchNoise(errors)
    .map((e) => describe(e, root, components))
    .filter((p): p is string => p !== undefined);
  // anyOf errors for options come with a type error per branch: keep the summary line only.
  const deduped = [...new Set(problems)].filter(
    (p, _, all) =>
      !(
        /: expected (boolean|integer|string), found/.test(p) &&
        all.some((q) => q.startsWith(p.split(':')[0] + ': expected a boolean'))
      ),
  );
  return deduped;
}

function jsonErrorLocation(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return '';
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

/**
 * Aliases a YAML file may use. A real configuration shares a password or an
 * address a few times; a billion-laughs bomb needs dozens, each multiplying
 * what the secret walk and the validation would visit.
 */
export const MAX_YAML_ALIASES = 64;

/**
 * Nodes a YAML document may expand to, aliases followed: a file without
 * aliases has at most about one node per character, so anything beyond the
 * file's length (or this floor, for a small file) is alias amplification.
 */
const MIN_YAML_NODE_BUDGET = 10_000;

/** Whether `data`, aliases followed, has more than `budget` nodes (stops counting there). */
function expandsBeyond(data: unknown, budget: number): boolean {
  let left = budget;
  const stack: unknown[] = [data];
  while (stack.length) {
    const v = stack.pop();
    if (--left < 0) return true;
    if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return false;
}

/**
 * What kind of YAML error `reason` is, without the text it quotes: an alias
 * name, a tag or a tag handle is the file's own text and may be a password
 * typed in the wrong place (`password: *Sup3r`).
 */
function yamlErrorKind(reason: string | undefined): string {
  const kind = (reason ?? '').split(/["'`!<:]/)[0].trim();
  return kind === '' ? 'syntax error' : kind;
}

/** js-yaml, loaded on first use: a JSON configuration never needs the YAML parser. */
function yamlParser(): typeof import('js-yaml') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('js-yaml');
}

/** The file's text as data: JSON (today's array), else YAML (a v1alpha1 RouterConfig). Never quotes the text. */
function parseText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // A JSON array is today's format: its syntax errors are JSON errors.
    if (text.trimStart().startsWith('[') || text.trim() === '')
      throw new ConfigError(file, [`not valid JSON${jsonErrorLocation(text, err as Error)}`]);
  }
  const notYaml = (where: string, kind: string): ConfigError =>
    new ConfigError(file, [
      `not valid JSON or YAML${where} (${kind}): expected a JSON array of entries, or a v1alpha1 RouterConfig document`,
    ]);
  let data: unknown;
  try {
    const { CORE_SCHEMA, load } = yamlParser();
    data = load(text, { schema: CORE_SCHEMA, maxAliases: MAX_YAML_ALIASES });
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number } };
    const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw notYaml(where, yamlErrorKind(e.reason));
  }
  if (expandsBeyond(data, Math.max(MIN_YAML_NODE_BUDGET, text.length)))
    throw notYaml('', 'its aliases expand it beyond what the file could hold without them');
  return data;
}

/** The v1alpha1 document's validator, loaded on first use: a JSON array never needs it. */
function v1alpha1Validator(): GeneratedValidator {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const generated: typeof import('./v1alpha1-validator.generated') = require('./v1alpha1-validator.generated');
  return generated.validate as GeneratedValidator;
}

/** Validate a v1alpha1 RouterConfig document; returns the problems (empty when valid). */
export function validateV1alpha1(components: AnyDefinition[], data: unknown): string[] {
  const errors = run(v1alpha1Validator(), components, data);
  if (errors.length === 0) return [];
  return [
    ...new Set(
      withoutBranchNoise(errors)
        .map((e) => describe(e, [], components))
        .filter((p): p is string => p !== undefined),
    ),
  ];
}

/**
 * A v1alpha1 document: its own schema first, then its mapping onto array
 * entries, then the array validation of those entries (its messages point
 * back at the document's section).
 */
function fromV1alpha1(
  components: AnyDefinition[],
  data: Record<string, unknown>,
  file: string,
): ConfigEntry[] {
  for (const s of v1alpha1Secrets(data)) registerSecret(s);
  const problems = validateV1alpha1(components, data);
  if (problems.length) throw new ConfigError(file, problems);
  const mapped = mapV1alpha1(data);
  if (mapped.problems.length) throw new ConfigError(file, mapped.problems);
  const entries = mapped.entries.map((m) => m.entry);
  const arrayProblems = validateConfigWith(components, entries).map((p) => {
    const m = /^\/(\d+)(\S*): (.*)$/s.exec(p);
    if (!m) return p;
    const { from, entry } = mapped.entries[Number(m[1])];
    return `${from} (mapped onto the ${entry.provider} entry, ${m[2] || '/'}): ${m[3]}`;
  });
  if (arrayProblems.length) throw new ConfigError(file, arrayProblems);
  return entries;
}

/** Parse config text; on error the message never quotes the file's content (it holds passwords). */
export function parseConfigWith(components: AnyDefinition[], text: string, file: string): RouterConfig {
  const data = parseText(text, file);
  let entries: ConfigEntry[];
  if (isV1alpha1(data)) {
    entries = fromV1alpha1(components, data, file);
  } else {
    if (!Array.isArray(data) && data !== null && typeof data === 'object')
      throw new ConfigError(file, [
        `/: expected array, found an object (the configuration is a JSON array of entries, or a RouterConfig document with apiVersion: event-router.vmware.com/v1alpha1 and kind: RouterConfig)`,
      ]);
    // Register secrets first: even an invalid file's secrets must never be logged.
    if (Array.isArray(data)) {
      for (const entry of data as ConfigEntry[]) {
        const secret = entry?.auth?.secret;
        if (!secret || typeof secret !== 'object') continue;
        for (const [k, v] of Object.entries(secret))
          if (isSecretKey(k) && typeof v === 'string') registerSecret(v);
      }
    }
    const problems = validateConfigWith(components, data);
    if (problems.length) throw new ConfigError(file, problems);
    entries = data as ConfigEntry[];
  }
  const all = (kind: 'stream' | 'processor' | 'metrics' | 'router' | 'coordination'): ConfigEntry[] =>
    entries.filter((e) => kindOf(e) === kind);
  return {
    streams: all('stream'),
    processors: all('processor'),
    metrics: all('metrics')[0],
    router: all('router')[0],
    coordination: all('coordination')[0],
  };
}

/** A configuration file larger than this is refused before it is read (1 MiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Why an opened file is refused before reading it, or undefined when it may be read. */
function refusal(st: Stats): string | undefined {
  if (!st.isFile())
    return `${fileKind(st)}, not a regular file: refused (the configuration must be a file; reading anything else could block the router)`;
  if (st.size > MAX_CONFIG_BYTES)
    return `${st.size} bytes, more than the ${MAX_CONFIG_BYTES} bytes (1 MiB) a configuration file may have: refused before reading`;
  return undefined;
}

function openError(file: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ConfigError(file, [
    code === 'ENOENT'
      ? 'configuration file not found'
      : `cannot read configuration file (${code ?? (err as Error).message})`,
  ]);
}

const tooLarge = (file: string): ConfigError =>
  new ConfigError(file, [`grew past ${MAX_CONFIG_BYTES} bytes (1 MiB) while being read: refused`]);

// O_NONBLOCK: opening a FIFO without a writer returns at once instead of blocking.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Read the configuration file: a regular file of at most MAX_CONFIG_BYTES,
 * checked on the opened descriptor (no race with a swap) before a byte is
 * read. Throws a one-line ConfigError otherwise. Synchronous: used at start,
 * before anything else runs.
 */
export function readConfigFileSync(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw openError(file, err);
  }
  try {
    const why = refusal(fstatSync(fd));
    if (why) throw new ConfigError(file, [why], true);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > MAX_CONFIG_BYTES) throw tooLarge(file);
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw openError(file, err);
  } finally {
    closeSync(fd);
  }
}

/** As readConfigFileSync, without blocking the event loop (the config watcher). */
export async function readConfigFile(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (err) {
    throw openError(file, err);
  }
  try {
    const why = refusal(await handle.stat());
    if (why) throw new ConfigError(file, [why], true);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = (await handle.read(buf, n, buf.length - n, null)).bytesRead) > 0;)
      n += r;
    if (n > MAX_CONFIG_BYTES) throw tooLarge(file);
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw openError(file, err);
  } finally {
    await handle.close();
  }
}

export function loadConfigWith(components: AnyDefinition[], file: string): RouterConfig {
  return parseConfigWith(components, readConfigFileSync(file), file);
}
