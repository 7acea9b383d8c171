/**
 * The HTTP side of the event_stream processor: the vSphere Event Streaming
 * API over its history. `/api/v1/range`, the newest page
 * (`/api/v1/events`), one event by offset (`/api/v1/events/{offset}`) and
 * watches (`/api/v1/events?watch=true[&offset=N]`, JSON lines), behind the
 * entry's basic auth; `/healthz` needs none. Errors are a JSON object with a
 * `code` and a message naming the offsets that are valid.
 *
 * Replies are bounded in memory: listings and single events share a budget
 * of bytes not yet taken by their clients, and a watch costs at most its
 * socket buffer (see watchers.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../log/logger';
import { BasicAuth } from '../../util/basic-auth';
import { answeredReadOnlyBasics } from '../../util/read-only-http';
import type { EventHistory, KeyMiss } from './event-history';
import type { EventStreamCounts } from './event-stream-counts';
import { Watchers } from './watchers';

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

/** The reply to each way an offset can miss the history: status, code, and why. */
const OFFSET_MISSES: Record<KeyMiss, { status: number; code: string; why: string }> = {
  empty: { status: 404, code: 'offset_not_found', why: 'no events are held yet' },
  purged: { status: 410, code: 'offset_purged', why: 'is older than the earliest event held (purged)' },
  future: { status: 404, code: 'offset_in_future', why: 'is after the latest event held (in the future)' },
  absent: { status: 404, code: 'offset_not_found', why: 'is in the held range but no event has this key' },
};

export interface EventStreamApiSettings {
  readonly auth: BasicAuth;
  /** Newest events listed by GET /api/v1/events. */
  readonly pageSize: number;
  /** Watches open at once; one more gets 503. */
  readonly maxWatchers: number;
}

export class EventStreamApi {
  private readonly watchers: Watchers;
  /** Bytes of replies written and not yet taken by their clients (see MAX_REPLY_BYTES_IN_FLIGHT). */
  private replyBytes = 0;
  private server?: http.Server;

  constructor(
    private readonly history: EventHistory,
    private readonly settings: EventStreamApiSettings,
    private readonly counts: EventStreamCounts,
    private readonly log: Logger,
  ) {
    this.watchers = new Watchers(history, counts, log);
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  get maxWatchers(): number {
    return this.settings.maxWatchers;
  }

  /** Watchers open now. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** The history changed: the watchers are written what they have not had yet. */
  wake(): void {
    this.watchers.wake();
  }

  async listen(host: string, port: number): Promise<void> {
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
  }

  /** End the watches and close the server and its connections. */
  async close(): Promise<void> {
    this.watchers.endAll();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (answeredReadOnlyBasics(req, res, path)) return;
    if (!path.startsWith('/api/v1/')) throw new HttpError(404, 'not_found', `no such endpoint: ${path}`);
    if (!this.settings.auth.authorized(req)) {
      BasicAuth.challenge(
        res,
        JSON.stringify({ error: 'wrong or missing credentials (basic auth)', code: 'unauthorized' }) + '\n',
        'application/json',
      );
      return;
    }
    if (path === '/api/v1/range') {
      this.json(res, 200, JSON.stringify(this.history.range()));
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
          this.history.range(),
        );
      this.reply(res, `[${this.history.newest(this.settings.pageSize, MAX_PAGE_BYTES).join(',')}]`);
      return;
    }
    const m = /^\/api\/v1\/events\/([^/]*)$/.exec(path);
    if (m) {
      const offset = this.parseOffset(decodedOffset(m[1]));
      const held = this.history.eventAt(offset);
      if ('miss' in held) throw this.offsetError(held.miss, offset);
      this.reply(res, held.found.json);
      return;
    }
    throw new HttpError(404, 'not_found', `no such endpoint: ${path}`);
  }

  private watch(req: http.IncomingMessage, res: http.ServerResponse, offset: string | null): void {
    const { maxWatchers } = this.settings;
    if (this.watchers.size >= maxWatchers) {
      this.counts.watchers_refused++;
      throw new HttpError(
        503,
        'too_many_watchers',
        `${this.watchers.size} watches are open, the most this server allows (max_watchers ${maxWatchers}); retry later`,
        { max_watchers: maxWatchers },
      );
    }
    let position = this.history.nextPosition;
    if (offset !== null) {
      const key = this.parseOffset(offset);
      const start = this.history.startOf(key);
      if ('miss' in start) throw this.offsetError(start.miss, key);
      position = start.found;
    }
    this.watchers.add(req, res, position);
  }

  private offsetError(miss: KeyMiss, offset: number): HttpError {
    const { status, code, why } = OFFSET_MISSES[miss];
    return new HttpError(status, code, `offset ${offset} ${why}; ${this.validOffsets()}`, {
      offset,
      ...this.history.range(),
    });
  }

  /** What a client may ask for instead, for the error messages. */
  private validOffsets(): string {
    const r = this.history.range();
    return r.earliest === null ? 'no events are held' : `valid offsets: ${r.earliest} to ${r.latest}`;
  }

  private parseOffset(raw: string): number {
    const n = /^-?[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
      throw new HttpError(
        400,
        'offset_invalid',
        `offset ${JSON.stringify(raw.slice(0, 64))} is not a vCenter event key (an integer, -2147483648 to 2147483647); ${this.validOffsets()}`,
        { ...this.history.range() },
      );
    }
    return n;
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
}
