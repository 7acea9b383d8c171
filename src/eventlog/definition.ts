import { defineComponent } from '../components/component';
import { routerEntryOptions } from '../config/router-entry';
import type { EventLog } from './event-log';

/**
 * The optional `router` entry: the router-wide settings, which are the limits
 * of the event log between the streams and the processors, and the root CAs
 * every TLS client trusts (read at start by the router, not here). Without it
 * the defaults of src/config/router-entry.ts apply.
 */
export const eventLogDefinition = defineComponent<EventLog, typeof routerEntryOptions>({
  kind: 'router',
  provider: 'event_log',
  description:
    'Router-wide settings (optional entry): limits of the event log between the streams and the processors, root CAs trusted for TLS',
  entry: { description: 'router-wide settings' },
  options: routerEntryOptions,
  async create(_entry, options) {
    const { EventLog } = await import('./event-log');
    return new EventLog({ maxEvents: options.max_events, maxBytes: options.max_bytes });
  },
});
