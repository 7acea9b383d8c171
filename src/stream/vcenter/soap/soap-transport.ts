/**
 * The vim25 operations the stream uses, over SOAP (VimClient): the parameters
 * in WSDL order (./envelope.ts) and the replies read from the XmlElement tree.
 */
import { child, children, childText, type XmlElement } from '../vim25/xml';
import {
  SERVICE_INSTANCE,
  type MoRef,
  type RawEvent,
  type ServiceContent,
  type VimTransport,
} from '../transport';
import type { SoapFields } from './envelope';
import { replyArrivedAt, VimClient } from './vim-client';
import type { TransportOptions } from '../transport';

export function moRefOf(el: XmlElement | undefined): MoRef | undefined {
  if (!el) return undefined;
  return { type: el.attrs.type ?? '', value: el.text };
}

/** Key and createdTime straight from the element, without converting the whole event. */
export function rawEvent(el: XmlElement, arrivedAt?: number): RawEvent {
  const key = Number(child(el, 'key')?.text ?? NaN);
  const createdTime = child(el, 'createdTime')?.text ?? '';
  return { key, createdTime, xml: el, arrivedAt };
}

/**
 * The events of every `latestPage` value among property changes (WaitForUpdatesEx
 * `changeSet`s) or properties (RetrievePropertiesEx `propSet`s): both carry
 * `name` and `val`.
 */
function latestPageEvents(props: XmlElement[], arrivedAt: number | undefined): RawEvent[] {
  const events: RawEvent[] = [];
  for (const prop of props) {
    if (child(prop, 'name')?.text !== 'latestPage') continue;
    const val = child(prop, 'val');
    if (val) for (const el of val.children) events.push(rawEvent(el, arrivedAt));
  }
  return events;
}

/** A PropertyFilterSpec of one property of one object. */
const propertySpec = (obj: MoRef, property: string): SoapFields => [
  [
    'propSet',
    [
      ['type', obj.type],
      ['all', false],
      ['pathSet', property],
    ],
  ],
  [
    'objectSet',
    [
      ['obj', obj],
      ['skip', false],
    ],
  ],
];
const latestPageSpec = (collector: MoRef) => propertySpec(collector, 'latestPage');

function requireRef(content: XmlElement, name: string): MoRef {
  const ref = moRefOf(child(content, name));
  if (!ref) throw new Error(`vCenter ServiceContent has no ${name}`);
  return ref;
}

export class SoapTransport implements VimTransport {
  readonly protocol = 'soap' as const;
  readonly release = undefined;

  readonly client: VimClient;

  constructor(address: string, opts: TransportOptions) {
    this.client = new VimClient(address, opts);
  }

  async retrieveServiceContent(): Promise<ServiceContent> {
    const res = await this.client.call('RetrieveServiceContent', SERVICE_INSTANCE);
    const content = child(res, 'returnval');
    if (!content) throw new Error('RetrieveServiceContent returned nothing');
    const about = child(content, 'about');
    const eventManager = moRefOf(child(content, 'eventManager'));
    if (!eventManager) throw new Error('this vSphere endpoint has no EventManager');
    return {
      rootFolder: requireRef(content, 'rootFolder'),
      propertyCollector: requireRef(content, 'propertyCollector'),
      sessionManager: requireRef(content, 'sessionManager'),
      eventManager,
      instanceUuid: (about && childText(about, 'instanceUuid')) || '',
      apiVersion: (about && childText(about, 'apiVersion')) || '',
      fullName: (about && childText(about, 'fullName')) || '',
    };
  }

  async login(content: ServiceContent, username: string, password: string): Promise<void> {
    this.client.resetSession();
    await this.client.call('Login', content.sessionManager, [
      ['userName', username],
      ['password', password],
    ]);
  }

  async logout(content: ServiceContent, timeoutMs: number): Promise<void> {
    await this.client.call('Logout', content.sessionManager, [], timeoutMs);
    this.client.resetSession();
  }

  async currentTime(): Promise<string> {
    const res = await this.client.call('CurrentTime', SERVICE_INSTANCE);
    const t = childText(res, 'returnval');
    if (!t) throw new Error('CurrentTime returned nothing');
    return t;
  }

  async createCollectorForEvents(eventManager: MoRef, root: MoRef, pageSize: number): Promise<MoRef> {
    const res = await this.client.call('CreateCollectorForEvents', eventManager, [
      [
        'filter',
        [
          [
            'entity',
            [
              ['entity', root],
              ['recursion', 'all'],
            ],
          ],
          ['maxCount', pageSize],
        ],
      ],
    ]);
    const ref = moRefOf(child(res, 'returnval'));
    if (!ref) throw new Error('CreateCollectorForEvents returned no collector');
    return ref;
  }

  async setCollectorPageSize(collector: MoRef, pageSize: number): Promise<void> {
    await this.client.call('SetCollectorPageSize', collector, [['maxCount', pageSize]]);
  }

  async createLatestPageFilter(propertyCollector: MoRef, collector: MoRef): Promise<void> {
    await this.client.call('CreateFilter', propertyCollector, [
      ['spec', latestPageSpec(collector)],
      ['partialUpdates', false],
    ]);
  }

  async waitForUpdatesEx(
    propertyCollector: MoRef,
    version: string,
    maxWaitSeconds: number,
    timeoutMs: number,
  ): Promise<{ version: string; events: RawEvent[] } | undefined> {
    const res = await this.client.call(
      'WaitForUpdatesEx',
      propertyCollector,
      [
        ['version', version],
        ['options', [['maxWaitSeconds', Math.floor(maxWaitSeconds)]]],
      ],
      timeoutMs,
    );
    const ret = child(res, 'returnval');
    if (!ret) return undefined;
    const changes = children(ret, 'filterSet').flatMap((fs) =>
      children(fs, 'objectSet').flatMap((os) => children(os, 'changeSet')),
    );
    return {
      version: child(ret, 'version')?.text ?? version,
      events: latestPageEvents(changes, replyArrivedAt(res)),
    };
  }

  /** RetrievePropertiesEx of one property: the reply and its `propSet`s. */
  private async retrieveProperty(
    propertyCollector: MoRef,
    obj: MoRef,
    property: string,
  ): Promise<{ res: XmlElement; props: XmlElement[] }> {
    const res = await this.client.call('RetrievePropertiesEx', propertyCollector, [
      ['specSet', propertySpec(obj, property)],
      ['options', []],
    ]);
    const props = children(res, 'returnval').flatMap((ret) =>
      children(ret, 'objects').flatMap((o) => children(o, 'propSet')),
    );
    return { res, props };
  }

  async retrieveLatestPage(propertyCollector: MoRef, collector: MoRef): Promise<RawEvent[]> {
    const { res, props } = await this.retrieveProperty(propertyCollector, collector, 'latestPage');
    return latestPageEvents(props, replyArrivedAt(res));
  }

  async latestEvent(propertyCollector: MoRef, eventManager: MoRef): Promise<RawEvent | undefined> {
    const { props } = await this.retrieveProperty(propertyCollector, eventManager, 'latestEvent');
    const prop = props.find((p) => child(p, 'name')?.text === 'latestEvent');
    const val = prop && child(prop, 'val');
    return val ? rawEvent(val) : undefined;
  }

  async resetCollector(collector: MoRef): Promise<void> {
    await this.client.call('ResetCollector', collector);
  }

  async readPreviousEvents(collector: MoRef, maxCount: number): Promise<RawEvent[]> {
    const res = await this.client.call('ReadPreviousEvents', collector, [['maxCount', maxCount]]);
    const arrivedAt = replyArrivedAt(res);
    return children(res, 'returnval').map((el) => rawEvent(el, arrivedAt));
  }

  async destroyCollector(collector: MoRef, timeoutMs: number): Promise<void> {
    await this.client.call('DestroyCollector', collector, [], timeoutMs);
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
