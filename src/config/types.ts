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

/**
 * The credentials of a `basic_auth` entry, as the router's own servers ask
 * them; any other method (or no secret) asks none.
 */
export function basicAuthCredentials(
  auth: AuthConfig | undefined,
): { username: string; password: string } | undefined {
  if (auth?.method !== 'basic_auth' || !auth.secret) return undefined;
  const { username, password } = auth.secret;
  return { username, password };
}

/** The name of a stream or processor: its `name`, else its provider. */
export function entryName(entry: ConfigEntry): string {
  return entry.name ?? entry.provider;
}

/**
 * Which secret fields hold a secret to mask everywhere (passwords, secret
 * keys, tokens); user names and key ids stay readable in logs.
 */
export function isSecretKey(key: string): boolean {
  // A file that holds a secret (token_file) is a path, not a secret.
  return /password|secret|token/i.test(key) && !/_file$/i.test(key);
}
