import { defineComponent } from '../../components/component';
import { authSchema, bindAddress } from '../../config/schema-parts';
import type { Sink } from '../../delivery/sink';
import { eventStreamOptions } from './options';

export const eventStreamProcessor = defineComponent<Sink, typeof eventStreamOptions>({
  kind: 'processor',
  provider: 'event_stream',
  description:
    'Serves the vSphere Event Streaming API: range, newest events, one event by offset (the vCenter event key), and watches from an offset or from now as JSON lines',
  entry: {
    description: 'vSphere Event Streaming API server',
    address: {
      required: true,
      schema: bindAddress('bind address HOST:PORT (port 0-65535), e.g. 0.0.0.0:8081'),
    },
    auth: { required: false, schema: authSchema({ basic_auth: ['username', 'password'], none: [] }) },
  },
  options: eventStreamOptions,
  // Offsets are the event keys of one vCenter: with several streams the entry names the one it serves.
  streamScoped: true,
  async create(entry, options, ctx) {
    const { EventStreamSink } = await import('./event-stream-sink');
    return new EventStreamSink(entry, options, ctx);
  },
});
