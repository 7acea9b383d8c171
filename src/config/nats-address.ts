/**
 * The address and auth of NATS servers as every NATS entry writes them: one
 * or more `nats://` or `tls://` URLs, comma-separated, without credentials
 * (they go in `auth`: none, a user and password, or a token). Apart from the connection code so that config validation does
 * not load the NATS client.
 */
import { authSchema, PORT_PATTERN } from './schema-parts';

/** A host as HOST_PATTERN, but without commas (they separate the URLs). */
const NATS_HOST = '(?:\\[[0-9a-fA-F:.]+\\]|[^\\s/?#:@\\[\\],]+)';
/** One server URL: `nats://` or `tls://`, a host, an optional port. */
const SERVER_URL = `(?:nats|tls)://${NATS_HOST}(?::${PORT_PATTERN})?/?`;

export const NATS_ADDRESS_PATTERN = `^${SERVER_URL}(?:\\s*,\\s*${SERVER_URL})*$`;

/** The `address` and `auth` of an entry that connects to NATS (the JetStream sink, the coordination store). */
export const natsEntrySchema = {
  address: {
    required: true,
    schema: {
      type: 'string',
      description:
        'NATS server URL(s), comma-separated, e.g. nats://nats-0.nats:4222,nats://nats-1.nats:4222 (tls:// for TLS)',
      pattern: NATS_ADDRESS_PATTERN,
    },
  },
  auth: {
    required: true,
    schema: authSchema({ none: [], basic_auth: ['username', 'password'], token: ['token'] }),
  },
};
