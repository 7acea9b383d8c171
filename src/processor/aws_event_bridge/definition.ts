import type { ComponentDefinition } from '../../components/component';
import {
  authSchema,
  deliveryOptions,
  entrySchema,
  httpUrl,
  intOption,
  stringOption,
} from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';

export const eventBridgeProcessor: ComponentDefinition<Sink> = {
  kind: 'processor',
  provider: 'aws_event_bridge',
  description: "Sends the events an EventBridge rule's event pattern matches to its event bus",
  schema: entrySchema({
    type: 'processor',
    provider: 'aws_event_bridge',
    description: 'AWS EventBridge',
    auth: {
      required: false,
      schema: authSchema({ access_key: ['aws_access_key_id', 'aws_secret_access_key'] }),
    },
    options: {
      required: ['aws_region', 'aws_eventbridge_rule_arn'],
      properties: {
        aws_region: stringOption('AWS region, e.g. eu-central-1', { pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$' }),
        aws_eventbridge_rule_arn: stringOption('ARN of the rule whose event pattern selects the events', {
          pattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:rule/.+$',
        }),
        aws_eventbridge_event_bus: stringOption('Event bus name (default "default")'),
        aws_eventbridge_endpoint: httpUrl(
          'EventBridge endpoint override (VPC endpoint, local emulator); else AWS_ENDPOINT_URL_EVENTBRIDGE or AWS_ENDPOINT_URL from the environment',
        ),
        sync_interval: intOption('Seconds between rule pattern syncs', 1, 300),
        // PutEvents calls in flight; retries of failed entries and throttled calls.
        ...deliveryOptions({ maxInFlight: 4, retries: 3 }),
      },
    },
  }),
  async create(entry, ctx) {
    const { EventBridgeProcessor } = await import('./eventbridge-processor');
    return new EventBridgeProcessor(entry, ctx);
  },
};
