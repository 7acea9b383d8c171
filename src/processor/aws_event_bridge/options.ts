/** The options of an aws_event_bridge processor entry. */
import {
  intOption,
  requiredStringOption,
  stringOption,
  stringOptionWithSchema,
  type OptionsOf,
} from '../../config/options';
import { deliveryOptions, httpUrl } from '../../config/schema-parts';

export const eventBridgeOptions = {
  aws_region: requiredStringOption('AWS region, e.g. eu-central-1', {
    pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$',
  }),
  aws_eventbridge_rule_arn: requiredStringOption('ARN of the rule whose event pattern selects the events', {
    pattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:rule/.+$',
  }),
  aws_eventbridge_event_bus: stringOption('Event bus name (default "default")'),
  aws_eventbridge_endpoint: stringOptionWithSchema(
    httpUrl(
      'EventBridge endpoint override (VPC endpoint, local emulator); else AWS_ENDPOINT_URL_EVENTBRIDGE or AWS_ENDPOINT_URL from the environment',
    ),
  ),
  sync_interval: intOption('Seconds between rule pattern syncs', 1, 300),
  // PutEvents calls in flight; retries of failed entries and throttled calls.
  ...deliveryOptions({ maxInFlight: 4 }),
};

export type EventBridgeOptions = OptionsOf<typeof eventBridgeOptions>;
