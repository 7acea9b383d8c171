import {
  authSchema,
  boolOption,
  defaultBool,
  entrySchema,
  intOption,
  stringOption,
} from '../../config/schema-parts';
import { boolOption as readBool, numberOption, stringOption as readString } from '../../config/types';
import { defaultNumber, optionDefault } from '../../config/schema-parts';
import { NATS_ADDRESS_PATTERN } from '../../util/nats-address';
import {
  type CoordinationDefinition,
  coordinatorOptions,
  leaseOptionProperties,
  leaseProblems,
  storeTimeoutMs,
} from '../definition-parts';

const schema = entrySchema({
  type: 'coordination',
  provider: 'nats',
  description: 'Replicas share the streams through a NATS JetStream key-value bucket',
  address: {
    required: true,
    schema: {
      type: 'string',
      description:
        'NATS server URL(s), comma-separated, e.g. nats://nats-0.nats:4222,nats://nats-1.nats:4222 (tls:// for TLS)',
      pattern: NATS_ADDRESS_PATTERN,
    },
  },
  auth: {
    required: true,
    schema: authSchema({ none: [], basic_auth: ['username', 'password'], token: ['token'] }),
  },
  options: {
    properties: {
      bucket: stringOption('Key-value bucket of the leases and checkpoints (created when missing)', {
        pattern: '^[-\\w]+$',
        default: 'vmware-event-router',
      }),
      replicas: intOption('Replicas of a bucket the router creates (1; 3 in a three-node cluster)', 1, 1),
      insecure: boolOption('TLS: do not verify the server certificate (tests only)', false),
      ca_file: stringOption('TLS: PEM file of the CA that signed the server certificates'),
      ...leaseOptionProperties(),
    },
  },
});

export const natsCoordination: CoordinationDefinition = {
  kind: 'coordination',
  provider: 'nats',
  description:
    'Leases and checkpoints as keys of a NATS JetStream key-value bucket (revision compare-and-swap)',
  schema,
  problems: (entry) => leaseProblems(entry, schema),
  async create(entry, ctx) {
    const [{ NatsLeaseStore }, { natsAuth, serverList }] = await Promise.all([
      import('./nats-lease-store'),
      import('../../util/nats-connection'),
    ]);
    const options = coordinatorOptions(entry, schema);
    const caFile = readString(entry, 'ca_file');
    const store = new NatsLeaseStore({
      servers: serverList(entry.address ?? ''),
      auth: natsAuth(entry.auth?.method, entry.auth?.secret),
      tls: {
        insecure: readBool(entry, 'insecure', defaultBool(schema, 'insecure')),
        ...(caFile ? { caFile } : {}),
        ...(ctx.rootCAs ? { rootCAs: ctx.rootCAs } : {}),
      },
      bucket: readString(entry, 'bucket') ?? String(optionDefault(schema, 'bucket')),
      replicas: numberOption(entry, 'replicas', defaultNumber(schema, 'replicas')),
      timeoutMs: storeTimeoutMs(options),
    });
    return { store, options };
  },
};
