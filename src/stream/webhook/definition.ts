import { defineComponent } from '../../components/component';
import { authSchema, bindAddress } from '../../config/schema-parts';
import type { Stream } from '../stream';
import { webhookOptions } from './options';

export const webhookStream = defineComponent<Stream, typeof webhookOptions>({
  kind: 'stream',
  provider: 'webhook',
  description:
    'HTTP endpoint that accepts CloudEvents (structured or binary mode) and appends each to the event log',
  entry: {
    description: 'webhook (CloudEvents over HTTP)',
    address: {
      required: true,
      schema: bindAddress('bind address HOST:PORT (port 0-65535), e.g. 0.0.0.0:8080'),
    },
    auth: { required: false, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
  },
  options: webhookOptions,
  async create(entry, options, ctx) {
    const { WebhookStream } = await import('./webhook-stream');
    return new WebhookStream(entry, options, ctx);
  },
});
