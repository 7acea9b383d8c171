import { defineComponent } from '../../components/component';
import { authSchema } from '../../config/schema-parts';
import { NATS_ADDRESS_PATTERN } from '../../config/nats-address';
import type { Sink } from '../../delivery/sink';
import { natsJetStreamOptions } from './options';

export const natsJetStreamProcessor = defineComponent<Sink, typeof natsJetStreamOptions>({
  kind: 'processor',
  provider: 'nats_jetstream',
  description:
    'Publishes each CloudEvent (structured JSON) to a NATS JetStream stream, subject `<subject_prefix>.<subject>`, message id the event id',
  entry: {
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
  },
  options: natsJetStreamOptions,
  async create(entry, options, ctx) {
    const { NatsJetStreamProcessor } = await import('./nats-jetstream-processor');
    return new NatsJetStreamProcessor(entry, options, ctx);
  },
});
