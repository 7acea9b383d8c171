/** The options of a webhook stream entry. */
import { defaultedStringOption, intOption, type OptionsOf } from '../../config/options';

export const webhookOptions = {
  path: defaultedStringOption('URL path that accepts the events', {
    default: '/webhook',
    pattern: '^/[^\\s?#]*$',
  }),
  max_event_bytes: intOption('Largest request body accepted (bytes); larger ones get 413', 1, 1048576),
};

export type WebhookOptions = OptionsOf<typeof webhookOptions>;
