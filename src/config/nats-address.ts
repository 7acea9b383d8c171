/**
 * The address of NATS servers as every NATS entry writes it: one or more
 * `nats://` or `tls://` URLs, comma-separated, without credentials (they go
 * in `auth`). Apart from the connection code so that config validation does
 * not load the NATS client.
 */
import { PORT_PATTERN } from './schema-parts';

/** A host as HOST_PATTERN, but without commas (they separate the URLs). */
const NATS_HOST = '(?:\\[[0-9a-fA-F:.]+\\]|[^\\s/?#:@\\[\\],]+)';
/** One server URL: `nats://` or `tls://`, a host, an optional port. */
const SERVER_URL = `(?:nats|tls)://${NATS_HOST}(?::${PORT_PATTERN})?/?`;

export const NATS_ADDRESS_PATTERN = `^${SERVER_URL}(?:\\s*,\\s*${SERVER_URL})*$`;
