/**
 * Lease names as the router's lease algorithm makes them (`[A-Za-z0-9][A-Za-z0-9_.-]*`,
 * a stream's name with a prefix) and as Kubernetes accepts them: a DNS-1123
 * subdomain (lowercase alphanumerics, '-', '.', at most 253 characters).
 */
import { createHash } from 'node:crypto';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME = 253;
/** `-` and 8 hex digits. */
const SUFFIX_LENGTH = 9;

/** Whether Kubernetes accepts `name` as an object name (DNS-1123 subdomain). */
export function isLeaseObjectName(name: string): boolean {
  return name.length <= MAX_NAME && DNS1123_SUBDOMAIN.test(name);
}

/**
 * The Lease object name for a lease name: the name itself when Kubernetes
 * accepts it; otherwise a sanitised form (lowercase, other characters as '-')
 * plus '-' and the first 8 hex digits of the name's SHA-256, so that `S_1`,
 * `s_1` and `s-1` stay three Leases. The store keeps the original name in an
 * annotation and checks it on read: a hash collision is detected, never shared.
 */
export function leaseObjectName(name: string): string {
  if (isLeaseObjectName(name)) return name;
  const parts = name
    .toLowerCase()
    .replace(/[^a-z0-9.]/g, '-')
    .split('.')
    .map((p) => p.replace(/^-+|-+$/g, ''))
    .filter((p) => p !== '');
  const base = parts
    .join('.')
    .slice(0, MAX_NAME - SUFFIX_LENGTH)
    .replace(/[-.]+$/, '');
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
  return `${base || 'lease'}-${hash}`;
}
