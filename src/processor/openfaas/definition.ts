import { defineComponent } from '../../components/component';
import { authSchema, httpUrl } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';
import { openfaasOptions } from './options';

export const openfaasProcessor = defineComponent<Sink, typeof openfaasOptions>({
  kind: 'processor',
  provider: 'openfaas',
  description: 'Invokes OpenFaaS functions whose `topic` annotation lists the event subject',
  entry: {
    description: 'OpenFaaS gateway',
    address: { required: true, schema: httpUrl('OpenFaaS gateway URL, e.g. http://gateway.openfaas:8080') },
    // `none`: a gateway run without auth (local setups); basic_auth is what a real gateway needs.
    auth: { required: true, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
  },
  options: openfaasOptions,
  async create(entry, options, ctx) {
    const { OpenFaasSink } = await import('./openfaas-sink');
    return new OpenFaasSink(entry, options, ctx);
  },
});
