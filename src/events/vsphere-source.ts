/**
 * The `vsphere_source` CloudEvent dialect: the attributes and data that
 * VSphereSource (vmware-tanzu/sources-for-knative, pkg/vsphere) gives a vCenter
 * event, so that Knative Triggers and functions written for it keep working
 * when the router replaces it. Its rules (pkg/vsphere/adapter.go `sendEvents`,
 * pkg/vsphere/vsphere.go `getEventDetails`, v0 API of the current releases):
 *
 *  - type: `com.vmware.vsphere.<name>.v0`, where <name> is the EventTypeId for
 *    EventEx and ExtendedEvent and the Go type name (= vim25 class) otherwise;
 *  - id: the vCenter event key in decimal;
 *  - source: the vCenter SDK URL without credentials (govmomi's client URL);
 *  - time: the event's createdTime, which the Go SDK writes in UTC (RFC 3339
 *    with nanoseconds); vCenter sends UTC already, a zone offset is converted;
 *  - extension `eventclass`: `eventex`, `extendedevent` or `event`;
 *  - extension `vsphereapiversion`: ServiceContent.about.apiVersion;
 *  - datacontenttype and data: the source's payloadEncoding, `application/xml`
 *    (its default: Go's xml.Marshal of the govmomi event) or
 *    `application/json` (Go's json.Marshal, which is the router's own `data`).
 *
 * One addition: `subject`, as in the router's own dialect (the class or
 * EventTypeId). VSphereSource sets none; a Trigger filters only on the
 * attributes it names, so it still matches, and the processors that route by
 * subject (OpenFaaS topics, NATS subjects, EventBridge) keep working.
 */
import type { RouterEvent } from './types';
import { newCloudEvent, typeAndSubject, type SourceEvent } from './cloudevent';

export const VSPHERE_SOURCE_TYPE_PREFIX = 'com.vmware.vsphere.';
/** VSphereSource marks its event API as unstable with this suffix. */
export const VSPHERE_SOURCE_TYPE_SUFFIX = '.v0';

/** VSphereSource's `payloadEncoding` values, its default first. */
export const PAYLOAD_ENCODINGS = ['application/xml', 'application/json'] as const;
export type PayloadEncoding = (typeof PAYLOAD_ENCODINGS)[number];

/** `eventclass` and the name inside the type, as getEventDetails derives them. */
export function eventDetails(ev: Pick<SourceEvent, 'className' | 'eventTypeId'>): {
  eventclass: string;
  name: string;
} {
  // getEventDetails switches on the Go type: EventEx and ExtendedEvent by their
  // EventTypeId (an empty one stays empty), every other class by its type name.
  if (ev.className === 'EventEx') return { eventclass: 'eventex', name: ev.eventTypeId ?? '' };
  if (ev.className === 'ExtendedEvent') return { eventclass: 'extendedevent', name: ev.eventTypeId ?? '' };
  return { eventclass: 'event', name: ev.className };
}

const TIME_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d)$/;

/** An RFC 3339 time (as formatTime gives it) in UTC, keeping every fractional digit. */
export function utcTime(t: string): string {
  const m = TIME_RE.exec(t);
  if (!m) return t; // already Z, or not a time we can convert
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return t;
  return `${new Date(ms).toISOString().slice(0, 19)}${m[2] ?? ''}Z`;
}

export interface VSphereSourceContext {
  /** The vCenter SDK URL without credentials. */
  source: string;
  /** ServiceContent.about.apiVersion of the vCenter. */
  apiVersion: string;
  encoding: PayloadEncoding;
  /** The event as Go's xml.Marshal writes it (needed for application/xml). */
  xml: () => string;
}

export function toVSphereSourceCloudEvent(ev: SourceEvent, ctx: VSphereSourceContext): RouterEvent {
  const { eventclass, name } = eventDetails(ev);
  const xml = ctx.encoding === 'application/xml';
  return newCloudEvent<unknown>(
    {
      specversion: '1.0',
      id: String(ev.key),
      source: ctx.source,
      type: `${VSPHERE_SOURCE_TYPE_PREFIX}${name}${VSPHERE_SOURCE_TYPE_SUFFIX}`,
      subject: typeAndSubject(ev).subject,
      time: utcTime(ev.createdTime),
      datacontenttype: ctx.encoding,
      data: xml ? ctx.xml() : ev.data,
    },
    { eventclass, vsphereapiversion: ctx.apiVersion },
  ) as RouterEvent;
}
