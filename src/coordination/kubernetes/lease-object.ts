/**
 * A lease record as a `coordination.k8s.io/v1` Lease object and back. The
 * router's Leases carry the label `app.kubernetes.io/managed-by:
 * vmware-event-router` and the lease's own name in an annotation; the
 * record's `data` are annotations `event-router.vmware.com/<key>`.
 */
import { ForeignLeaseError, type LeaseRecord, LeaseStoreError, type StoredLease } from '../lease-store';

export const LEASE_API_VERSION = 'coordination.k8s.io/v1';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'vmware-event-router';
/** The lease name the router asked for (the object's name may be a sanitised form of it). */
export const LEASE_NAME_ANNOTATION = 'lease.event-router.vmware.com/name';
export const DATA_ANNOTATION_PREFIX = 'event-router.vmware.com/';
/** An annotation name's part after the prefix: at most 63, alphanumeric at both ends. */
const ANNOTATION_NAME = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;

/** The object fields the router reads and writes (others, such as `uid`, are left to the server). */
export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

/** Labels and annotations another program put on one of the router's Leases, kept across updates. */
export interface ForeignMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The Lease object of `record`, keeping `kept` labels and annotations. */
export function toLeaseObject(
  objectName: string,
  leaseName: string,
  namespace: string,
  record: LeaseRecord,
  kept: ForeignMetadata = { labels: {}, annotations: {} },
): LeaseObject {
  const annotations: Record<string, string> = { ...kept.annotations, [LEASE_NAME_ANNOTATION]: leaseName };
  for (const [k, v] of Object.entries(record.data)) {
    if (!ANNOTATION_NAME.test(k))
      throw new LeaseStoreError(
        `lease ${leaseName}: data key "${k}" cannot be a Kubernetes annotation name (at most 63 characters, a letter or digit at both ends)`,
        true,
      );
    annotations[DATA_ANNOTATION_PREFIX + k] = v;
  }
  return {
    apiVersion: LEASE_API_VERSION,
    kind: 'Lease',
    metadata: {
      name: objectName,
      namespace,
      labels: { ...kept.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations,
    },
    spec: {
      holderIdentity: record.holderIdentity,
      // The API server rejects a duration of 0 or less; 0 is written as "not set" and read back as 0.
      ...(record.leaseDurationSeconds > 0 ? { leaseDurationSeconds: record.leaseDurationSeconds } : {}),
      ...(record.acquireTime ? { acquireTime: record.acquireTime } : {}),
      ...(record.renewTime ? { renewTime: record.renewTime } : {}),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

/**
 * The record a Lease object holds; ForeignLeaseError when it is not the
 * router's lease `leaseName` (no managed-by label, or another lease's name).
 */
export function fromLeaseObject(
  object: LeaseObject,
  leaseName: string,
  where: string,
): { stored: StoredLease; foreign: ForeignMetadata } {
  const labels = object.metadata.labels ?? {};
  const annotations = object.metadata.annotations ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY)
    throw new ForeignLeaseError(
      `Lease ${where} (lease ${leaseName}) is not one of the router's: it has no label ${MANAGED_BY_LABEL}=${MANAGED_BY}; it is left alone (another program uses it: choose another lease_prefix or namespace)`,
    );
  const owner = annotations[LEASE_NAME_ANNOTATION];
  if (owner !== undefined && owner !== leaseName)
    throw new ForeignLeaseError(
      `Lease ${where} belongs to the router's lease ${JSON.stringify(owner)}, not to ${leaseName} (their names map to the same Lease name); it is left alone: rename one of the streams`,
    );
  const spec = object.spec ?? {};
  const data: Record<string, string> = {};
  const foreign: ForeignMetadata = { labels: {}, annotations: {} };
  for (const [k, v] of Object.entries(annotations)) {
    if (k.startsWith(DATA_ANNOTATION_PREFIX)) data[k.slice(DATA_ANNOTATION_PREFIX.length)] = v;
    else if (k !== LEASE_NAME_ANNOTATION) foreign.annotations[k] = v;
  }
  for (const [k, v] of Object.entries(labels)) if (k !== MANAGED_BY_LABEL) foreign.labels[k] = v;
  return {
    stored: {
      record: {
        holderIdentity: spec.holderIdentity ?? '',
        leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
        acquireTime: spec.acquireTime ?? '',
        renewTime: spec.renewTime ?? '',
        leaseTransitions: spec.leaseTransitions ?? 0,
        data,
      },
      version: object.metadata.resourceVersion ?? '',
    },
    foreign,
  };
}
