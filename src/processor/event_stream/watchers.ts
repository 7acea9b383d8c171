/**
 * The open watches of the event_stream API: each keeps its own position in
 * the history and is written to until its socket's buffer is full (`write()`
 * returns false), then waits for 'drain'. A client that reads slowly, or
 * never, costs at most one socket buffer. One whose next event has been
 * purged meanwhile gets a final error line and is ended (and counted); the
 * history never waits for it.
 */
import type http from 'node:http';
import type { Logger } from '../../log/logger';
import type { EventHistory } from './event-history';
import type { EventStreamCounts } from './event-stream-counts';

/** One open watch. */
interface Watcher {
  readonly id: number;
  readonly res: http.ServerResponse;
  /** History position of the next event to write. */
  pos: number;
  /** The socket buffer is full: wait for 'drain'. */
  blocked: boolean;
  ended: boolean;
  /** Key of the last event written (for the error line of a watcher that fell behind). */
  lastKey?: number;
}

/** How long a watcher ended for falling behind may take to read its error line before its socket is closed. */
const END_GRACE_MS = 2000;

export class Watchers {
  private readonly open = new Set<Watcher>();
  private ids = 0;

  constructor(
    private readonly history: EventHistory,
    private readonly counts: Pick<EventStreamCounts, 'watchers_fell_behind' | 'watches'>,
    private readonly log: Logger,
  ) {}

  /** Watchers open now. */
  get size(): number {
    return this.open.size;
  }

  /** Stream the history from `position` on to `res` (a 200 of JSON lines), and every event appended later. */
  add(req: http.IncomingMessage, res: http.ServerResponse, position: number): void {
    const w: Watcher = { id: ++this.ids, res, pos: position, blocked: false, ended: false };
    this.open.add(w);
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
      this.open.delete(w);
    });
    this.pump(w);
  }

  /** The history changed: write to each watcher what it has not had yet. */
  wake(): void {
    for (const w of this.open) this.pump(w);
  }

  /** End every watch (the processor stops). */
  endAll(): void {
    for (const w of [...this.open]) this.end(w);
  }

  /** Write what the watcher has not had yet, until its socket buffer is full. */
  private pump(w: Watcher): void {
    while (!w.ended) {
      if (w.pos < this.history.earliestPosition) {
        this.fellBehind(w);
        return;
      }
      if (w.blocked || w.pos >= this.history.nextPosition) return;
      const e = this.history.at(w.pos);
      w.pos++;
      w.lastKey = e.key;
      if (!w.res.write(e.json + '\n')) w.blocked = true;
    }
  }

  private fellBehind(w: Watcher): void {
    this.counts.watchers_fell_behind++;
    const r = this.history.range();
    const message = `watch ended: the client read too slowly and its next event was purged from the history (max_events ${this.history.limits.maxEvents}); resume with a watch from offset ${r.earliest ?? 'now'} or later`;
    this.log.warn('watcher fell behind the history: ended', {
      watcher: w.id,
      last_offset: w.lastKey ?? null,
      earliest: r.earliest,
      latest: r.latest,
    });
    this.end(
      w,
      JSON.stringify({ error: message, code: 'watch_too_slow', last_offset: w.lastKey ?? null, ...r }) + '\n',
    );
  }

  private end(w: Watcher, line?: string): void {
    if (w.ended) return;
    w.ended = true;
    this.open.delete(w);
    if (line) w.res.end(line);
    else w.res.end();
    // A client that never reads never takes the last line: its socket is closed after a grace period.
    if (!w.res.writableFinished) {
      const t = setTimeout(() => w.res.destroy(), END_GRACE_MS);
      t.unref();
      w.res.once('close', () => clearTimeout(t));
    }
  }
}
