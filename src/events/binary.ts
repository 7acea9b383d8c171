/**
 * The CloudEvents HTTP binary-mode encoding of a CloudEvent (CloudEvents
 * HTTP protocol binding 1.0, §3.1): every attribute is a `ce-` header,
 * `datacontenttype` is the `Content-Type`, the data is the body.
 *
 * Not the `cloudevents` package's serializer: it renders `time` through
 * `Date`, cutting vCenter's sub-millisecond digits; here `ce-time` is the
 * event's time string exactly as it was set.
 */
import type { CloudEvent } from './types';

/** Attributes that are not `ce-` headers: the data itself, and the Content-Type. */
const NOT_HEADERS = new Set(['data', 'data_base64', 'datacontenttype']);

/**
 * A header value as the binding requires (§3.1.3.2): UTF-8, then every byte
 * that is a space, `"`, `%`, or outside printable ASCII (U+0021-U+007E)
 * percent-encoded.
 */
export function percentEncodeHeader(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x25) out += String.fromCharCode(byte);
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The reverse of `percentEncodeHeader` (for receivers and tests). */
export function percentDecodeHeader(value: string): string {
  return Buffer.from(
    value.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/** An attribute value as a string (binding §3.1.3.1: the canonical string form of its type). */
function attributeString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return undefined;
}

export interface BinaryMessage {
  headers: Record<string, string>;
  body: Buffer;
}

/** The binary-mode HTTP message of `event`: `ce-*` headers, Content-Type, and the data as body. */
export function binaryMessage(event: CloudEvent): BinaryMessage {
  const headers: Record<string, string> = {};
  const attrs = event as unknown as Record<string, unknown>;
  // Required attributes first, in the spec's order, then the rest (extensions included).
  const names = ['specversion', 'id', 'source', 'type'];
  for (const name of Object.keys(attrs)) if (!names.includes(name)) names.push(name);
  for (const name of names) {
    if (NOT_HEADERS.has(name)) continue;
    const value = attributeString(attrs[name]);
    if (value === undefined) continue;
    headers[`ce-${name.toLowerCase()}`] = percentEncodeHeader(value);
  }
  const contentType = event.datacontenttype ?? 'application/json';
  headers['Content-Type'] = contentType;
  const data: unknown = event.data;
  let body: Buffer;
  if (data === undefined) body = Buffer.alloc(0);
  else if (data instanceof Uint8Array) body = Buffer.from(data);
  else if (typeof data === 'string' && !/json/i.test(contentType)) body = Buffer.from(data, 'utf8');
  else body = Buffer.from(JSON.stringify(data), 'utf8');
  return { headers, body };
}
