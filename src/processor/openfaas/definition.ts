import type { ComponentDefinition } from '../../components/component';
import {
  authSchema,
  boolOption,
  deliveryOptions,
  entrySchema,
  httpUrl,
  intOption,
} from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';

export const openfaasProcessor: ComponentDefinition<Sink> = {
  kind: 'processor',
  provider: 'openfaas',
  description: 'Invokes OpenFaaS functions whose `topic` annotation lists the event subject',
  schema: entrySchema({
    type: 'processor',
    provider: 'openfaas',
    description: 'OpenFaaS gateway',
    address: { required: true, schema: httpUrl('OpenFaaS gateway URL, e.g. http://gateway.openfaas:8080') },
    // `none`: a gateway run without auth (local setups); basic_auth is what a real gateway needs.
    auth: { required: true, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
    options: {
      properties: {
        async: boolOption('Invoke through /async-function/ (202 expected) instead of waiting', false),
        // Invocations run concurrently, like the original's; retries cover refused, reset, 429, 502-504.
        ...deliveryOptions({ maxInFlight: 32, retries: 3 }),
        timeout: intOption('Seconds before an invocation is abandoned', 1, 30),
        topic_refresh_interval: intOption('Seconds between topic map rebuilds', 1, 10),
      },
    },
  }),
  async create(entry, ctx) {
    const { OpenFaasProcessor } = await import('./openfaas-processor');
    return new OpenFaasProcessor(entry, ctx);
  },
};
