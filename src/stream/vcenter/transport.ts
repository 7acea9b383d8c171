/**
 * The protocol-neutral view of a vCenter that the session and the event
 * collector use: typed vim25 operations, implemented once over SOAP
 * (soap/soap-transport.ts) and once over VI/JSON (vijson/vijson-transport.ts).
 * Nothing above this interface knows which protocol carries the calls; an
 * event stays in its wire form (an XML element or a JSON object) until the
 * stream converts it, so that a burst is not converted before it is needed.
 */
import { quotePeer } from '../../log/logger';
import type { RootCAs } from '../../util/tls';
import type { XmlElement } from './vim25/xml';

export interface MoRef {
  type: string;
  value: string;
}

/** A fault the vCenter answered (`InvalidLogin`, `NotAuthenticated`, ...), over SOAP or VI/JSON. */
export class VimFault extends Error {
  constructor(
    readonly method: string,
    /** The fault's detail type (`InvalidLogin`), or the faultcode when there is no detail. */
    readonly faultType: string,
    readonly faultString: string,
  ) {
    // The vCenter's words: an echoing peer may put the request (the Login password) into them.
    super(`${method}: vCenter fault ${quotePeer(faultType)}: ${quotePeer(faultString)}`);
    this.name = 'VimFault';
  }
}

/** How a transport reaches the vCenter, whichever the protocol. */
export interface TransportOptions {
  insecure: boolean;
  /** The operator's root CAs, trusted besides the default ones. */
  rootCAs?: RootCAs;
  /** Per-call timeout in milliseconds. */
  timeoutMs: number;
}
export const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  sessionManager: MoRef;
  eventManager: MoRef;
  instanceUuid: string;
  apiVersion: string;
  fullName: string;
}

export type Protocol = 'soap' | 'vi_json';
/** The stream's `protocol` option: a protocol, or `auto` (negotiated, see negotiate.ts). */
export const PROTOCOLS = ['soap', 'vi_json', 'auto'] as const;
export type ProtocolOption = (typeof PROTOCOLS)[number];

/** A JSON object as VI/JSON writes a data object (`_typeName` and the WSDL's property names). */
export type JsonObject = Record<string, unknown>;

/** One event as it came off the wire: exactly one of `xml` and `json` is set. */
export interface RawEvent {
  key: number;
  createdTime: string;
  xml?: XmlElement;
  json?: JsonObject;
  /** When the reply that carried it arrived (performance.now() ms). */
  arrivedAt?: number;
}

export interface VimTransport {
  readonly protocol: Protocol;
  /** The VI/JSON release the calls use (`8.0.2.0`); undefined over SOAP. */
  readonly release?: string;

  retrieveServiceContent(): Promise<ServiceContent>;
  /** Starts a new session (the previous one is forgotten first). */
  login(content: ServiceContent, username: string, password: string): Promise<void>;
  logout(content: ServiceContent, timeoutMs: number): Promise<void>;
  /** The vCenter's clock (an xsd:dateTime as the server wrote it). */
  currentTime(): Promise<string>;

  /** An EventHistoryCollector over `root` (recursion `all`) with an initial page of `pageSize`. */
  createCollectorForEvents(eventManager: MoRef, root: MoRef, pageSize: number): Promise<MoRef>;
  setCollectorPageSize(collector: MoRef, pageSize: number): Promise<void>;
  /** A PropertyCollector filter on the collector's `latestPage`. */
  createLatestPageFilter(propertyCollector: MoRef, collector: MoRef): Promise<void>;
  /**
   * WaitForUpdatesEx: undefined when nothing changed within `maxWaitSeconds`,
   * else the new version and the events of every `latestPage` change.
   */
  waitForUpdatesEx(
    propertyCollector: MoRef,
    version: string,
    maxWaitSeconds: number,
    timeoutMs: number,
  ): Promise<{ version: string; events: RawEvent[] } | undefined>;
  /** RetrievePropertiesEx of the collector's `latestPage`. */
  retrieveLatestPage(propertyCollector: MoRef, collector: MoRef): Promise<RawEvent[]>;
  /** EventManager.latestEvent: the vCenter's newest event, undefined when it holds none. */
  latestEvent(propertyCollector: MoRef, eventManager: MoRef): Promise<RawEvent | undefined>;
  resetCollector(collector: MoRef): Promise<void>;
  readPreviousEvents(collector: MoRef, maxCount: number): Promise<RawEvent[]>;
  destroyCollector(collector: MoRef, timeoutMs: number): Promise<void>;

  /** Forget the session (a new Login starts a new one). */
  resetSession(): void;
  hasSession(): boolean;
  /** Abort every call in flight (shutdown interrupts a long WaitForUpdatesEx this way). */
  abortAll(): void;
  close(): void;
}
