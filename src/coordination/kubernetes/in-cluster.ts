/**
 * Where a pod finds its API server and credentials: the `kubernetes` Service
 * of the `default` namespace, and the service account's token, CA and
 * namespace files that the kubelet mounts into every pod.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const IN_CLUSTER_ADDRESS = 'https://kubernetes.default.svc';
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterDefaults {
  address: string;
  tokenFile: string;
  caFile: string;
  /** The pod's namespace, when the namespace file is there (outside a pod it is not). */
  namespace: string | undefined;
}

/** The in-cluster defaults; `dir` replaces the service account directory (tests). */
export function inClusterDefaults(dir = SERVICE_ACCOUNT_DIR): InClusterDefaults {
  let namespace: string | undefined;
  try {
    namespace = readFileSync(path.join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    // Not in a pod (or no service account mounted): the caller asks for options.namespace.
    namespace = undefined;
  }
  return {
    address: IN_CLUSTER_ADDRESS,
    tokenFile: path.join(dir, 'token'),
    caFile: path.join(dir, 'ca.crt'),
    namespace,
  };
}
