import { defineComponent } from '../../components/component';
import { authSchema } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';

export const stdoutProcessor = defineComponent<Sink, Record<string, never>>({
  kind: 'processor',
  provider: 'stdout',
  description: 'Prints one CloudEvent per line as JSON on stdout (logs go to stderr)',
  entry: {
    description: 'stdout processor',
    auth: { required: false, schema: authSchema({ none: [] }) },
  },
  options: {},
  async create() {
    const { StdoutSink } = await import('./stdout-sink');
    return new StdoutSink();
  },
});
