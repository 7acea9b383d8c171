/** The options of a nats_jetstream processor entry. */
import {
  boolOption,
  defaultedStringOption,
  intOption,
  requiredStringOption,
  stringOption,
  type OptionsOf,
} from '../../config/options';
import { deliveryOptions } from '../../config/schema-parts';

/** A subject of plain tokens: no wildcards, no whitespace, no empty token. */
export const SUBJECT_PREFIX_PATTERN = '^[^\\s.*>]+(?:\\.[^\\s.*>]+)*$';

export const natsJetStreamOptions = {
  stream: requiredStringOption('Name of the JetStream stream the events are stored in', {
    pattern: '^[^\\s.*>/\\\\]+$',
  }),
  create_stream: boolOption(
    'Create the stream when it does not exist (subjects `<subject_prefix>.>`, file storage); otherwise a missing stream is a start error',
    false,
  ),
  replicas: intOption('Replicas of a stream this processor creates (1, 3 or 5 in a cluster)', 1, 1),
  max_age: intOption('Seconds a created stream keeps a message (0: no limit)', 0, 0),
  subject_prefix: defaultedStringOption(
    'Subject prefix: events go to `<subject_prefix>.<CloudEvent subject>`',
    {
      pattern: SUBJECT_PREFIX_PATTERN,
      default: 'vsphere.events',
    },
  ),
  timeout: intOption('Seconds to wait for a PubAck before the publish is retried', 1, 5),
  insecure: boolOption('TLS: do not verify the server certificate (tests only)', false),
  ca_file: stringOption('TLS: PEM file of the CA that signed the server certificates'),
  // Publishes are pipelined on one connection; the retry budget (retry_max_duration) outlasts
  // a cluster's leader election after a server loss.
  ...deliveryOptions({ maxInFlight: 64 }),
};

export type NatsJetStreamOptions = OptionsOf<typeof natsJetStreamOptions>;
