import { boolOption, defaultBool, entrySchema, httpUrl, stringOption } from '../../config/schema-parts';
import { boolOption as readBool, stringOption as readString } from '../../config/types';
import {
  type CoordinationDefinition,
  coordinatorOptions,
  leaseOptionProperties,
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

const schema = entrySchema({
  type: 'coordination',
  provider: 'kubernetes',
  description: 'Replicas share the streams through coordination.k8s.io/v1 Lease objects',
  address: {
    required: false,
    schema: {
      ...httpUrl('Kubernetes API server URL (default: the in-cluster https://kubernetes.default.svc)'),
      default: IN_CLUSTER_ADDRESS,
    },
  },
  auth: { required: false, schema: bearerAuth },
  options: {
    properties: {
      namespace: stringOption("Namespace of the Lease objects (default: the pod's own namespace)", {
        pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
      }),
      ca_file: stringOption(
        "PEM file of the API server's CA (default in a pod: the service account's ca.crt)",
      ),
      insecure: boolOption('Skip TLS certificate verification of the API server (test setups only)', false),
      ...leaseOptionProperties(),
    },
  },
});

export const kubernetesCoordination: CoordinationDefinition = {
  kind: 'coordination',
  provider: 'kubernetes',
  description: 'Leases and checkpoints as Kubernetes Lease objects (RBAC: get, create, update on leases)',
  schema,
  problems: (entry) => leaseProblems(entry, schema),
  async create(entry, ctx) {
    const [{ KubernetesLeaseStore }, { inClusterDefaults }] = await Promise.all([
      import('./kubernetes-lease-store'),
      import('./in-cluster'),
    ]);
    const inCluster = inClusterDefaults();
    const options = coordinatorOptions(entry, schema);
    const address = entry.address ?? IN_CLUSTER_ADDRESS;
    const secret = entry.auth?.secret;
    const store = new KubernetesLeaseStore({
      address,
      namespace: readString(entry, 'namespace') ?? inCluster.namespace ?? 'default',
      ...(secret?.token !== undefined
        ? { token: secret.token }
        : { tokenFile: secret?.token_file ?? inCluster.tokenFile }),
      // The service account's CA signs the in-cluster API server's certificate.
      caFile: readString(entry, 'ca_file') ?? (address === IN_CLUSTER_ADDRESS ? inCluster.caFile : undefined),
      insecure: readBool(entry, 'insecure', defaultBool(schema, 'insecure')),
      rootCAs: ctx.rootCAs,
      timeoutMs: storeTimeoutMs(options),
    });
    return { store, options };
  },
};
