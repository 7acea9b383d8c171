import { defineComponent } from '../../components/component';
import { authSchema } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';
import { eventBridgeOptions } from './options';

export const eventBridgeProcessor = defineComponent<Sink, typeof eventBridgeOptions>({
  kind: 'processor',
  provider: 'aws_event_bridge',
  description: "Sends the events an EventBridge rule's event pattern matches to its event bus",
  entry: {
    description: 'AWS EventBridge',
    auth: {
      required: false,
      schema: authSchema({ access_key: ['aws_access_key_id', 'aws_secret_access_key'] }),
    },
  },
  options: eventBridgeOptions,
  async create(entry, options, ctx) {
    const { EventBridgeSink } = await import('./eventbridge-sink');
    return new EventBridgeSink(entry, options, ctx);
  },
});
