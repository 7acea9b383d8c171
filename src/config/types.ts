/** The shapes of a validated configuration file (see config.schema.json). */

export type OptionValue = string | boolean | number;

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
}

/** The configuration after validation: exactly one entry of each kind. */
export interface RouterConfig {
  stream: ConfigEntry;
  processor: ConfigEntry;
  metrics: ConfigEntry;
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
