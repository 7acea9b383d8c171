/**
 * Amazon EventBridge event patterns, evaluated locally the way an event bus
 * evaluates a rule (AWS EventBridge user guide, "Event patterns" and
 * "Comparison operators"; semantics as in aws/event-ruler):
 *
 * - a pattern is a JSON object; every field it names must match (AND), and
 *   `$or: [{..}, {..}]` matches when any of its sub-patterns does;
 * - a leaf is an array of conditions, any of which may match (OR); when the
 *   event's value is an array, the field matches when any element does;
 * - conditions: exact strings, numbers, booleans and null; `prefix` and
 *   `suffix` (optionally `{"equals-ignore-case": ..}`), `equals-ignore-case`,
 *   `wildcard`, `anything-but` (a value, a list of strings or of numbers, or
 *   `prefix` / `suffix` / `equals-ignore-case` / `wildcard`), `numeric`,
 *   `exists`, `cidr` (IPv4 and IPv6).
 *
 * `compilePattern` rejects anything else with a `PatternError` that names
 * the place in the pattern: a rule this module cannot evaluate must be a
 * start error, never a silent pass or drop.
 */
import { cidrContains, parseCidr, parseIP } from './cidr';

export class PatternError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`event pattern${where ? ` at ${where}` : ''}: ${problem}`);
    this.name = 'PatternError';
  }
}

type Leaf = string | number | boolean | null;
type Condition = (value: Leaf) => boolean;

interface LeafField {
  kind: 'leaf';
  name: string;
  conditions: Condition[];
  existsTrue: boolean;
  existsFalse: boolean;
}

interface ObjectField {
  kind: 'object';
  name: string;
  node: Node;
}

interface Node {
  fields: Array<LeafField | ObjectField>;
  /** Each entry is one `$or`: at least one of its alternatives must match. */
  ors: Node[][];
}

/** A compiled event pattern. */
export interface EventMatcher {
  /** The pattern's canonical JSON (for comparing the rule across syncs). */
  readonly source: string;
  matches(event: unknown): boolean;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** Compile an event pattern (the rule's `EventPattern` string or the parsed object). */
export function compilePattern(pattern: string | Record<string, unknown>): EventMatcher {
  let parsed: unknown = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (err) {
      throw new PatternError('', `not valid JSON (${(err as Error).message})`);
    }
  }
  if (!isPlainObject(parsed)) throw new PatternError('', `must be a JSON object, found ${describe(parsed)}`);
  if (Object.keys(parsed).length === 0) throw new PatternError('', 'is empty: it names no field to match');
  const root = compileNode(parsed, '');
  return {
    source: JSON.stringify(parsed),
    matches: (event: unknown) => matchNode(root, event),
  };
}

function compileNode(obj: Record<string, unknown>, path: string): Node {
  const node: Node = { fields: [], ors: [] };
  for (const [key, value] of Object.entries(obj)) {
    const where = join(path, key);
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every((v) => isPlainObject(v))) {
        throw new PatternError(
          where,
          `"$or" needs an array of at least two objects, found ${describe(value)}`,
        );
      }
      node.ors.push(
        value.map((alt, i) => {
          const alternative = alt as Record<string, unknown>;
          if (Object.keys(alternative).length === 0) {
            throw new PatternError(join(where, i), 'an "$or" alternative must not be empty');
          }
          return compileNode(alternative, join(where, i));
        }),
      );
    } else if (Array.isArray(value)) {
      node.fields.push(compileLeaf(key, value, where));
    } else if (isPlainObject(value)) {
      if (Object.keys(value).length === 0) throw new PatternError(where, 'an empty object matches nothing');
      node.fields.push({ kind: 'object', name: key, node: compileNode(value, where) });
    } else {
      throw new PatternError(
        where,
        `a field's value must be an array of conditions or a nested object, found ${describe(value)}`,
      );
    }
  }
  return node;
}

function compileLeaf(name: string, values: unknown[], where: string): LeafField {
  if (values.length === 0) throw new PatternError(where, 'an empty array matches nothing');
  const field: LeafField = { kind: 'leaf', name, conditions: [], existsTrue: false, existsFalse: false };
  values.forEach((v, i) => {
    const at = join(where, i);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') {
      field.conditions.push((x) => x === v);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new PatternError(at, `not a finite number: ${v}`);
      field.conditions.push((x) => typeof x === 'number' && x === v);
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      if (keys.length !== 1) {
        throw new PatternError(at, `a condition object needs exactly one operator, found ${describe(v)}`);
      }
      const op = keys[0];
      const arg = v[op];
      if (op === 'exists') {
        if (typeof arg !== 'boolean')
          throw new PatternError(at, `"exists" needs true or false, found ${describe(arg)}`);
        if (arg) field.existsTrue = true;
        else field.existsFalse = true;
      } else {
        field.conditions.push(compileOperator(op, arg, at));
      }
    } else {
      throw new PatternError(at, `cannot evaluate the condition ${describe(v)}`);
    }
  });
  return field;
}

const str = (op: string, arg: unknown, at: string): string => {
  if (typeof arg !== 'string') throw new PatternError(at, `"${op}" needs a string, found ${describe(arg)}`);
  return arg;
};

const fold = (s: string): string => s.toLowerCase();

/** `prefix`/`suffix` argument: a string, or `{"equals-ignore-case": string}`. */
function affix(op: 'prefix' | 'suffix', arg: unknown, at: string): (s: string) => boolean {
  const test =
    op === 'prefix' ? (s: string, a: string) => s.startsWith(a) : (s: string, a: string) => s.endsWith(a);
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
      throw new PatternError(
        at,
        `"${op}" takes a string or {"equals-ignore-case": string}, found ${describe(arg)}`,
      );
    }
    const want = fold(str(`${op}.equals-ignore-case`, arg['equals-ignore-case'], at));
    return (s) => test(fold(s), want);
  }
  const want = str(op, arg, at);
  return (s) => test(s, want);
}

function wildcard(arg: string, at: string): RegExp {
  let re = '';
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i];
    if (c === '\\') {
      const next = arg[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new PatternError(
          at,
          `"wildcard" ${JSON.stringify(arg)}: a backslash may only escape "*" or "\\"`,
        );
      }
      re += '\\' + next;
      i++;
    } else if (c === '*') {
      if (arg[i + 1] === '*') {
        throw new PatternError(at, `"wildcard" ${JSON.stringify(arg)}: consecutive "*" are not allowed`);
      }
      re += '[\\s\\S]*';
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

function strings(op: string, arg: unknown, at: string): string[] {
  const list = Array.isArray(arg) ? arg : [arg];
  if (list.length === 0 || !list.every((s) => typeof s === 'string')) {
    throw new PatternError(
      at,
      `"${op}" needs a string or a non-empty list of strings, found ${describe(arg)}`,
    );
  }
  return list as string[];
}

function compileOperator(op: string, arg: unknown, at: string): Condition {
  switch (op) {
    case 'prefix':
    case 'suffix': {
      const test = affix(op, arg, at);
      return (x) => typeof x === 'string' && test(x);
    }
    case 'equals-ignore-case': {
      const want = fold(str(op, arg, at));
      return (x) => typeof x === 'string' && fold(x) === want;
    }
    case 'wildcard': {
      const re = wildcard(str(op, arg, at), at);
      return (x) => typeof x === 'string' && re.test(x);
    }
    case 'anything-but':
      return anythingBut(arg, at);
    case 'numeric':
      return numeric(arg, at);
    case 'cidr': {
      const block = parseCidr(str(op, arg, at));
      if (!block)
        throw new PatternError(at, `"cidr" needs an IPv4 or IPv6 CIDR block, found ${describe(arg)}`);
      return (x) => {
        if (typeof x !== 'string') return false;
        const ip = parseIP(x);
        return ip !== undefined && cidrContains(block, ip);
      };
    }
    default:
      throw new PatternError(at, `unknown operator "${op}" (the router cannot evaluate it)`);
  }
}

function anythingBut(arg: unknown, at: string): Condition {
  if (typeof arg === 'string') return (x) => x !== arg;
  if (typeof arg === 'number') return (x) => !(typeof x === 'number' && x === arg);
  if (Array.isArray(arg)) {
    if (arg.length > 0 && arg.every((v) => typeof v === 'string')) {
      const set = new Set(arg as string[]);
      return (x) => !(typeof x === 'string' && set.has(x));
    }
    if (arg.length > 0 && arg.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      const set = new Set(arg as number[]);
      return (x) => !(typeof x === 'number' && set.has(x));
    }
    throw new PatternError(
      at,
      `"anything-but" list must hold only strings or only numbers, found ${describe(arg)}`,
    );
  }
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1) {
      throw new PatternError(at, `"anything-but" object needs exactly one operator, found ${describe(arg)}`);
    }
    const op = keys[0];
    const inner = arg[op];
    let test: (s: string) => boolean;
    switch (op) {
      case 'prefix':
      case 'suffix': {
        const want = str(`anything-but.${op}`, inner, at);
        test = op === 'prefix' ? (s) => s.startsWith(want) : (s) => s.endsWith(want);
        break;
      }
      case 'equals-ignore-case': {
        const set = new Set(strings('anything-but.equals-ignore-case', inner, at).map(fold));
        test = (s) => set.has(fold(s));
        break;
      }
      case 'wildcard': {
        const res = strings('anything-but.wildcard', inner, at).map((w) => wildcard(w, at));
        test = (s) => res.some((re) => re.test(s));
        break;
      }
      default:
        throw new PatternError(at, `unknown operator "anything-but.${op}" (the router cannot evaluate it)`);
    }
    return (x) => !(typeof x === 'string' && test(x));
  }
  throw new PatternError(at, `cannot evaluate "anything-but" ${describe(arg)}`);
}

function numeric(arg: unknown, at: string): Condition {
  const bad = (why: string) => new PatternError(at, `"numeric" ${describe(arg)}: ${why}`);
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0) {
    throw bad('needs operator/number pairs such as [">", 0, "<=", 5]');
  }
  const tests: Array<(n: number) => boolean> = [];
  let lower: number | undefined;
  let upper: number | undefined;
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`${describe(n)} is not a number`);
    switch (op) {
      case '=':
        if (arg.length !== 2) throw bad('"=" cannot be combined with other comparisons');
        tests.push((x) => x === n);
        break;
      case '>':
      case '>=':
        if (lower !== undefined) throw bad('more than one lower bound');
        lower = n;
        tests.push(op === '>' ? (x) => x > n : (x) => x >= n);
        break;
      case '<':
      case '<=':
        if (upper !== undefined) throw bad('more than one upper bound');
        upper = n;
        tests.push(op === '<' ? (x) => x < n : (x) => x <= n);
        break;
      default:
        throw bad(`unknown comparison ${describe(op)}`);
    }
  }
  if (lower !== undefined && upper !== undefined && lower >= upper)
    throw bad('the lower bound is not below the upper bound');
  return (x) => typeof x === 'number' && tests.every((t) => t(x));
}

// ---- evaluation ----

/** The leaf values at a field: scalars, arrays flattened; objects are not leaves. */
function leaves(value: unknown, out: Leaf[] = []): Leaf[] {
  if (value === undefined) return out;
  if (Array.isArray(value)) {
    for (const v of value) leaves(v, out);
  } else if (!isPlainObject(value)) {
    out.push(value as Leaf);
  }
  return out;
}

function objects(value: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) {
    for (const v of value) objects(v, out);
  } else if (isPlainObject(value)) {
    out.push(value);
  }
  return out;
}

const EMPTY: Record<string, unknown> = {};

function matchNode(node: Node, value: unknown): boolean {
  const obj = isPlainObject(value) ? value : EMPTY;
  for (const field of node.fields) {
    const v = Object.prototype.hasOwnProperty.call(obj, field.name) ? obj[field.name] : undefined;
    if (field.kind === 'leaf') {
      const found = leaves(v);
      const ok =
        (field.existsTrue && found.length > 0) ||
        (field.existsFalse && found.length === 0) ||
        found.some((x) => field.conditions.some((c) => c(x)));
      if (!ok) return false;
    } else {
      const candidates = objects(v);
      // Array consistency: one element of an array of objects must match the whole sub-pattern.
      const ok =
        candidates.length === 0
          ? matchNode(field.node, EMPTY)
          : candidates.some((c) => matchNode(field.node, c));
      if (!ok) return false;
    }
  }
  for (const alternatives of node.ors) {
    if (!alternatives.some((alt) => matchNode(alt, obj))) return false;
  }
  return true;
}
