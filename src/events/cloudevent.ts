/**
 * Builds the CloudEvent for one vSphere event exactly as the original router
 * did: functions in the field parse these payloads.
 */
import * as crypto from 'node:crypto';
import { withoutCredentials } from '../util/address';
import { stringifyExact } from '../util/exact-json';
import type { CloudEvent, CloudEventAttributes, ExtensionValue, RouterEvent } from './types';

export const EVENT_TYPE_PREFIX = 'com.vmware.event.router';

/** Namespace for the UUID v5 event ids (a fixed random UUID owned by this project). */
const ID_NAMESPACE = '5b7e1f0a-3c2d-4e8f-9a1b-6c5d4e3f2a10';

/** The minimum the CloudEvent needs to know about a converted vSphere event. */
export interface SourceEvent {
  className: string;
  key: number;
  createdTime: string;
  eventTypeId?: string;
  data: Record<string, unknown>;
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

const ID_NAMESPACE_BYTES = uuidBytes(ID_NAMESPACE);

// One id per event: the one-shot crypto.hash (Node.js 21.7+) costs a third less than a Hash object.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: 'buffer') => Buffer }).hash;

function sha1(namespace: Buffer, name: string): Buffer {
  if (oneShot) return oneShot('sha1', Buffer.concat([namespace, Buffer.from(name, 'utf8')]), 'buffer');
  return crypto.createHash('sha1').update(namespace).update(name, 'utf8').digest();
}

/** RFC 4122 UUID version 5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace: string = ID_NAMESPACE): string {
  const hash = sha1(namespace === ID_NAMESPACE ? ID_NAMESPACE_BYTES : uuidBytes(namespace), name);
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The same vCenter event always gets the same id: instanceUuid + key. */
export function eventId(instanceUuid: string, key: number): string {
  return uuidV5(`${instanceUuid}/${key}`);
}

/** The CloudEvent `source` of a stream: its configured address without credentials. */
export function sourceFromAddress(address: string): string {
  return withoutCredentials(address);
}

/** `/eventex`, `/extendedevent` or `/event`, and the subject, per event class. */
export function typeAndSubject(ev: SourceEvent): { type: string; subject: string } {
  if (ev.className === 'EventEx') {
    return { type: `${EVENT_TYPE_PREFIX}/eventex`, subject: ev.eventTypeId || ev.className };
  }
  if (ev.className === 'ExtendedEvent') {
    return { type: `${EVENT_TYPE_PREFIX}/extendedevent`, subject: ev.eventTypeId || ev.className };
  }
  return { type: `${EVENT_TYPE_PREFIX}/event`, subject: ev.className };
}

/** The attributes a consumer needs in every event (CloudEvents v1.0, required context attributes). */
const REQUIRED = ['specversion', 'id', 'source', 'type'] as const;

/**
 * The attributes and data of an event, in the order its own keys get them:
 * the order the `cloudevents` package's class gave them, which decides where
 * `dataschema` and the extensions appear in the JSON and the ce- headers.
 */
const ATTRIBUTE_ORDER = [
  'id',
  'time',
  'type',
  'source',
  'specversion',
  'datacontenttype',
  'subject',
  'dataschema',
  'data_base64',
  'data',
] as const;
const ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(ATTRIBUTE_ORDER);

/** CloudEvents attribute naming: lower-case ASCII letters and digits only. */
const EXTENSION_NAME = /^[a-z0-9]+$/;

/** An event that breaks a CloudEvents rule its consumers rely on. */
export class InvalidCloudEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCloudEventError';
  }
}

/** What `newCloudEvent` takes: the attributes and the data (binary data as a Uint8Array). */
export interface CloudEventInit<T> extends CloudEventAttributes {
  data?: T;
}

/**
 * A CloudEvent of `init` and `extensions`: the required attributes must be
 * non-empty strings, and each extension name lower-case letters and digits
 * (not an attribute's own name). Attributes left undefined are absent, but
 * for `time`, which is then the current time. Binary data (a Uint8Array)
 * gets its `data_base64`.
 */
export function newCloudEvent<T>(
  init: CloudEventInit<T>,
  extensions?: Readonly<Record<string, ExtensionValue | undefined>>,
): CloudEvent<T> {
  for (const name of REQUIRED) {
    const value: unknown = init[name];
    if (typeof value !== 'string' || value === '')
      throw new InvalidCloudEventError(`CloudEvent attribute ${name} is required (a non-empty string)`);
  }
  const given = init as unknown as Record<string, unknown>;
  const event: Record<string, unknown> = {};
  for (const name of ATTRIBUTE_ORDER) {
    if (name === 'data_base64') {
      if (init.data instanceof Uint8Array) event.data_base64 = Buffer.from(init.data).toString('base64');
    } else if (name === 'time') {
      // As the `cloudevents` package did: an event without one (an empty createdTime) is stamped now.
      event.time = init.time || new Date().toISOString();
    } else if (given[name] !== undefined) event[name] = given[name];
  }
  if (extensions)
    for (const name of Object.keys(extensions)) {
      if (!EXTENSION_NAME.test(name) || ATTRIBUTE_NAMES.has(name))
        throw new InvalidCloudEventError(
          `invalid CloudEvent extension name ${JSON.stringify(name)}: lower-case letters a-z and digits only, not an attribute's name`,
        );
      if (extensions[name] !== undefined) event[name] = extensions[name];
    }
  return event as CloudEvent<T>;
}

export function toCloudEvent(ev: SourceEvent, source: string, instanceUuid: string): RouterEvent {
  const { type, subject } = typeAndSubject(ev);
  return newCloudEvent({
    specversion: '1.0',
    id: eventId(instanceUuid, ev.key),
    source,
    type,
    subject,
    time: ev.createdTime,
    datacontenttype: 'application/json',
    data: ev.data,
  });
}

const FIXED = new Set(['id', 'source', 'specversion', 'type', 'subject', 'time', 'data', 'datacontenttype']);

/**
 * The CloudEvent as a plain object, in the original router's attribute order,
 * with the attributes beyond the router's own (a webhook event's dataschema
 * and extensions, vsphere_source's eventclass) in their order. `data` is not
 * copied. `time` stays the string it was set to (vCenter's microseconds
 * included).
 */
export function cloudEventObject(ev: CloudEvent): Record<string, unknown> {
  // Binary data (a webhook event's data_base64) is written as data_base64, never as an object of bytes.
  const binary = ev.data instanceof Uint8Array;
  const out: Record<string, unknown> = {
    id: ev.id,
    source: ev.source,
    specversion: ev.specversion,
    type: ev.type,
    subject: ev.subject,
    time: ev.time,
    data: binary ? undefined : ev.data,
    datacontenttype: ev.datacontenttype,
  };
  const attrs = ev as unknown as Record<string, unknown>;
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v !== undefined && !FIXED.has(k) && !(k === 'data_base64' && ev.data !== undefined && !binary))
      out[k] = v;
  }
  return out;
}

/**
 * The structured-mode JSON of a CloudEvent (what the stdout processor prints
 * and what OpenFaaS functions and EventBridge `Detail` receive).
 */
export function cloudEventJson(ev: CloudEvent): string {
  // stringifyExact: int64 values beyond 2^53 keep their digits, as in govmomi's JSON
  return stringifyExact(cloudEventObject(ev), ev.data as object | undefined);
}
