import { defineComponent } from '../../components/component';
import { boolOption, stringOption } from '../../config/options';
import { httpUrl } from '../../config/schema-parts';
import {
  type Coordination,
  coordinatorOptions,
  leaseOptions,
  leaseProblems,
  storeTimeoutMs,
} from '../definition-parts';
import { IN_CLUSTER_ADDRESS } from './in-cluster';

/** `bearer` with a token, or a file that holds it (a projected service account token rotates). */
const bearerAuth = {
  type: 'object',
  properties: {
    method: { type: 'string', enum: ['bearer'] },
    secret: {
      type: 'object',
      properties: {
        token: { type: 'string', minLength: 1, writeOnly: true },
        token_file: { type: 'string', minLength: 1 },
      },
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
    },
  },
  required: ['method', 'secret'],
  additionalProperties: false,
};

const kubernetesOptions = {
  namespace: stringOption("Namespace of the Lease objects (default: the pod's own namespace)", {
    pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
  }),
  ca_file: stringOption("PEM file of the API server's CA (default in a pod: the service account's ca.crt)"),
  insecure: boolOption('Skip TLS certificate verification of the API server (test setups only)', false),
  ...leaseOptions,
};

export const kubernetesCoordination = defineComponent<Coordination, typeof kubernetesOptions>({
  kind: 'coordination',
  provider: 'kubernetes',
  description: 'Leases and checkpoints as Kubernetes Lease objects (RBAC: get, create, update on leases)',
  entry: {
    description: 'Replicas share the streams through coordination.k8s.io/v1 Lease objects',
    address: {
      required: false,
      schema: {
        ...httpUrl('Kubernetes API server URL (default: the in-cluster https://kubernetes.default.svc)'),
        default: IN_CLUSTER_ADDRESS,
      },
    },
    auth: { required: false, schema: bearerAuth },
  },
  options: kubernetesOptions,
  problems: leaseProblems,
  async create(entry, options, ctx) {
    const [{ KubernetesLeaseStore }, { inClusterDefaults }] = await Promise.all([
      import('./kubernetes-lease-store'),
      import('./in-cluster'),
    ]);
    const inCluster = inClusterDefaults();
    const coordinator = coordinatorOptions(options);
    const address = entry.address ?? IN_CLUSTER_ADDRESS;
    const secret = entry.auth?.secret;
    const store = new KubernetesLeaseStore({
      address,
      namespace: options.namespace ?? inCluster.namespace ?? 'default',
      ...(secret?.token !== undefined
        ? { token: secret.token }
        : { tokenFile: secret?.token_file ?? inCluster.tokenFile }),
      // The service account's CA signs the in-cluster API server's certificate.
      caFile: options.ca_file ?? (address === IN_CLUSTER_ADDRESS ? inCluster.caFile : undefined),
      insecure: options.insecure,
      rootCAs: ctx.rootCAs,
      timeoutMs: storeTimeoutMs(coordinator),
    });
    return { store, options: coordinator };
  },
});
