import type { ComponentDefinition } from '../../components/component';
import { authSchema, bindAddress, entrySchema, intOption, stringOption } from '../../config/schema-parts';
import type { Stream } from '../stream';

export const webhookStream: ComponentDefinition<Stream> = {
  kind: 'stream',
  provider: 'webhook',
  description:
    'HTTP endpoint that accepts CloudEvents (structured or binary mode) and appends each to the event log',
  schema: entrySchema({
    type: 'stream',
    provider: 'webhook',
    description: 'webhook (CloudEvents over HTTP)',
    address: {
      required: true,
      schema: bindAddress('bind address HOST:PORT (port 0-65535), e.g. 0.0.0.0:8080'),
    },
    auth: { required: false, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
    options: {
      properties: {
        path: stringOption('URL path that accepts the events', {
          default: '/webhook',
          pattern: '^/[^\\s?#]*$',
        }),
        max_event_bytes: intOption('Largest request body accepted (bytes); larger ones get 413', 1, 1048576),
      },
    },
  }),
  async create(entry, ctx) {
    const { WebhookStream } = await import('./webhook-stream');
    return new WebhookStream(entry, ctx);
  },
};
