/**
 * Follows a vCenter's events through an EventHistoryCollector.
 *
 * The collector covers the root folder with recursion `all` (every event) and
 * a page of PAGE_SIZE (the maximum, 1000). A PropertyCollector filter on its
 * `latestPage` plus `WaitForUpdatesEx` returns as soon as events arrive, on a
 * vCenter and on govmomi's simulator alike. Each reply holds the newest
 * PAGE_SIZE events; the caller keeps a Cursor and takes the ones after it, so
 * a burst of up to PAGE_SIZE events between two replies loses nothing (the
 * original router used a page of 1 and lost every event but the last).
 *
 * When a reply's whole page is new, more events may have arrived than the page
 * holds; the history behind the page is then read with ResetCollector +
 * ReadPreviousEvents (newest to oldest on a vCenter), until events known to the
 * cursor show up. Whatever the vCenter no longer holds is reported, never
 * silently skipped.
 */
import { child, children, type XmlElement } from './vim25/xml';
import { moRefArg, moRefOf, VimClient, type MoRef } from './soap/vim-client';
import type { ServiceContent } from './session';

export const PAGE_SIZE = 1000;
/** Upper bound on events read back through ReadPreviousEvents for one gap (memory bound). */
export const MAX_GAP_READ = 10 * PAGE_SIZE;

export interface RawEvent {
  key: number;
  createdTime: string;
  el: XmlElement;
}

/** Key and createdTime straight from the element, without converting the whole event. */
export function rawEvent(el: XmlElement): RawEvent {
  const key = Number(child(el, 'key')?.text ?? NaN);
  const createdTime = child(el, 'createdTime')?.text ?? '';
  return { key, createdTime, el };
}

export class EventCollector {
  private collector?: MoRef;
  private filter?: MoRef;
  private version = '';

  constructor(
    private readonly client: VimClient,
    private readonly content: ServiceContent,
  ) {}

  async create(): Promise<void> {
    const res = await this.client.call('CreateCollectorForEvents', {
      _this: moRefArg(this.content.eventManager),
      filter: { entity: { entity: moRefArg(this.content.rootFolder), recursion: 'all' } },
    });
    this.collector = moRefOf(child(res, 'returnval'));
    if (!this.collector) throw new Error('CreateCollectorForEvents returned no collector');
    await this.client.call('SetCollectorPageSize', { _this: moRefArg(this.collector), maxCount: PAGE_SIZE });
    const f = await this.client.call('CreateFilter', {
      _this: moRefArg(this.content.propertyCollector),
      spec: {
        propSet: [{ type: 'EventHistoryCollector', all: false, pathSet: ['latestPage'] }],
        objectSet: [{ obj: moRefArg(this.collector), skip: false }],
      },
      partialUpdates: false,
    });
    this.filter = moRefOf(child(f, 'returnval'));
    this.version = '';
  }

  /**
   * Wait up to `maxWaitSeconds` for the latest page to change. Resolves to the
   * page's events (newest first, as the vCenter sends them), or undefined when
   * nothing changed in that time.
   */
  async waitForPage(maxWaitSeconds: number, timeoutMs: number): Promise<RawEvent[] | undefined> {
    const res = await this.client.call(
      'WaitForUpdatesEx',
      { _this: moRefArg(this.content.propertyCollector), version: this.version, options: { maxWaitSeconds } },
      timeoutMs,
    );
    const ret = child(res, 'returnval');
    if (!ret) return undefined;
    this.version = child(ret, 'version')?.text ?? this.version;
    let page: RawEvent[] | undefined;
    for (const fs of children(ret, 'filterSet')) {
      for (const os of children(fs, 'objectSet')) {
        for (const cs of children(os, 'changeSet')) {
          if (child(cs, 'name')?.text !== 'latestPage') continue;
          const val = child(cs, 'val');
          page = val ? val.children.map(rawEvent) : [];
        }
      }
    }
    return page;
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
      const res = await this.client.call('ReadPreviousEvents', { _this: moRefArg(this.collector), maxCount: PAGE_SIZE });
      const batch = children(res, 'returnval').map(rawEvent);
      if (batch.length === 0) break;
      out.push(...batch);
      if (batch.some(stop)) break;
    }
    return out;
  }

  /** Best effort: the collector and its filter are session objects, gone with the session anyway. */
  async destroy(timeoutMs: number): Promise<void> {
    const collector = this.collector;
    this.collector = undefined;
    this.filter = undefined;
    if (collector) await this.client.call('DestroyCollector', { _this: moRefArg(collector) }, timeoutMs);
  }
}
