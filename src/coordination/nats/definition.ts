import { defineComponent } from '../../components/component';
import { natsEntrySchema } from '../../config/nats-address';
import { boolOption, defaultedStringOption, intOption, stringOption } from '../../config/options';
import {
  type Coordination,
  coordinatorOptions,
  leaseOptions,
  leaseProblems,
  storeTimeoutMs,
} from '../definition-parts';

const natsOptions = {
  bucket: defaultedStringOption('Key-value bucket of the leases and checkpoints (created when missing)', {
    pattern: '^[-\\w]+$',
    default: 'vmware-event-router',
  }),
  replicas: intOption(
    'Replicas of a bucket the router creates (1; 3 in a three-node cluster, with nats-server 2.9.21 or later)',
    1,
    1,
  ),
  insecure: boolOption('TLS: do not verify the server certificate (tests only)', false),
  ca_file: stringOption('TLS: PEM file of the CA that signed the server certificates'),
  ...leaseOptions,
};

export const natsCoordination = defineComponent<Coordination, typeof natsOptions>({
  kind: 'coordination',
  provider: 'nats',
  description:
    'Leases and checkpoints as keys of a NATS JetStream key-value bucket (revision compare-and-swap)',
  entry: {
    description: 'Replicas share the streams through a NATS JetStream key-value bucket',
    ...natsEntrySchema,
  },
  options: natsOptions,
  problems: leaseProblems,
  async create(entry, options, ctx) {
    const [{ NatsLeaseStore }, { natsAuth, serverList }] = await Promise.all([
      import('./nats-lease-store'),
      import('../../util/nats-connection'),
    ]);
    const coordinator = coordinatorOptions(options);
    const store = new NatsLeaseStore({
      servers: serverList(entry.address ?? ''),
      auth: natsAuth(entry.auth?.method, entry.auth?.secret),
      tls: {
        insecure: options.insecure,
        ...(options.ca_file ? { caFile: options.ca_file } : {}),
        ...(ctx.rootCAs ? { rootCAs: ctx.rootCAs } : {}),
      },
      bucket: options.bucket,
      replicas: options.replicas,
      timeoutMs: storeTimeoutMs(coordinator),
    });
    return { store, options: coordinator };
  },
});
