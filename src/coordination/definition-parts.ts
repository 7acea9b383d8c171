/**
 * What both coordination providers share: the lease options (declared once,
 * with their defaults), the check that the three durations nest, and the
 * coordinator's settings read from the options.
 */
import { hostname } from 'node:os';
import { defaultedStringOption, intOption, stringOption, type OptionsOf } from '../config/options';
import type { CoordinatorOptions } from './coordinator';
import type { LeaseStore } from './lease-store';

/** What a coordination entry builds: the store and how the leases are run over it. */
export interface Coordination {
  store: LeaseStore;
  options: CoordinatorOptions;
}

export const leaseOptions = {
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
  // Names in the store are `<lease_prefix><stream name>`: a store key must start with a letter or digit.
  lease_prefix: defaultedStringOption(
    "Prefix of the names in the store: a stream's lease is <lease_prefix><stream name>",
    {
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$',
      default: 'vmware-event-router-',
    },
  ),
};

type LeaseOptions = OptionsOf<typeof leaseOptions>;

/**
 * The holder must give a stream up before anyone may take it, and must be
 * able to try more than once before that: retry_period < renew_deadline < lease_duration.
 */
export function leaseProblems(o: LeaseOptions): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (o.renew_deadline >= o.lease_duration)
    out.push([
      '/options/renew_deadline',
      `must be less than lease_duration (${o.lease_duration} s), found ${o.renew_deadline}: a holder that cannot renew must stop before another replica may take the stream`,
    ]);
  if (o.retry_period >= o.renew_deadline)
    out.push([
      '/options/retry_period',
      `must be less than renew_deadline (${o.renew_deadline} s), found ${o.retry_period}: the holder must be able to retry a renewal before its deadline`,
    ]);
  return out;
}

export function coordinatorOptions(o: LeaseOptions): CoordinatorOptions {
  return {
    identity: o.identity ?? (process.env.POD_NAME || hostname()),
    leaseDurationMs: o.lease_duration * 1000,
    renewDeadlineMs: o.renew_deadline * 1000,
    retryPeriodMs: o.retry_period * 1000,
    leasePrefix: o.lease_prefix,
  };
}

/** How long one store request may take: well inside the renew deadline, so that a renewal can be retried. */
export function storeTimeoutMs(options: CoordinatorOptions): number {
  return Math.max(500, Math.min(5000, Math.floor(options.renewDeadlineMs / 3)));
}
