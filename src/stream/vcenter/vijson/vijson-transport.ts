/**
 * The vim25 operations the stream uses, over VI/JSON: parameters written as
 * VI/JSON data objects (`_typeName` on each), replies read as JSON. Events
 * stay the JSON objects the vCenter sent (RawEvent.json) for convertJsonEvent.
 */
import {
  SERVICE_INSTANCE,
  type JsonObject,
  type MoRef,
  type RawEvent,
  type ServiceContent,
  type TransportOptions,
  type VimTransport,
} from '../transport';
import { SESSION_HEADER, ViJsonClient, type JsonReply } from './vijson-client';

const moRef = (ref: MoRef) => ({ _typeName: 'ManagedObjectReference', type: ref.type, value: ref.value });

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function moRefOf(v: unknown): MoRef | undefined {
  if (!isObject(v) || typeof v.type !== 'string' || typeof v.value !== 'string') return undefined;
  return { type: v.type, value: v.value };
}

function requireRef(content: JsonObject, name: string): MoRef {
  const ref = moRefOf(content[name]);
  if (!ref) throw new Error(`vCenter ServiceContent has no ${name}`);
  return ref;
}

function rawEvent(obj: JsonObject, arrivedAt: number): RawEvent {
  return {
    key: typeof obj.key === 'number' ? obj.key : NaN,
    createdTime: typeof obj.createdTime === 'string' ? obj.createdTime : '',
    json: obj,
    arrivedAt,
  };
}

/** The events of an `ArrayOfEvent` value (`{_typeName, _value: [...]}`), or of a bare array. */
function eventsOf(val: unknown, arrivedAt: number, into: RawEvent[]): void {
  const list = isObject(val) ? val._value : val;
  if (!Array.isArray(list)) return;
  for (const e of list) if (isObject(e)) into.push(rawEvent(e, arrivedAt));
}

/** The events of every `latestPage` among PropertyChanges or DynamicProperties (both have name and val). */
function latestPageEvents(props: unknown[], arrivedAt: number): RawEvent[] {
  const events: RawEvent[] = [];
  for (const p of props) if (isObject(p) && p.name === 'latestPage') eventsOf(p.val, arrivedAt, events);
  return events;
}

/**
 * A method's primitive result: VI/JSON writes it bare (`"2026-12-02T14:30:00Z"`),
 * but an encoder may box the root value as it boxes an anyType
 * (`{"_typeName": "dateTime", "_value": "..."}`): both are accepted.
 */
export function primitiveOf(value: unknown): unknown {
  return isObject(value) && typeof value._typeName === 'string' && '_value' in value ? value._value : value;
}

const arrayOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const latestPageSpec = (collector: MoRef) => ({
  _typeName: 'PropertyFilterSpec',
  propSet: [
    { _typeName: 'PropertySpec', type: 'EventHistoryCollector', all: false, pathSet: ['latestPage'] },
  ],
  objectSet: [{ _typeName: 'ObjectSpec', obj: moRef(collector), skip: false }],
});

export class ViJsonTransport implements VimTransport {
  readonly protocol = 'vi_json' as const;
  readonly client: ViJsonClient;

  constructor(address: string, release: string, opts: TransportOptions) {
    this.client = new ViJsonClient(address, release, opts);
  }

  get release(): string {
    return this.client.release;
  }

  async retrieveServiceContent(): Promise<ServiceContent> {
    const { value: content } = await this.client.get(SERVICE_INSTANCE, 'content', 'RetrieveServiceContent');
    if (!isObject(content)) throw new Error('RetrieveServiceContent returned nothing');
    const about = isObject(content.about) ? content.about : {};
    const eventManager = moRefOf(content.eventManager);
    if (!eventManager) throw new Error('this vSphere endpoint has no EventManager');
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    return {
      rootFolder: requireRef(content, 'rootFolder'),
      propertyCollector: requireRef(content, 'propertyCollector'),
      sessionManager: requireRef(content, 'sessionManager'),
      eventManager,
      instanceUuid: text(about.instanceUuid),
      apiVersion: text(about.apiVersion),
      fullName: text(about.fullName),
    };
  }

  async login(content: ServiceContent, username: string, password: string): Promise<void> {
    this.client.resetSession();
    await this.client.invoke(content.sessionManager, 'Login', { userName: username, password });
    if (!this.client.hasSession())
      throw new Error(`Login succeeded but the reply carried no ${SESSION_HEADER} header`);
  }

  async logout(content: ServiceContent, timeoutMs: number): Promise<void> {
    await this.client.invoke(content.sessionManager, 'Logout', {}, timeoutMs);
    this.client.resetSession();
  }

  async currentTime(): Promise<string> {
    const value = primitiveOf((await this.client.invoke(SERVICE_INSTANCE, 'CurrentTime')).value);
    if (typeof value !== 'string' || !value) throw new Error('CurrentTime returned nothing');
    return value;
  }

  async createCollectorForEvents(eventManager: MoRef, root: MoRef, pageSize: number): Promise<MoRef> {
    const { value } = await this.client.invoke(eventManager, 'CreateCollectorForEvents', {
      filter: {
        _typeName: 'EventFilterSpec',
        entity: { _typeName: 'EventFilterSpecByEntity', entity: moRef(root), recursion: 'all' },
        maxCount: pageSize,
      },
    });
    const ref = moRefOf(value);
    if (!ref) throw new Error('CreateCollectorForEvents returned no collector');
    return ref;
  }

  async setCollectorPageSize(collector: MoRef, pageSize: number): Promise<void> {
    await this.client.invoke(collector, 'SetCollectorPageSize', { maxCount: pageSize });
  }

  async createLatestPageFilter(propertyCollector: MoRef, collector: MoRef): Promise<void> {
    await this.client.invoke(propertyCollector, 'CreateFilter', {
      spec: latestPageSpec(collector),
      partialUpdates: false,
    });
  }

  async waitForUpdatesEx(
    propertyCollector: MoRef,
    version: string,
    maxWaitSeconds: number,
    timeoutMs: number,
  ): Promise<{ version: string; events: RawEvent[] } | undefined> {
    const reply: JsonReply = await this.client.invoke(
      propertyCollector,
      'WaitForUpdatesEx',
      { version, options: { _typeName: 'WaitOptions', maxWaitSeconds: Math.floor(maxWaitSeconds) } },
      timeoutMs,
    );
    const set = reply.value;
    if (!isObject(set)) return undefined;
    const changes = arrayOf(set.filterSet).flatMap((fs) =>
      isObject(fs) ? arrayOf(fs.objectSet).flatMap((os) => (isObject(os) ? arrayOf(os.changeSet) : [])) : [],
    );
    return {
      version: typeof set.version === 'string' ? set.version : version,
      events: latestPageEvents(changes, reply.arrivedAt),
    };
  }

  async retrieveLatestPage(propertyCollector: MoRef, collector: MoRef): Promise<RawEvent[]> {
    const reply = await this.client.invoke(propertyCollector, 'RetrievePropertiesEx', {
      specSet: [latestPageSpec(collector)],
      options: { _typeName: 'RetrieveOptions' },
    });
    const result = reply.value;
    if (!isObject(result)) return [];
    const props = arrayOf(result.objects).flatMap((o) => (isObject(o) ? arrayOf(o.propSet) : []));
    return latestPageEvents(props, reply.arrivedAt);
  }

  async latestEvent(_propertyCollector: MoRef, eventManager: MoRef): Promise<RawEvent | undefined> {
    const reply = await this.client.get(eventManager, 'latestEvent', 'RetrievePropertiesEx');
    return isObject(reply.value) ? rawEvent(reply.value, reply.arrivedAt) : undefined;
  }

  async resetCollector(collector: MoRef): Promise<void> {
    await this.client.invoke(collector, 'ResetCollector');
  }

  async readPreviousEvents(collector: MoRef, maxCount: number): Promise<RawEvent[]> {
    const reply = await this.client.invoke(collector, 'ReadPreviousEvents', { maxCount });
    const events: RawEvent[] = [];
    eventsOf(reply.value, reply.arrivedAt, events);
    return events;
  }

  async destroyCollector(collector: MoRef, timeoutMs: number): Promise<void> {
    await this.client.invoke(collector, 'DestroyCollector', {}, timeoutMs);
  }

  resetSession(): void {
    this.client.resetSession();
  }

  hasSession(): boolean {
    return this.client.hasSession();
  }

  abortAll(): void {
    this.client.abortAll();
  }

  close(): void {
    this.client.close();
  }
}
