/**
 * The compare-and-swap store that leases live in. One lease algorithm
 * (`lease.ts`) runs over it, whichever backend keeps the records: Kubernetes
 * `coordination.k8s.io/v1` Lease objects or a NATS JetStream key-value bucket.
 *
 * A record is client-go's LeaderElectionRecord (holder identity, acquire and
 * renew time, lease duration, transitions) plus a few named strings (`data`)
 * that ride along with it: a stream's checkpoint, the replica list. Because
 * they are written by the same compare-and-swap as the lease, only the holder
 * of a lease can ever write its checkpoint.
 */

/** One lease as the store keeps it. */
export interface LeaseRecord {
  /** The replica holding the lease; '' when nobody holds it (released). */
  holderIdentity: string;
  /** Seconds a holder's renewal is valid for, as the holder sees it. */
  leaseDurationSeconds: number;
  /** RFC 3339 with microseconds (Kubernetes MicroTime): when the current holder took it. */
  acquireTime: string;
  /** RFC 3339 with microseconds: the holder's latest renewal. */
  renewTime: string;
  /** How many times the lease changed hands. */
  leaseTransitions: number;
  /**
   * Strings stored with the lease (keys `[a-z0-9_-]+`): `checkpoint` (a stream's
   * checkpoint as JSON), `members` (the replica heartbeats). Kubernetes keeps
   * them as annotations `event-router.vmware.com/<key>`, NATS in the value's JSON.
   */
  data: Record<string, string>;
}

/** A record and the store's version of it (Kubernetes resourceVersion, NATS KV revision). */
export interface StoredLease {
  record: LeaseRecord;
  version: string;
}

/** Somebody else wrote first: a create of an existing lease, or an update with a stale version. */
export class LeaseConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseConflictError';
  }
}

/**
 * The value stored under a lease's name is not one of the router's (another
 * program's Lease object, a hand-written KV value). The message names it; the
 * lease is left alone, never overwritten.
 */
export class ForeignLeaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForeignLeaseError';
  }
}

/**
 * The store could not be reached or refused the request (connection refused,
 * timeout, 401/403, 5xx). The message says which store, what happened and,
 * where it is the operator's to fix (a token, RBAC), what to fix. It never
 * holds a credential.
 */
export class LeaseStoreError extends Error {
  constructor(
    message: string,
    /** A problem retrying will not fix (401, 403, a missing namespace): logged as ERROR, still retried. */
    readonly permanent = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LeaseStoreError';
  }
}

export interface LeaseStore {
  /** What it is, for log lines: `Kubernetes API https://10.0.0.1:443 namespace vmware`, `NATS KV bucket vmware-event-router`. */
  readonly description: string;
  /** Connect (and create what is missing, such as the NATS bucket); rejects with LeaseStoreError. */
  open(): Promise<void>;
  /** Set after `open` when the backend does not keep the compare-and-swap's promise in full (logged once). */
  readonly caveat?: string;
  /** The lease, or undefined when there is none by that name. */
  get(name: string): Promise<StoredLease | undefined>;
  /** Create a lease that does not exist yet; LeaseConflictError when it does. */
  create(name: string, record: LeaseRecord): Promise<StoredLease>;
  /** Replace the lease if its version is still `version`; LeaseConflictError when it is not. */
  update(name: string, record: LeaseRecord, version: string): Promise<StoredLease>;
  close(): Promise<void>;
}

/** Kubernetes MicroTime as client-go writes it: `2026-12-07T10:00:00.123456Z`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Valid keys of `LeaseRecord.data`. */
export const DATA_KEY_PATTERN = /^[a-z0-9_-]+$/;
