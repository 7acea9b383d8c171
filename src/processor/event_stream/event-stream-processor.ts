/**
 * The `event_stream` sink: the vSphere Event Streaming API served by the
 * router, so that the API's clients read the vCenter events without a
 * second vCenter session.
 *
 * Each event the runner sends is appended to this sink's own bounded history
 * (`max_events` CloudEvents of at most `max_record_bytes` each) and `send`
 * reports it delivered at once, so clients never hold up the event log. The
 * offsets clients see are the vCenter event keys, in int32 serial order (keys
 * may wrap negative); a key that is not after the newest held one means the
 * vCenter started a new key space (a restart), and the history starts afresh.
 *
 * Watchers each keep their own position in the history. A watcher is written
 * to until its socket's buffer is full (`write()` returns false), then waits
 * for 'drain': a client that reads slowly, or never, costs at most one socket
 * buffer. One whose next event has been purged meanwhile gets a final error
 * line and is ended (and counted); the history never waits for it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import type { ComponentContext } from '../../components/component';
import { basicAuthCredentials, entryName, type ConfigEntry } from '../../config/types';
import type { Delivery, Outcome, Route, Sink, SinkPolicy } from '../../delivery/sink';
import type { LogEntry } from '../../eventlog/event-log';
import type { Logger } from '../../log/logger';
import { METRIC_PREFIX } from '../../metrics/metrics';
import { Counter, type Registry } from '../../metrics/registry';
import { bindHostPort } from '../../util/address';
import { BasicAuth } from '../../util/basic-auth';
import type { EventStreamOptions } from './options';

/** One held CloudEvent: its position in this sink's history, its vCenter key and its JSON. */
interface HeldEvent {
  readonly seq: number;
  readonly key: number;
  readonly json: string;
  readonly bytes: number;
}

/** One open watch. */
interface Watcher {
  readonly id: number;
  readonly res: http.ServerResponse;
  /** History seq of the next event to write. */
  pos: number;
  /** The socket buffer is full: wait for 'drain'. */
  blocked: boolean;
  ended: boolean;
  /** Key of the last event written (for the error line of a watcher that fell behind). */
  lastKey?: number;
}

/** Whether key `a` comes after key `b` in int32 serial order (keys may wrap negative). */
export function keyAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Bytes of listing and single-event replies not yet taken by their clients,
 * over all requests: a client that never reads holds its reply in memory, so
 * beyond this a request gets 503 (with Retry-After) until others finish.
 */
export const MAX_REPLY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Bytes one listing holds at most (the newest events that fit, at least one): a few fit in the budget above. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/** A reply its client has not read from for this long is closed, returning its bytes to the budget. */
const REPLY_IDLE_MS = 30_000;

/** How long a watcher ended for falling behind may take to read its error line before its socket is closed. */
const END_GRACE_MS = 2000;

/** The path segment of an offset, percent-decoded; bad percent-encoding is left as it is (and refused as an offset). */
function decodedOffset(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * The processor's counters on /metrics, read from the same object /readyz
 * shows (one source of truth): `vmware_event_router_event_stream_<count>_total{processor}`.
 */
function exposeCounts(registry: Registry, processor: string, counts: Record<string, number>): void {
  for (const name of Object.keys(counts)) {
    const metric = `${METRIC_PREFIX}event_stream_${name}_total`;
    const existing = registry.getSingleMetric(metric) as
      (Counter<'processor'> & { sources?: Map<string, Record<string, number>> }) | undefined;
    const counter =
      existing ??
      Object.assign(
        new Counter({
          name: metric,
          help: `event_stream processor: ${name.replace(/_/g, ' ')}`,
          labelNames: ['processor'],
          registers: [registry],
          collect() {
            this.reset();
            for (const [p, c] of counter.sources!) this.inc({ processor: p }, c[name]);
          },
        }),
        { sources: new Map<string, Record<string, number>>() },
      );
    counter.sources!.set(processor, counts);
  }
}

export class EventStreamProcessor implements Sink<null> {
  readonly provider = 'event_stream';
  /** Appending is synchronous and cheap: one event per send keeps the log's order. */
  readonly policy: SinkPolicy = { batchMaxItems: 1, batchMaxBytes: 0, batchMaxDelayMs: 0 };

  readonly maxEvents: number;
  readonly maxRecordBytes: number;
  /** Bytes of JSON the history holds at most. */
  readonly maxBytes: number;
  readonly pageSize: number;
  readonly maxWatchers: number;
  /** The stream whose events are served (undefined: the only stream). */
  readonly stream?: string;

  private held: HeldEvent[] = [];
  /** Bytes of JSON of the held events. */
  private heldBytes = 0;
  /** Bytes of replies written and not yet taken by their clients (see MAX_REPLY_BYTES_IN_FLIGHT). */
  private replyBytes = 0;
  /** Index in `held` of the earliest event (the array is compacted now and then). */
  private first = 0;
  /** Seq the next held event gets; seqs are contiguous over the history. */
  private nextSeq = 0;
  private readonly watchers = new Set<Watcher>();
  private watcherIds = 0;
  private server?: http.Server;
  private listening = false;
  private readonly auth: BasicAuth;
  private readonly log: Logger;

  /** Counters shown in /readyz details. */
  readonly counts = {
    /** Events served (appended to the history). */
    events: 0,
    /** Events over max_record_bytes, skipped. */
    oversize_skipped: 0,
    /** Watchers ended because their next event was purged. */
    watchers_fell_behind: 0,
    /** Watches refused with 503 (max_watchers open). */
    watchers_refused: 0,
    /** Listings and single-event requests refused with 503 (MAX_REPLY_BYTES_IN_FLIGHT taken). */
    requests_refused_busy: 0,
    /** Watches opened in all. */
    watches: 0,
    /** Times the vCenter started a new key space and the history started afresh. */
    key_space_restarts: 0,
  };

  constructor(
    private readonly entry: ConfigEntry,
    options: EventStreamOptions,
    ctx: ComponentContext,
  ) {
    this.maxEvents = options.max_events;
    this.maxRecordBytes = options.max_record_bytes;
    this.maxBytes = options.max_bytes;
    this.pageSize = options.page_size;
    this.maxWatchers = options.max_watchers;
    this.stream = options.stream;
    this.auth = new BasicAuth(basicAuthCredentials(entry.auth));
    this.log = ctx.logger.child({ component: 'event_stream', processor: entry.name ?? entry.provider });
    exposeCounts(ctx.metrics.registry, entryName(entry), this.counts);
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  /** Watchers open now. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  // ------------------------------------------------------------------ history

  private get size(): number {
    return this.held.length - this.first;
  }

  /** Seq of the earliest held event (= nextSeq when none is held). */
  private get baseSeq(): number {
    return this.size === 0 ? this.nextSeq : this.held[this.first].seq;
  }

  private get earliest(): HeldEvent | undefined {
    return this.size === 0 ? undefined : this.held[this.first];
  }

  private get latest(): HeldEvent | undefined {
    return this.size === 0 ? undefined : this.held[this.held.length - 1];
  }

  private atSeq(seq: number): HeldEvent {
    return this.held[this.first + (seq - this.baseSeq)];
  }

  /** The range as the API shows it: null and null while nothing is held. */
  range(): { earliest: number | null; latest: number | null } {
    return { earliest: this.earliest?.key ?? null, latest: this.latest?.key ?? null };
  }

  /** Hold one event; purge the oldest beyond max_events; wake the watchers. */
  private append(entry: LogEntry): void {
    const bytes = Buffer.byteLength(entry.json, 'utf8');
    if (bytes > this.maxRecordBytes) {
      this.counts.oversize_skipped++;
      this.log.warn('event larger than max_record_bytes: skipped (not served to watchers)', {
        offset: entry.key,
        event_id: entry.event.id,
        bytes,
        max_record_bytes: this.maxRecordBytes,
      });
      return;
    }
    const latest = this.latest;
    if (latest && !keyAfter(entry.key, latest.key)) {
      // A key not after the newest: the vCenter started a new key space. Offsets of the old one mean nothing now.
      this.counts.key_space_restarts++;
      this.log.warn('the vCenter started a new key space: the history starts afresh', {
        offset: entry.key,
        previous_latest: latest.key,
        dropped: this.size,
      });
      this.held = [];
      this.first = 0;
      this.heldBytes = 0;
    }
    this.held.push({ seq: this.nextSeq++, key: entry.key, json: entry.json, bytes });
    this.heldBytes += bytes;
    this.counts.events++;
    while (this.size > this.maxEvents || (this.heldBytes > this.maxBytes && this.size > 1))
      this.heldBytes -= this.held[this.first++].bytes;
    if (this.first > 1024 && this.first * 2 > this.held.length) {
      this.held = this.held.slice(this.first);
      this.first = 0;
    }
    for (const w of this.watchers) this.pump(w);
  }

  /**
   * The first held seq at or after `offset` (a key), for a watch: the offset may
   * be any key from the earliest to one past the latest (resuming after the
   * last seen).
   */
  private watchStart(offset: number): number {
    const earliest = this.earliest;
    const latest = this.latest;
    if (!earliest || !latest)
      throw this.offsetError(404, 'offset_not_found', offset, 'no events are held yet');
    const d = (offset - earliest.key) | 0;
    const span = (latest.key - earliest.key) | 0;
    if (d < 0)
      throw this.offsetError(410, 'offset_purged', offset, 'is older than the earliest event held (purged)');
    if (d > span + 1)
      throw this.offsetError(
        404,
        'offset_in_future',
        offset,
        'is after the latest event held (in the future)',
      );
    if (d === span + 1) return this.nextSeq;
    // Keys increase but may skip: the first held key at or after the offset.
    let lo = this.first;
    let hi = this.held.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (((this.held[mid].key - earliest.key) | 0) < d) lo = mid + 1;
      else hi = mid;
    }
    return this.held[lo].seq;
  }

  /** The event with exactly this key. */
  private eventAt(offset: number): HeldEvent {
    const seq = this.watchStart(offset);
    const e = seq < this.nextSeq ? this.atSeq(seq) : undefined;
    if (!e || e.key !== offset) {
      const latest = this.latest!;
      throw keyAfter(offset, latest.key)
        ? this.offsetError(404, 'offset_in_future', offset, 'is after the latest event held (in the future)')
        : this.offsetError(404, 'offset_not_found', offset, 'is in the held range but no event has this key');
    }
    return e;
  }

  private offsetError(status: number, code: string, offset: number, why: string): HttpError {
    const r = this.range();
    const held = r.earliest === null ? 'no events are held' : `valid offsets: ${r.earliest} to ${r.latest}`;
    return new HttpError(status, code, `offset ${offset} ${why}; ${held}`, { offset, ...r });
  }

  private parseOffset(raw: string): number {
    const n = /^-?[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
      const r = this.range();
      throw new HttpError(
        400,
        'offset_invalid',
        `offset ${JSON.stringify(raw.slice(0, 64))} is not a vCenter event key (an integer, -2147483648 to 2147483647); ${
          r.earliest === null ? 'no events are held' : `valid offsets: ${r.earliest} to ${r.latest}`
        }`,
        { ...r },
      );
    }
    return n;
  }

  // ------------------------------------------------------------------ watchers

  /** Write what the watcher has not had yet, until its socket buffer is full. */
  private pump(w: Watcher): void {
    while (!w.ended) {
      if (w.pos < this.baseSeq) {
        this.fellBehind(w);
        return;
      }
      if (w.blocked || w.pos >= this.nextSeq) return;
      const e = this.atSeq(w.pos);
      w.pos++;
      w.lastKey = e.key;
      if (!w.res.write(e.json + '\n')) w.blocked = true;
    }
  }

  private fellBehind(w: Watcher): void {
    this.counts.watchers_fell_behind++;
    const r = this.range();
    const message = `watch ended: the client read too slowly and its next event was purged from the history (max_events ${this.maxEvents}); resume with a watch from offset ${r.earliest ?? 'now'} or later`;
    this.log.warn('watcher fell behind the history: ended', {
      watcher: w.id,
      last_offset: w.lastKey ?? null,
      earliest: r.earliest,
      latest: r.latest,
    });
    this.endWatcher(
      w,
      JSON.stringify({ error: message, code: 'watch_too_slow', last_offset: w.lastKey ?? null, ...r }) + '\n',
    );
  }

  private endWatcher(w: Watcher, line?: string): void {
    if (w.ended) return;
    w.ended = true;
    this.watchers.delete(w);
    if (line) w.res.end(line);
    else w.res.end();
    // A client that never reads never takes the last line: its socket is closed after a grace period.
    if (!w.res.writableFinished) {
      const t = setTimeout(() => w.res.destroy(), END_GRACE_MS);
      t.unref();
      w.res.once('close', () => clearTimeout(t));
    }
  }

  private watch(req: http.IncomingMessage, res: http.ServerResponse, offset: string | null): void {
    if (this.watchers.size >= this.maxWatchers) {
      this.counts.watchers_refused++;
      throw new HttpError(
        503,
        'too_many_watchers',
        `${this.watchers.size} watches are open, the most this server allows (max_watchers ${this.maxWatchers}); retry later`,
        { max_watchers: this.maxWatchers },
      );
    }
    const pos = offset === null ? this.nextSeq : this.watchStart(this.parseOffset(offset));
    const w: Watcher = { id: ++this.watcherIds, res, pos, blocked: false, ended: false };
    this.watchers.add(w);
    this.counts.watches++;
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    res.on('drain', () => {
      w.blocked = false;
      this.pump(w);
    });
    res.on('close', () => {
      w.ended = true;
      this.watchers.delete(w);
    });
    this.pump(w);
  }

  // ------------------------------------------------------------------ HTTP

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (!path.startsWith('/api/v1/')) throw new HttpError(404, 'not_found', `no such endpoint: ${path}`);
    if (!this.auth.authorized(req)) {
      BasicAuth.challenge(
        res,
        JSON.stringify({ error: 'wrong or missing credentials (basic auth)', code: 'unauthorized' }) + '\n',
        'application/json',
      );
      return;
    }
    if (path === '/api/v1/range') {
      this.json(res, 200, JSON.stringify(this.range()));
      return;
    }
    if (path === '/api/v1/events') {
      const watch = url.searchParams.get('watch');
      const offset = url.searchParams.get('offset');
      if (watch === 'true' || watch === '1') {
        this.watch(req, res, offset);
        return;
      }
      if (offset !== null)
        throw new HttpError(
          400,
          'offset_without_watch',
          'offset applies to watch=true; one event is GET /api/v1/events/{offset}',
          this.range(),
        );
      this.reply(res, `[${this.newestPage().join(',')}]`);
      return;
    }
    const m = /^\/api\/v1\/events\/([^/]*)$/.exec(path);
    if (m) {
      this.reply(res, this.eventAt(this.parseOffset(decodedOffset(m[1]))).json);
      return;
    }
    throw new HttpError(404, 'not_found', `no such endpoint: ${path}`);
  }

  /** The newest events' JSON, oldest first: up to page_size of them and MAX_PAGE_BYTES (at least one). */
  private newestPage(): string[] {
    const page: string[] = [];
    let bytes = 0;
    for (let i = this.held.length - 1; i >= this.first && page.length < this.pageSize; i--) {
      bytes += this.held[i].bytes + 1;
      if (page.length > 0 && bytes > MAX_PAGE_BYTES) break;
      page.push(this.held[i].json);
    }
    return page.reverse();
  }

  /** A 200 with held events, within the budget of reply bytes not yet taken by clients. */
  private reply(res: http.ServerResponse, body: string): void {
    const bytes = Buffer.byteLength(body, 'utf8');
    if (this.replyBytes > 0 && this.replyBytes + bytes > MAX_REPLY_BYTES_IN_FLIGHT) {
      this.counts.requests_refused_busy++;
      res.setHeader('Retry-After', '1');
      throw new HttpError(
        503,
        'busy',
        'too many replies are waiting for their clients to read them; retry later',
      );
    }
    this.replyBytes += bytes;
    res.once('close', () => (this.replyBytes -= bytes));
    res.setTimeout(REPLY_IDLE_MS, () => res.destroy());
    this.json(res, 200, body);
  }

  private json(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(body + '\n');
  }

  // ------------------------------------------------------------------ Sink

  async start(): Promise<void> {
    const { host, port } = bindHostPort(this.entry.address ?? '0.0.0.0:8081');
    const server = http.createServer((req, res) => {
      try {
        this.handle(req, res);
      } catch (err) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError) {
          this.json(res, err.status, JSON.stringify({ error: err.message, code: err.code, ...err.extra }));
          return;
        }
        this.log.error('event stream request failed', { path: req.url, error: err as Error });
        this.json(res, 500, JSON.stringify({ error: 'internal error', code: 'internal' }));
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.log.info('event stream API listening', {
      address: `${host}:${this.address?.port}`,
      auth: this.auth.method,
      max_events: this.maxEvents,
      max_bytes: this.maxBytes,
      max_watchers: this.maxWatchers,
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
    for (const d of batch) this.append(d.entry);
    // Appending never waits for a client, but it must let the event loop poll: when the log
    // holds a burst, the runner's reads and this send resolve without ever reaching I/O, and
    // watchers would never see their sockets drain until the burst had purged their position.
    if (this.watchers.size > 0) await setImmediate();
    return batch.map(() => ({ status: 'delivered' }));
  }

  details(): Record<string, unknown> {
    const a = this.address;
    return {
      ...(a ? { address: `${a.address}:${a.port}` } : {}),
      ...this.range(),
      held: this.size,
      held_bytes: this.heldBytes,
      max_events: this.maxEvents,
      max_bytes: this.maxBytes,
      watchers: this.watchers.size,
      max_watchers: this.maxWatchers,
      ...this.counts,
    };
  }

  async stop(): Promise<void> {
    this.listening = false;
    for (const w of [...this.watchers]) this.endWatcher(w);
    const s = this.server;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
