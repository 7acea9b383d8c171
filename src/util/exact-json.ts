/**
 * Integers beyond 2^53 in JSON output, printed exactly.
 *
 * govmomi prints an `int64` such as 9223372036854775807 with all its digits; a
 * JS number holds 9223372036854775808 and JSON.stringify prints
 * 9223372036854776000. The converter keeps plain numbers in the event objects
 * (what `JSON.parse` of the payload would give any consumer) and records, for
 * the few values that lost digits, their exact text against the object (or
 * array) holding them and the key. `stringifyExact` prints such a tree with
 * those values' exact text; a tree without any costs one WeakSet lookup.
 */

const texts = new WeakMap<object, Map<string, string>>();
const roots = new WeakSet<object>();

/** `holder[key]` is a number whose exact decimal text is `text`. */
export function recordExact(holder: object, key: string | number, text: string): void {
  let m = texts.get(holder);
  if (!m) texts.set(holder, (m = new Map()));
  m.set(String(key), text);
}

/** `root` (an object given to stringifyExact) holds values recorded with recordExact. */
export function markExactRoot(root: object): void {
  roots.add(root);
}

// NUL cannot occur in XML 1.0 text, so no string from vCenter can look like a marker.
const MARK = '\u0000#';
const MARK_RE = /"\\u0000#(-?\d+)"/g;

function replacer(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    const t = texts.get(this as object)?.get(key);
    if (t !== undefined) return MARK + t;
  }
  return value;
}

/** JSON.stringify(value), with the exact text of recorded numbers under `exactRoot`. */
export function stringifyExact(value: unknown, exactRoot: object | undefined): string {
  if (exactRoot === undefined || !roots.has(exactRoot)) return JSON.stringify(value);
  return JSON.stringify(value, replacer).replace(MARK_RE, '$1');
}
