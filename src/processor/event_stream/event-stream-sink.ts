/**
 * The `event_stream` sink: the vSphere Event Streaming API served by the
 * router, so that the API's clients read the vCenter events without a
 * second vCenter session.
 *
 * Each event the runner sends is appended to this sink's own bounded history
 * (event-history.ts) and `send` reports it delivered at once, so clients
 * never hold up the event log; the API (event-stream-api.ts) serves the
 * history and wakes its watchers after each append. The offsets clients see
 * are the vCenter event keys.
 */
import { setImmediate } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import type { ComponentContext } from '../../components/component';
import { basicAuthCredentials, entryName, type ConfigEntry } from '../../config/types';
import {
  ONE_EVENT_PER_SEND,
  type Delivery,
  type Outcome,
  type Route,
  type Sink,
  type SinkPolicy,
} from '../../delivery/sink';
import type { LogEntry } from '../../eventlog/event-log';
import type { Logger } from '../../log/logger';
import { bindHostPort } from '../../util/address';
import { BasicAuth } from '../../util/basic-auth';
import { EventHistory, type HeldRange } from './event-history';
import { EventStreamApi } from './event-stream-api';
import { exposeCounts, newEventStreamCounts } from './event-stream-counts';
import type { EventStreamOptions } from './options';

export class EventStreamSink implements Sink<null> {
  readonly provider = 'event_stream';
  /** Appending is synchronous and cheap: one event per send keeps the log's order. */
  readonly policy: SinkPolicy = ONE_EVENT_PER_SEND;

  /** The stream whose events are served (undefined: the only stream). */
  readonly stream?: string;
  /** Counters shown in /readyz details and on /metrics. */
  readonly counts = newEventStreamCounts();

  private readonly history: EventHistory;
  private readonly api: EventStreamApi;
  private readonly auth: BasicAuth;
  private readonly log: Logger;
  private listening = false;

  constructor(
    private readonly entry: ConfigEntry,
    options: EventStreamOptions,
    ctx: ComponentContext,
  ) {
    this.stream = options.stream;
    this.auth = new BasicAuth(basicAuthCredentials(entry.auth));
    this.log = ctx.logger.child({ component: 'event_stream', processor: entry.name ?? entry.provider });
    this.history = new EventHistory(
      {
        maxEvents: options.max_events,
        maxRecordBytes: options.max_record_bytes,
        maxBytes: options.max_bytes,
      },
      this.counts,
      this.log,
    );
    this.api = new EventStreamApi(
      this.history,
      { auth: this.auth, pageSize: options.page_size, maxWatchers: options.max_watchers },
      this.counts,
      this.log,
    );
    exposeCounts(ctx.metrics.registry, entryName(entry), this.counts);
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo | undefined {
    return this.api.address;
  }

  /** Watchers open now. */
  get watcherCount(): number {
    return this.api.watcherCount;
  }

  /** The range as the API shows it: null and null while nothing is held. */
  range(): HeldRange {
    return this.history.range();
  }

  async start(): Promise<void> {
    const { host, port } = bindHostPort(this.entry.address ?? '0.0.0.0:8081');
    await this.api.listen(host, port);
    this.listening = true;
    const { maxEvents, maxBytes } = this.history.limits;
    this.log.info('event stream API listening', {
      address: `${host}:${this.address?.port}`,
      auth: this.auth.method,
      max_events: maxEvents,
      max_bytes: maxBytes,
      max_watchers: this.api.maxWatchers,
      ...(this.stream ? { stream: this.stream } : {}),
    });
  }

  ready(): boolean {
    return this.listening;
  }

  route(entry: LogEntry): Route<null> {
    // Offsets are one vCenter's keys: another stream's events are not this processor's.
    if (this.stream !== undefined && entry.stream !== this.stream) return { targets: [] };
    return { targets: [{ target: null }] };
  }

  async send(batch: Array<Delivery<null>>): Promise<Outcome[]> {
    for (const d of batch) {
      if (this.history.append(d.entry.key, d.entry.json, d.entry.event.id)) this.api.wake();
    }
    // Appending never waits for a client, but it must let the event loop poll: when the log
    // holds a burst, the runner's reads and this send resolve without ever reaching I/O, and
    // watchers would never see their sockets drain until the burst had purged their position.
    if (this.api.watcherCount > 0) await setImmediate();
    return batch.map(() => ({ status: 'delivered' }));
  }

  details(): Record<string, unknown> {
    const a = this.address;
    const { maxEvents, maxBytes } = this.history.limits;
    return {
      ...(a ? { address: `${a.address}:${a.port}` } : {}),
      ...this.history.range(),
      held: this.history.size,
      held_bytes: this.history.bytes,
      max_events: maxEvents,
      max_bytes: maxBytes,
      watchers: this.api.watcherCount,
      max_watchers: this.api.maxWatchers,
      ...this.counts,
    };
  }

  async stop(): Promise<void> {
    this.listening = false;
    await this.api.close();
  }
}
