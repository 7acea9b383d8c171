import type { ComponentDefinition } from '../../components/component';
import { authSchema, bindAddress, entrySchema, intOption, stringOption } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';

export const eventStreamProcessor: ComponentDefinition<Sink> = {
  kind: 'processor',
  provider: 'event_stream',
  description:
    'Serves the vSphere Event Streaming API: range, newest events, one event by offset (the vCenter event key), and watches from an offset or from now as JSON lines',
  schema: entrySchema({
    type: 'processor',
    provider: 'event_stream',
    description: 'vSphere Event Streaming API server',
    address: {
      required: true,
      schema: bindAddress('bind address HOST:PORT (port 0-65535), e.g. 0.0.0.0:8081'),
    },
    auth: { required: false, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
    options: {
      properties: {
        max_events: intOption(
          'Events kept for replay (the prototype: two segments of 1,000); the oldest is purged when a new one comes',
          1,
          2000,
        ),
        max_record_bytes: intOption(
          'Largest CloudEvent kept, in bytes of JSON; a larger one is skipped, counted and logged',
          1,
          524288,
        ),
        max_bytes: intOption(
          "Bytes of CloudEvent JSON kept for replay; the oldest events are purged beyond it (the default fits the manifest's 256 Mi limit)",
          1,
          32 * 1024 * 1024,
        ),
        page_size: intOption('Newest events listed by GET /api/v1/events', 1, 50),
        max_watchers: intOption('Watches open at once; one more gets 503', 1, 100),
        stream: stringOption(
          'The name of the stream whose events are served (offsets are the keys of one vCenter); required when the config has several streams',
        ),
      },
    },
  }),
  async create(entry, ctx) {
    const { EventStreamProcessor } = await import('./event-stream-processor');
    return new EventStreamProcessor(entry, ctx, eventStreamProcessor.schema);
  },
};
