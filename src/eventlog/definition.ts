import type { ComponentDefinition } from '../components/component';
import { entrySchema, fileListOption, intOption, optionDefault } from '../config/schema-parts';
import { numberOption } from '../config/types';
import type { EventLog } from './event-log';

/**
 * The optional `router` entry: the router-wide settings, which are the limits
 * of the event log between the streams and the processors, and the root CAs
 * every TLS client trusts (read by src/util/tls.ts, not here). Without it the
 * defaults below apply.
 */
export const eventLogDefinition: ComponentDefinition<EventLog> = {
  kind: 'router',
  provider: 'event_log',
  description:
    'Router-wide settings (optional entry): limits of the event log between the streams and the processors, root CAs trusted for TLS',
  schema: entrySchema({
    type: 'router',
    provider: 'event_log',
    description: 'router-wide settings',
    options: {
      properties: {
        max_events: intOption('Events held for the slowest processor before the streams wait', 1, 10_000),
        max_bytes: intOption(
          'Bytes of CloudEvent JSON held for the slowest processor before the streams wait',
          65_536,
          32 * 1024 * 1024,
        ),
        root_cas: fileListOption(
          'PEM files of CAs trusted, besides the public CAs, for the TLS of every vCenter and every processor (a vCenter or sink behind an internal CA, verified without insecure)',
        ),
      },
    },
  }),
  async create(entry) {
    const { EventLog } = await import('./event-log');
    const d = (name: string): number => Number(optionDefault(eventLogDefinition.schema, name));
    return new EventLog({
      maxEvents: numberOption(entry, 'max_events', d('max_events')),
      maxBytes: numberOption(entry, 'max_bytes', d('max_bytes')),
    });
  },
};
