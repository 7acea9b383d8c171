/**
 * What both coordination providers share: the lease options (declared once,
 * with their defaults), the check that the three durations nest, and the
 * coordinator's settings read from an entry.
 */
import { hostname } from 'node:os';
import type { ComponentDefinition, JsonSchema } from '../components/component';
import { defaultNumber, intOption, optionDefault, stringOption } from '../config/schema-parts';
import { numberOption, stringOption as readString, type ConfigEntry } from '../config/types';
import type { CoordinatorOptions } from './coordinator';
import type { LeaseStore } from './lease-store';

/** What a coordination entry builds: the store and how the leases are run over it. */
export interface Coordination {
  store: LeaseStore;
  options: CoordinatorOptions;
}

/** Names in the store are `<lease_prefix><stream name>`: a store key must start with a letter or digit. */
const PREFIX_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$';

export function leaseOptionProperties(): Record<string, JsonSchema> {
  return {
    identity: stringOption(
      "This replica's name in the leases, unique per replica (default: the POD_NAME environment variable, else the host name)",
      { pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$' },
    ),
    lease_duration: intOption(
      'Seconds a lease stays valid after its last renewal, as the other replicas see it: how long a crashed holder keeps its streams',
      1,
      15,
    ),
    renew_deadline: intOption(
      'Seconds the holder keeps trying to renew a lease before it stops following and delivering the stream (less than lease_duration)',
      1,
      10,
    ),
    retry_period: intOption(
      'Seconds between rounds of renewals, take-overs and heartbeats (less than renew_deadline)',
      1,
      2,
    ),
    lease_prefix: stringOption(
      "Prefix of the names in the store: a stream's lease is <lease_prefix><stream name>",
      {
        pattern: PREFIX_PATTERN,
        default: 'vmware-event-router-',
      },
    ),
  };
}

function durations(entry: ConfigEntry, schema: JsonSchema): { lease: number; renew: number; retry: number } {
  return {
    lease: numberOption(entry, 'lease_duration', defaultNumber(schema, 'lease_duration')),
    renew: numberOption(entry, 'renew_deadline', defaultNumber(schema, 'renew_deadline')),
    retry: numberOption(entry, 'retry_period', defaultNumber(schema, 'retry_period')),
  };
}

/**
 * The holder must give a stream up before anyone may take it, and must be
 * able to try more than once before that: retry_period < renew_deadline < lease_duration.
 */
export function leaseProblems(entry: ConfigEntry, schema: JsonSchema): Array<[string, string]> {
  const d = durations(entry, schema);
  const out: Array<[string, string]> = [];
  if (d.renew >= d.lease)
    out.push([
      '/options/renew_deadline',
      `must be less than lease_duration (${d.lease} s), found ${d.renew}: a holder that cannot renew must stop before another replica may take the stream`,
    ]);
  if (d.retry >= d.renew)
    out.push([
      '/options/retry_period',
      `must be less than renew_deadline (${d.renew} s), found ${d.retry}: the holder must be able to retry a renewal before its deadline`,
    ]);
  return out;
}

export function coordinatorOptions(entry: ConfigEntry, schema: JsonSchema): CoordinatorOptions {
  const d = durations(entry, schema);
  return {
    identity: readString(entry, 'identity') ?? (process.env.POD_NAME || hostname()),
    leaseDurationMs: d.lease * 1000,
    renewDeadlineMs: d.renew * 1000,
    retryPeriodMs: d.retry * 1000,
    leasePrefix: readString(entry, 'lease_prefix') ?? String(optionDefault(schema, 'lease_prefix')),
  };
}

/** How long one store request may take: well inside the renew deadline, so that a renewal can be retried. */
export function storeTimeoutMs(options: CoordinatorOptions): number {
  return Math.max(500, Math.min(5000, Math.floor(options.renewDeadlineMs / 3)));
}

export type CoordinationDefinition = ComponentDefinition<Coordination>;
