import { defineComponent } from '../components/component';
import { authSchema, bindAddress } from '../config/schema-parts';
import type { MetricsServer } from './server';

export const internalMetrics = defineComponent<MetricsServer, Record<string, never>>({
  kind: 'metrics',
  provider: 'internal',
  description: 'HTTP server for /stats, /metrics, /healthz and /readyz',
  entry: {
    // The seed names this entry both ways (its field table and its example disagree): accept both.
    type: ['metrics', 'internal'],
    provider: ['internal', 'metrics'],
    description: 'metrics server',
    address: {
      required: true,
      schema: bindAddress('bind address HOST:PORT (port 0-65535), e.g. 0.0.0.0:8080'),
    },
    auth: { required: true, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
  },
  options: {},
  async create(entry, _options, ctx) {
    const { MetricsServer } = await import('./server');
    return new MetricsServer(entry, ctx);
  },
});
