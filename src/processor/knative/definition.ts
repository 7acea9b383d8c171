import { defineComponent } from '../../components/component';
import { authSchema, httpUrl } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';
import { knativeOptions } from './options';

export const knativeProcessor = defineComponent<Sink, typeof knativeOptions>({
  kind: 'processor',
  provider: 'knative',
  description:
    'Sends each CloudEvent over HTTP to a Knative sink (Broker ingress, Channel, Service) or any CloudEvents receiver',
  entry: {
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
  },
  options: knativeOptions,
  async create(entry, options, ctx) {
    const { KnativeSink } = await import('./knative-sink');
    return new KnativeSink(entry, options, ctx);
  },
});
