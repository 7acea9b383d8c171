import type { ComponentDefinition } from '../../components/component';
import {
  authSchema,
  boolOption,
  deliveryOptions,
  entrySchema,
  httpUrl,
  intOption,
  stringOption,
} from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';

export const knativeProcessor: ComponentDefinition<Sink> = {
  kind: 'processor',
  provider: 'knative',
  description:
    'Sends each CloudEvent over HTTP to a Knative sink (Broker ingress, Channel, Service) or any CloudEvents receiver',
  schema: entrySchema({
    type: 'processor',
    provider: 'knative',
    description: 'Knative sink or any CloudEvents HTTP receiver',
    address: {
      required: true,
      schema: httpUrl(
        'Destination URI, e.g. http://broker-ingress.knative-eventing.svc.cluster.local/default/default',
      ),
    },
    auth: {
      required: false,
      schema: authSchema({ none: [], basic_auth: ['username', 'password'], bearer: ['token'] }),
    },
    options: {
      properties: {
        encoding: stringOption(
          'CloudEvents HTTP content mode: `structured` (one JSON document, the default) or `binary` (attributes as ce- headers, data as body)',
          { enum: ['structured', 'binary'], default: 'structured' },
        ),
        insecure: boolOption('Skip TLS certificate verification of an https destination', false),
        // Events are posted concurrently; retries cover 429, 5xx and connection errors.
        ...deliveryOptions({ maxInFlight: 16, retries: 3 }),
        timeout: intOption('Seconds before a request is abandoned (and retried)', 1, 30),
      },
    },
  }),
  async create(entry, ctx) {
    const { KnativeProcessor } = await import('./knative-processor');
    return new KnativeProcessor(entry, ctx);
  },
};
