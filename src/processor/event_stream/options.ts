/** The options of an event_stream processor entry. */
import { intOption, stringOption, type OptionsOf } from '../../config/options';

export const eventStreamOptions = {
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
};

export type EventStreamOptions = OptionsOf<typeof eventStreamOptions>;
