/** The shapes of a validated configuration file (see config.schema.json). */

/** An option's value; a list of strings for the few options that take several (root_cas). */
export type OptionValue = string | boolean | number | string[];

export interface AuthConfig {
  method: string;
  secret?: Record<string, string>;
}

/** One entry of the configuration array, as written by the operator. */
export interface ConfigEntry {
  type: string;
  provider: string;
  address?: string;
  auth?: AuthConfig;
  options?: Record<string, OptionValue>;
  /** Streams and processors: the name in logs, metrics, /stats and /readyz. */
  name?: string;
  /** Processors: an event pattern the CloudEvent must match. */
  filter?: Record<string, unknown>;
}

/** The configuration after validation. */
export interface RouterConfig {
  streams: ConfigEntry[];
  processors: ConfigEntry[];
  metrics: ConfigEntry;
  /** The optional event log limits. */
  router?: ConfigEntry;
  /** Several replicas share the streams through leases in this store (Kubernetes or NATS). */
  coordination?: ConfigEntry;
}

/** The name of a stream or processor: its `name`, else its provider. */
export function entryName(entry: ConfigEntry): string {
  return entry.name ?? entry.provider;
}

/** Read a boolean option given as "true"/"false" (the original's strings) or a JSON boolean. */
export function boolOption(entry: ConfigEntry, name: string, fallback: boolean): boolean {
  const v = entry.options?.[name];
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  return String(v).toLowerCase() === 'true';
}

/** Read a numeric option given as a JSON number or a numeric string. */
export function numberOption(entry: ConfigEntry, name: string, fallback: number): number {
  const v = entry.options?.[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/** Read a string option. */
export function stringOption(entry: ConfigEntry, name: string): string | undefined {
  const v = entry.options?.[name];
  return v === undefined ? undefined : String(v);
}

/**
 * Which secret fields hold a secret to mask everywhere (passwords, secret
 * keys, tokens); user names and key ids stay readable in logs.
 */
export function isSecretKey(key: string): boolean {
  // A file that holds a secret (token_file) is a path, not a secret.
  return /password|secret|token/i.test(key) && !/_file$/i.test(key);
}
