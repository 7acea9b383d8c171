import type { ComponentDefinition } from '../../components/component';
import { authSchema, entrySchema } from '../../config/schema-parts';
import type { Processor } from '../processor';

export const stdoutProcessor: ComponentDefinition<Processor> = {
  kind: 'processor',
  provider: 'stdout',
  description: 'Prints one CloudEvent per line as JSON on stdout (logs go to stderr)',
  schema: entrySchema({
    type: 'processor',
    provider: 'stdout',
    description: 'stdout processor',
    auth: { required: false, schema: authSchema({ none: [] }) },
  }),
  async create(entry, ctx) {
    const { StdoutProcessor } = await import('./stdout-processor');
    return new StdoutProcessor(ctx);
  },
};
