/**
 * Follows a vCenter's events through two EventHistoryCollectors over the
 * root folder (recursion `all`: every event).
 *
 * - The *page* collector has the `page_size` option's page (1000, the largest,
 *   by default): its `latestPage` is the newest events. It is read with
 *   RetrievePropertiesEx only when needed.
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
import type { MoRef, RawEvent, ServiceContent, VimTransport } from './transport';

export type { RawEvent } from './transport';

/** Pages read back through ReadPreviousEvents for one gap at most (memory bound). */
export const MAX_GAP_PAGES = 10;

/** What the history behind the page held. */
export interface BehindPage {
  /** Newest first, as read. */
  events: RawEvent[];
  /**
   * The read came back to an event `stop` knew: every key between it and the
   * page that the vCenter did not return was skipped by its collector (an event
   * the user may not see), not dropped from its history.
   */
  reachedKnown: boolean;
}

export class EventCollector {
  private collector?: MoRef;
  private wake?: MoRef;
  private version = '';

  constructor(
    private readonly client: VimTransport,
    private readonly content: ServiceContent,
    /** Events per page of the page collector (the `page_size` option). */
    readonly pageSize: number,
  ) {}

  private async createCollector(pageSize: number): Promise<MoRef> {
    // The initial page size is given at creation too. SetCollectorPageSize alone is not
    // enough on govmomi's simulator: shrinking its default 10-event page leaves 9 events,
    // and a 9-event wake page made every burst reply carry nine times the events.
    const ref = await this.client.createCollectorForEvents(
      this.content.eventManager,
      this.content.rootFolder,
      pageSize,
    );
    await this.client.setCollectorPageSize(ref, pageSize);
    return ref;
  }

  /** The page collector alone (a probe: read once, then destroyed). */
  async createPage(): Promise<void> {
    this.collector = await this.createCollector(this.pageSize);
  }

  async create(): Promise<void> {
    await this.createPage();
    this.wake = await this.createCollector(1);
    await this.client.createLatestPageFilter(this.content.propertyCollector, this.wake);
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
    if (!res) return undefined;
    this.version = res.version;
    return res.events;
  }

  /** The newest `pageSize` events, newest first. */
  async readPage(): Promise<RawEvent[]> {
    if (!this.collector) return [];
    return this.client.retrieveLatestPage(this.content.propertyCollector, this.collector);
  }

  /**
   * Read the history behind the latest page, newest first, until `stop`
   * says an event is already known, the history ends, or MAX_GAP_PAGES pages
   * were read. On a vCenter this returns the events a burst pushed out of the
   * page; govmomi's simulator only holds its page, so there it returns
   * nothing new.
   */
  async readBehindPage(stop: (ev: RawEvent) => boolean): Promise<BehindPage> {
    const events: RawEvent[] = [];
    if (!this.collector) return { events, reachedKnown: false };
    await this.client.resetCollector(this.collector);
    for (let pages = 0; pages < MAX_GAP_PAGES; pages++) {
      const batch = await this.client.readPreviousEvents(this.collector, this.pageSize);
      if (batch.length === 0) break;
      events.push(...batch);
      if (batch.some(stop)) return { events, reachedKnown: true };
    }
    return { events, reachedKnown: false };
  }

  /** The vCenter's newest event (EventManager.latestEvent), whoever may see it; undefined when it has none. */
  latestEvent(): Promise<RawEvent | undefined> {
    return this.client.latestEvent(this.content.propertyCollector, this.content.eventManager);
  }

  /** Best effort: the collector and its filter are session objects, gone with the session anyway. */
  async destroy(timeoutMs: number): Promise<void> {
    const refs = [this.wake, this.collector];
    this.collector = undefined;
    this.wake = undefined;
    for (const ref of refs) if (ref) await this.client.destroyCollector(ref, timeoutMs);
  }
}
