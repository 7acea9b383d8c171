/**
 * Follows a vCenter's events through two EventHistoryCollectors over the
 * root folder (recursion `all`: every event).
 *
 * - The *page* collector has the largest page (1000): its `latestPage` is the
 *   newest 1000 events. It is read with RetrievePropertiesEx only when needed.
 * - The *wake* collector has a page of 1, and a PropertyCollector filter on
 *   its `latestPage`: `WaitForUpdatesEx` returns as soon as an event arrives,
 *   and each reply carries the newest event(s) cheaply.
 *
 * Why two: watching a 1000-event page directly makes every reply carry the
 * whole page, and govmomi's simulator even sends one full page *per event*
 * posted since the last reply (a 1,000-event burst would be a reply of a
 * million events). A vCenter coalesces changes, so a wake reply may skip
 * events; the caller notices the key gap and reads the page collector, and
 * when even its whole page is new, the history behind it through
 * ResetCollector + ReadPreviousEvents (newest to oldest on a vCenter).
 * The original router watched a page of 1 alone and lost every event that a
 * burst pushed past it.
 */
import { child, children, type XmlElement } from './vim25/xml';
import { moRefArg, moRefOf, replyArrivedAt, VimClient, type MoRef } from './soap/vim-client';
import type { ServiceContent } from './session';

export const PAGE_SIZE = 1000;
/** Upper bound on events read back through ReadPreviousEvents for one gap (memory bound). */
export const MAX_GAP_READ = 10 * PAGE_SIZE;

export interface RawEvent {
  key: number;
  createdTime: string;
  el: XmlElement;
  /** When the reply that carried it arrived (performance.now() ms), see replyArrivedAt. */
  arrivedAt?: number;
}

/** Key and createdTime straight from the element, without converting the whole event. */
export function rawEvent(el: XmlElement): RawEvent {
  const key = Number(child(el, 'key')?.text ?? NaN);
  const createdTime = child(el, 'createdTime')?.text ?? '';
  return { key, createdTime, el };
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
    if (val)
      for (const el of val.children) {
        const raw = rawEvent(el);
        raw.arrivedAt = arrivedAt;
        events.push(raw);
      }
  }
  return events;
}

const latestPageSpec = (collector: MoRef) => ({
  propSet: [{ type: 'EventHistoryCollector', all: false, pathSet: ['latestPage'] }],
  objectSet: [{ obj: moRefArg(collector), skip: false }],
});

export class EventCollector {
  private collector?: MoRef;
  private wake?: MoRef;
  private version = '';

  constructor(
    private readonly client: VimClient,
    private readonly content: ServiceContent,
  ) {}

  private async createCollector(pageSize: number): Promise<MoRef> {
    const res = await this.client.call('CreateCollectorForEvents', {
      _this: moRefArg(this.content.eventManager),
      // maxCount is the collector's initial page size. SetCollectorPageSize alone is not
      // enough on govmomi's simulator: shrinking its default 10-event page leaves 9 events,
      // and a 9-event wake page made every burst reply carry nine times the events.
      filter: { entity: { entity: moRefArg(this.content.rootFolder), recursion: 'all' }, maxCount: pageSize },
    });
    const ref = moRefOf(child(res, 'returnval'));
    if (!ref) throw new Error('CreateCollectorForEvents returned no collector');
    await this.client.call('SetCollectorPageSize', { _this: moRefArg(ref), maxCount: pageSize });
    return ref;
  }

  async create(): Promise<void> {
    this.collector = await this.createCollector(PAGE_SIZE);
    this.wake = await this.createCollector(1);
    await this.client.call('CreateFilter', {
      _this: moRefArg(this.content.propertyCollector),
      spec: latestPageSpec(this.wake),
      partialUpdates: false,
    });
    this.version = '';
  }

  /**
   * Wait up to `maxWaitSeconds` for events. Resolves to the newest events the
   * wake collector reported (any order, possibly with gaps), or undefined when
   * nothing happened in that time.
   */
  async waitForEvents(maxWaitSeconds: number, timeoutMs: number): Promise<RawEvent[] | undefined> {
    const res = await this.client.waitForUpdatesEx(
      this.content.propertyCollector,
      this.version,
      maxWaitSeconds,
      timeoutMs,
    );
    const ret = child(res, 'returnval');
    if (!ret) return undefined;
    this.version = child(ret, 'version')?.text ?? this.version;
    const changes = children(ret, 'filterSet').flatMap((fs) =>
      children(fs, 'objectSet').flatMap((os) => children(os, 'changeSet')),
    );
    return latestPageEvents(changes, replyArrivedAt(res));
  }

  /** The newest PAGE_SIZE events, newest first. */
  async readPage(): Promise<RawEvent[]> {
    if (!this.collector) return [];
    const res = await this.client.call('RetrievePropertiesEx', {
      _this: moRefArg(this.content.propertyCollector),
      specSet: latestPageSpec(this.collector),
      options: {},
    });
    const props = children(res, 'returnval').flatMap((ret) =>
      children(ret, 'objects').flatMap((obj) => children(obj, 'propSet')),
    );
    return latestPageEvents(props, replyArrivedAt(res));
  }

  /**
   * Read the history behind the latest page, newest first, until `stop`
   * says an event is already known, the history ends, or MAX_GAP_READ events
   * were read. On a vCenter this returns the events a burst pushed out of the
   * page; govmomi's simulator only holds its page, so there it returns
   * nothing new.
   */
  async readBehindPage(stop: (ev: RawEvent) => boolean): Promise<RawEvent[]> {
    if (!this.collector) return [];
    const out: RawEvent[] = [];
    await this.client.call('ResetCollector', { _this: moRefArg(this.collector) });
    while (out.length < MAX_GAP_READ) {
      const res = await this.client.call('ReadPreviousEvents', {
        _this: moRefArg(this.collector),
        maxCount: PAGE_SIZE,
      });
      const arrivedAt = replyArrivedAt(res);
      const batch = children(res, 'returnval').map((el) => ({ ...rawEvent(el), arrivedAt }));
      if (batch.length === 0) break;
      out.push(...batch);
      if (batch.some(stop)) break;
    }
    return out;
  }

  /** Best effort: the collector and its filter are session objects, gone with the session anyway. */
  async destroy(timeoutMs: number): Promise<void> {
    const refs = [this.wake, this.collector];
    this.collector = undefined;
    this.wake = undefined;
    for (const ref of refs)
      if (ref) await this.client.call('DestroyCollector', { _this: moRefArg(ref) }, timeoutMs);
  }
}
