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
import type { MoRef, RawEvent, ServiceContent, VimTransport } from './transport';

export type { RawEvent } from './transport';

export const PAGE_SIZE = 1000;
/** Upper bound on events read back through ReadPreviousEvents for one gap (memory bound). */
export const MAX_GAP_READ = 10 * PAGE_SIZE;

export class EventCollector {
  private collector?: MoRef;
  private wake?: MoRef;
  private version = '';

  constructor(
    private readonly client: VimTransport,
    private readonly content: ServiceContent,
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

  async create(): Promise<void> {
    this.collector = await this.createCollector(PAGE_SIZE);
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

  /** The newest PAGE_SIZE events, newest first. */
  async readPage(): Promise<RawEvent[]> {
    if (!this.collector) return [];
    return this.client.retrieveLatestPage(this.content.propertyCollector, this.collector);
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
    await this.client.resetCollector(this.collector);
    while (out.length < MAX_GAP_READ) {
      const batch = await this.client.readPreviousEvents(this.collector, PAGE_SIZE);
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
    for (const ref of refs) if (ref) await this.client.destroyCollector(ref, timeoutMs);
  }
}
