import type { ComponentDefinition } from '../../components/component';
import { authSchema, entrySchema } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';

export const stdoutProcessor: ComponentDefinition<Sink> = {
  kind: 'processor',
  provider: 'stdout',
  description: 'Prints one CloudEvent per line as JSON on stdout (logs go to stderr)',
  schema: entrySchema({
    type: 'processor',
    provider: 'stdout',
    description: 'stdout processor',
    auth: { required: false, schema: authSchema({ none: [] }) },
  }),
  async create() {
    const { StdoutProcessor } = await import('./stdout-processor');
    return new StdoutProcessor();
  },
};
