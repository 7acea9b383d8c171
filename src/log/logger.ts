/**
 * Leveled logger writing to stderr only: stdout belongs to the `stdout`
 * processor (one CloudEvent per line, nothing else).
 *
 * Secrets never reach a log line, and no text that is not a secret is ever
 * rewritten. Masking by substring would do both wrong: a password
 * `error` would turn every `error=` field into `*****=` (and so tell the
 * password), and a password `p` could not be masked at all. Instead:
 *   - by construction, no value from a secret field is formatted into a
 *     message or a field (the config errors say "(secret, not shown)");
 *   - text that comes from a peer (a vCenter fault string, a function's
 *     reply, an AWS error message), which may echo the request and with it a
 *     password, is quoted only through `quotePeer`: cut to a few hundred
 *     characters, and withheld whole when it holds a configured secret in any
 *     form (raw, JSON-escaped, XML/HTML-escaped, percent-encoded, base64 as
 *     in a basic auth header, nested). The whole text is checked before it is
 *     cut, so a secret split by the cut is not half shown;
 * Every secret counts, whatever its length (`p` and `ab` too).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const secrets = new Set<string>();

/** Remember a secret value (any length) so that no quoted peer text and no field value reveals it. */
export function registerSecret(value: string | undefined): void {
  if (typeof value === 'string' && value.length > 0) secrets.add(value);
}

/**
 * Secrets that live for a while only (a vCenter session key), by how many
 * holders hold each: released when its session ends, unlike the configured ones.
 */
const held = new Map<string, number>();

/**
 * Treat `value` as a secret until the returned function is called (once):
 * for a secret the router receives at run time, such as a session key.
 */
export function holdSecret(value: string): () => void {
  if (value.length === 0) return () => undefined;
  held.set(value, (held.get(value) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (held.get(value) ?? 1) - 1;
    if (n > 0) held.set(value, n);
    else held.delete(value);
  };
}

/** Forget every registered secret (tests). */
export function clearSecrets(): void {
  secrets.clear();
  held.clear();
}

const XML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, ref: string) => {
    if (ref[0] !== '#') return XML_NAMED[ref.toLowerCase()] ?? m;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

function decodeJson(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g, (_m, e: string) => {
    if (e[0] === 'u') return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
  });
}

function decodePercent(s: string): string {
  return s.replace(/(%[0-9a-f]{2})+/gi, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

/**
 * What the base64 runs of `s` decode to, one per line: an echoed
 * `Authorization: Basic <base64 of user:password>` holds the password only
 * once decoded. Each run is decoded from each of its first four characters,
 * since the peer may have glued it to other base64 characters.
 */
function decodeBase64Runs(s: string): string {
  const out: string[] = [];
  for (const [run] of s.matchAll(/[A-Za-z0-9+/_-]{4,}/g))
    for (let offset = 0; offset < 4 && run.length - offset >= 4; offset++)
      out.push(
        Buffer.from(
          run.slice(offset),
          run.includes('-') || run.includes('_') ? 'base64url' : 'base64',
        ).toString('utf8'),
      );
  return out.length ? out.join('\n') : s;
}

/**
 * The text and what it reads as once unescaped (XML, JSON, percent, `+` for
 * space, base64), up to three levels deep: a peer may echo an XML request
 * inside JSON inside XML, or a basic auth header inside a JSON body.
 */
function readings(text: string): string[] {
  const seen = new Set<string>([text]);
  let frontier = [text];
  for (let depth = 0; depth < 3 && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier)
      for (const d of [
        decodeXml(t),
        decodeJson(t),
        decodePercent(t),
        decodePercent(t.replace(/\+/g, ' ')),
        decodeBase64Runs(t),
      ])
        if (!seen.has(d)) {
          seen.add(d);
          next.push(d);
        }
    frontier = next;
  }
  return [...seen];
}

/** Whether `text` holds a registered secret, raw or in any escaped form. */
export function containsSecret(text: string): boolean {
  if ((secrets.size === 0 && held.size === 0) || text === '') return false;
  const all = readings(text);
  for (const s of secrets) for (const r of all) if (r.includes(s)) return true;
  for (const s of held.keys()) for (const r of all) if (r.includes(s)) return true;
  return false;
}

/** How many characters of a peer's reply are quoted at most. */
export const PEER_QUOTE_CHARS = 200;

/**
 * How many characters of a peer's reply are kept to be checked for secrets
 * before the quote is cut: far more than any secret in any encoding, so that
 * a secret straddling the cut is seen whole.
 */
export const PEER_CHECK_CHARS = 64 * 1024;

/**
 * Peer text (a reply body, a fault string, an error message the peer wrote)
 * as it may appear in a log line or an error: cut to `max` characters, or
 * withheld whole when it holds a configured secret in any form (it may echo
 * the request). The whole text is checked, not only the part kept, so that a
 * secret split by the cut is not half shown either.
 */
export function quotePeer(text: string, max = PEER_QUOTE_CHARS): string {
  if (containsSecret(text))
    return `(peer text of ${text.length} characters withheld: it contains a configured secret, perhaps echoing the request)`;
  return text.length > max ? text.slice(0, max) + '...' : text;
}

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  write?: (line: string) => void;
}

/**
 * Longest field value and message written: a field may hold peer text (a
 * webhook event's id, a redirect's Location) of any length.
 */
export const MAX_LOG_FIELD_CHARS = 1024;
export const MAX_LOG_MESSAGE_CHARS = 8192;

/** `text` cut to `max` characters, saying how long it was. */
function capped(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters, cut)` : text;
}

function fmtValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** Errors as their messages, strings (and so messages) capped. */
function errorsToMessages(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    const value = v instanceof Error ? v.message : v;
    out[k] = typeof value === 'string' ? capped(value, MAX_LOG_FIELD_CHARS) : value;
  }
  return out;
}

export function createLogger(opts: LoggerOptions, base: Fields = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const min = ORDER[opts.level];
  const emit = (level: LogLevel, msg: string, fields?: Fields): void => {
    if (ORDER[level] < min) return;
    const all = errorsToMessages({ ...base, ...fields });
    msg = capped(msg, MAX_LOG_MESSAGE_CHARS);
    const time = new Date().toISOString();
    let line: string;
    if (opts.json) {
      line = JSON.stringify({ time, level, msg, ...all });
    } else {
      const kv = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${fmtValue(v)}`)
        .join(' ');
      line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}${kv ? ' ' + kv : ''}`;
    }
    write(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** A logger that drops everything (unit tests that do not assert on logs). */
export const silentLogger: Logger = createLogger({ level: 'error', json: false, write: () => undefined });
