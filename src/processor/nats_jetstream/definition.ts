import { defineComponent } from '../../components/component';
import { natsEntrySchema } from '../../config/nats-address';
import type { Sink } from '../../delivery/sink';
import { natsJetStreamOptions } from './options';

export const natsJetStreamProcessor = defineComponent<Sink, typeof natsJetStreamOptions>({
  kind: 'processor',
  provider: 'nats_jetstream',
  description:
    'Publishes each CloudEvent (structured JSON) to a NATS JetStream stream, subject `<subject_prefix>.<subject>`, message id the event id',
  entry: {
    description: 'NATS JetStream',
    ...natsEntrySchema,
  },
  options: natsJetStreamOptions,
  async create(entry, options, ctx) {
    const { NatsJetStreamSink } = await import('./nats-jetstream-sink');
    return new NatsJetStreamSink(entry, options, ctx);
  },
});
