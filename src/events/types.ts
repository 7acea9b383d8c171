/**
 * The CloudEvent (v1.0) the router carries from a stream to the processors.
 *
 * A plain object, not the `cloudevents` package's class: that package costs
 * megabytes of memory and dozens of modules at start-up (its ajv validator
 * among them) for what is here a record of strings. The router builds its
 * events in `cloudevent.ts` and `vsphere-source.ts`; a webhook stream takes
 * them as they were sent.
 *
 * Its own keys are the attributes present, in the order the serializers
 * (`cloudEventObject`, `binaryMessage`) rely on for extensions: the
 * attributes, then `data_base64`/`data`, then the extensions as set.
 */

/** Value of an extension attribute (the CloudEvents type system, as JSON carries it). */
export type ExtensionValue = string | number | boolean | Record<string, unknown> | unknown[] | null;

/** The context attributes of CloudEvents v1.0 (the required ones first). */
export interface CloudEventAttributes {
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly subject?: string;
  readonly dataschema?: string;
}

export interface CloudEvent<T = unknown> extends CloudEventAttributes {
  /** The data (a Uint8Array for binary data, written as `data_base64`). */
  readonly data?: T;
  /** Base64 of binary `data` (present exactly when `data` is binary). */
  readonly data_base64?: string;
  /** Extension attributes (lower-case letters and digits). */
  readonly [extension: string]: unknown;
}

/** The CloudEvent the router builds for one vSphere event (`data` is govmomi-shaped JSON). */
export type RouterEvent = CloudEvent<Record<string, unknown>>;
