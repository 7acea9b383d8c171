/**
 * Leveled logger writing to stderr only: stdout belongs to the `stdout`
 * processor (one CloudEvent per line, nothing else).
 *
 * Secrets never reach a log line: every configured secret value is
 * registered with `registerSecret` at config load, and each line is scrubbed
 * before it is written, so a library error message that echoes a URL with
 * credentials, or a header, cannot leak one.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const secrets = new Set<string>();

/** Remember a secret value so that it is masked in every log line and error message. */
export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; such secrets are rejected by the schema anyway.
  if (value && value.length >= 3) secrets.add(value);
}

/** Replace every registered secret in `text` with `*****`. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('*****');
  }
  return out;
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

function fmtValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

function errorsToMessages(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? v.message : v;
  return out;
}

export function createLogger(opts: LoggerOptions, base: Fields = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const min = ORDER[opts.level];
  const emit = (level: LogLevel, msg: string, fields?: Fields): void => {
    if (ORDER[level] < min) return;
    const all = errorsToMessages({ ...base, ...fields });
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
    write(redact(line));
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
