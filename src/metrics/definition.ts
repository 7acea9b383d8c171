import type { ComponentDefinition } from '../components/component';
import { authSchema, bindAddress, entrySchema } from '../config/schema-parts';
import type { MetricsServer } from './server';

export const internalMetrics: ComponentDefinition<MetricsServer> = {
  kind: 'metrics',
  provider: 'internal',
  description: 'HTTP server for /stats, /metrics, /healthz and /readyz',
  schema: entrySchema({
    // The seed names this entry both ways (its field table and its example disagree): accept both.
    type: ['metrics', 'internal'],
    provider: ['internal', 'metrics'],
    description: 'metrics server',
    address: {
      required: true,
      schema: bindAddress('bind address HOST:PORT (port 0-65535), e.g. 0.0.0.0:8080'),
    },
    auth: { required: true, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
  }),
  async create(entry, ctx) {
    const { MetricsServer } = await import('./server');
    return new MetricsServer(entry, ctx);
  },
};
