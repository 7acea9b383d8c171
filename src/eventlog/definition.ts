import type { ComponentDefinition } from '../components/component';
import { entrySchema, intOption, optionDefault } from '../config/schema-parts';
import { numberOption } from '../config/types';
import type { EventLog } from './event-log';

/**
 * The optional `router` entry: limits of the event log between the streams
 * and the processors. Without it the defaults below apply.
 */
export const eventLogDefinition: ComponentDefinition<EventLog> = {
  kind: 'router',
  provider: 'event_log',
  description: 'Limits of the event log between the streams and the processors (optional entry)',
  schema: entrySchema({
    type: 'router',
    provider: 'event_log',
    description: 'event log',
    options: {
      properties: {
        max_events: intOption('Events held for the slowest processor before the streams wait', 1, 10_000),
        max_bytes: intOption(
          'Bytes of CloudEvent JSON held for the slowest processor before the streams wait',
          65_536,
          32 * 1024 * 1024,
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
