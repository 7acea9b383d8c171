import type { ComponentDefinition } from '../../components/component';
import {
  authSchema,
  boolOption,
  deliveryOptions,
  entrySchema,
  intOption,
  stringOption,
} from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';
import { NATS_ADDRESS_PATTERN } from '../../util/nats-address';

/** A subject of plain tokens: no wildcards, no whitespace, no empty token. */
export const SUBJECT_PREFIX_PATTERN = '^[^\\s.*>]+(?:\\.[^\\s.*>]+)*$';

export const natsJetStreamProcessor: ComponentDefinition<Sink> = {
  kind: 'processor',
  provider: 'nats_jetstream',
  description:
    'Publishes each CloudEvent (structured JSON) to a NATS JetStream stream, subject `<subject_prefix>.<subject>`, message id the event id',
  schema: entrySchema({
    type: 'processor',
    provider: 'nats_jetstream',
    description: 'NATS JetStream',
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
      required: ['stream'],
      properties: {
        stream: stringOption('Name of the JetStream stream the events are stored in', {
          pattern: '^[^\\s.*>/\\\\]+$',
        }),
        create_stream: boolOption(
          'Create the stream when it does not exist (subjects `<subject_prefix>.>`, file storage); otherwise a missing stream is a start error',
          false,
        ),
        replicas: intOption('Replicas of a stream this processor creates (1, 3 or 5 in a cluster)', 1, 1),
        max_age: intOption('Seconds a created stream keeps a message (0: no limit)', 0, 0),
        subject_prefix: stringOption('Subject prefix: events go to `<subject_prefix>.<CloudEvent subject>`', {
          pattern: SUBJECT_PREFIX_PATTERN,
          default: 'vsphere.events',
        }),
        timeout: intOption('Seconds to wait for a PubAck before the publish is retried', 1, 5),
        insecure: boolOption('TLS: do not verify the server certificate (tests only)', false),
        ca_file: stringOption('TLS: PEM file of the CA that signed the server certificates'),
        // Publishes are pipelined on one connection; 8 retries back off for about 30 s in all,
        // longer than a cluster's leader election after a server loss.
        ...deliveryOptions({ maxInFlight: 64, retries: 8 }),
      },
    },
  }),
  async create(entry, ctx) {
    const { NatsJetStreamProcessor } = await import('./nats-jetstream-processor');
    return new NatsJetStreamProcessor(entry, ctx);
  },
};
