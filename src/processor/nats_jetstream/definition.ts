import { defineComponent } from '../../components/component';
import { authSchema, PORT_PATTERN } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';
import { natsJetStreamOptions } from './options';

/** A host as HOST_PATTERN, but without commas (they separate the URLs). */
const NATS_HOST = '(?:\\[[0-9a-fA-F:.]+\\]|[^\\s/?#:@\\[\\],]+)';
/** One server URL: `nats://` or `tls://`, a host, an optional port; no credentials (they go in `auth`). */
const SERVER_URL = `(?:nats|tls)://${NATS_HOST}(?::${PORT_PATTERN})?/?`;

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
        pattern: `^${SERVER_URL}(?:\\s*,\\s*${SERVER_URL})*$`,
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
