/**
 * The event_stream replay buffer on its own (no HTTP): what it holds under
 * max_events, max_bytes and max_record_bytes, the positions watchers follow
 * across purges and key-space restarts, and where a key is found or why not.
 */
import { createLogger } from '../../../../src/log/logger';
import { keyAfter } from '../../../../src/events/key-order';
import { EventHistory, type HistoryLimits } from '../../../../src/processor/event_stream/event-history';
import { newEventStreamCounts } from '../../../../src/processor/event_stream/event-stream-counts';

/** A CloudEvent's JSON of exactly `bytes` bytes (at least 20) for `key`. */
function json(key: number, bytes = 40): string {
  const head = `{"key":${key},"pad":"`;
  const tail = '"}';
  const pad = bytes - head.length - tail.length;
  if (pad < 0) throw new Error(`${bytes} bytes is too few for key ${key}`);
  return head + 'x'.repeat(pad) + tail;
}

function history(limits: Partial<HistoryLimits> = {}) {
  const lines: string[] = [];
  const counts = newEventStreamCounts();
  const h = new EventHistory(
    { maxEvents: 2000, maxRecordBytes: 524288, maxBytes: 32 * 1024 * 1024, ...limits },
    counts,
    createLogger({ level: 'debug', json: false, write: (l) => lines.push(l) }),
  );
  const append = (...keys: number[]): boolean[] => keys.map((k) => h.append(k, json(k), `id-${k}`));
  return { h, counts, lines, append };
}

/** The keys held, oldest first, read position by position. */
function heldKeys(h: EventHistory): number[] {
  const keys: number[] = [];
  for (let p = h.earliestPosition; p < h.nextPosition; p++) keys.push(h.at(p).key);
  return keys;
}

describe('event_stream history: what it holds', () => {
  it('holds nothing at first: the range is null and null, a watch from now starts at position 0', () => {
    const { h } = history();
    expect(h.range()).toEqual({ earliest: null, latest: null });
    expect([h.size, h.bytes, h.earliestPosition, h.nextPosition]).toEqual([0, 0, 0, 0]);
    expect(h.newest(50, 1000)).toEqual([]);
  });

  it('purges the oldest beyond max_events; positions go on from where they were', () => {
    const { h, counts, append } = history({ maxEvents: 3 });
    expect(append(10, 11, 12, 13, 14)).toEqual([true, true, true, true, true]);
    expect(h.range()).toEqual({ earliest: 12, latest: 14 });
    expect(h.size).toBe(3);
    expect(h.bytes).toBe(3 * 40);
    expect(h.earliestPosition).toBe(2);
    expect(h.nextPosition).toBe(5);
    expect(heldKeys(h)).toEqual([12, 13, 14]);
    expect(h.at(4).json).toBe(json(14));
    expect(counts.events).toBe(5);
  });

  it('purges the oldest beyond max_bytes, counting bytes of UTF-8, not characters', () => {
    const { h } = history({ maxBytes: 100 });
    h.append(1, json(1, 40), 'a');
    h.append(2, json(2, 40), 'b');
    expect(h.size).toBe(2);
    h.append(3, json(3, 40), 'c'); // 120 bytes: the oldest goes
    expect(heldKeys(h)).toEqual([2, 3]);
    expect(h.bytes).toBe(80);
    // 21 characters of 3 bytes each are 63 bytes: with 40 and 40 over the bound, so two go.
    const wide = `{"k":"${'€'.repeat(21)}"}`;
    expect(Buffer.byteLength(wide)).toBe(71);
    h.append(4, wide, 'd');
    expect(heldKeys(h)).toEqual([4]);
    expect(h.bytes).toBe(71);
  });

  it('holds the newest event alone even when it is over max_bytes (but within max_record_bytes)', () => {
    const { h, counts } = history({ maxBytes: 100, maxRecordBytes: 1000 });
    h.append(1, json(1, 40), 'a');
    expect(h.append(2, json(2, 500), 'b')).toBe(true);
    expect(heldKeys(h)).toEqual([2]);
    expect(h.bytes).toBe(500);
    expect(counts.oversize_skipped).toBe(0);
  });

  it('skips a record over max_record_bytes: counted, logged, no position taken, its key a gap', () => {
    const { h, counts, lines, append } = history({ maxRecordBytes: 100 });
    append(1, 2);
    expect(h.append(3, json(3, 101), 'big-3')).toBe(false);
    expect(h.append(4, json(4, 100), 'exactly-100')).toBe(true);
    expect(counts).toMatchObject({ events: 3, oversize_skipped: 1 });
    expect(heldKeys(h)).toEqual([1, 2, 4]);
    expect(h.nextPosition).toBe(3);
    expect(lines.join('\n')).toMatch(
      /event larger than max_record_bytes: skipped \(not served to watchers\).*offset=3 event_id=big-3 bytes=101 max_record_bytes=100/,
    );
    expect(h.eventAt(3)).toEqual({ miss: 'absent' });
    // A watch from the skipped key starts at the next held one.
    expect(h.startOf(3)).toEqual({ found: 2 });
    expect(h.at(2).key).toBe(4);
  });

  it('compacts its storage without changing what the positions point to', () => {
    const { h, append } = history({ maxEvents: 10 });
    for (let k = 1; k <= 5000; k++) append(k);
    expect(h.range()).toEqual({ earliest: 4991, latest: 5000 });
    expect(h.earliestPosition).toBe(4990);
    expect(heldKeys(h)).toEqual(Array.from({ length: 10 }, (_, i) => 4991 + i));
    expect(h.startOf(4995)).toEqual({ found: 4994 });
    expect(h.eventAt(4995)).toMatchObject({ found: { key: 4995, position: 4994 } });
  });
});

describe('event_stream history: a new key space', () => {
  it('a key not after the newest starts the history afresh: counted, logged, positions not reused', () => {
    const { h, counts, lines, append } = history();
    append(100, 101, 102);
    const watcherPosition = h.nextPosition; // a watcher caught up
    append(1, 2);
    expect(h.range()).toEqual({ earliest: 1, latest: 2 });
    expect(counts).toMatchObject({ key_space_restarts: 1, events: 5 });
    expect(h.size).toBe(2);
    expect(h.bytes).toBe(80);
    expect(lines.join('\n')).toMatch(
      /the vCenter started a new key space: the history starts afresh.*offset=1 previous_latest=102 dropped=3/,
    );
    // The caught-up watcher reads the new key space on; one that was behind has lost its events.
    expect(h.earliestPosition).toBe(watcherPosition);
    expect(heldKeys(h)).toEqual([1, 2]);
    expect(h.eventAt(101)).toEqual({ miss: 'future' });
  });

  it('the same key again is a new key space too', () => {
    const { h, counts, append } = history();
    append(5, 6);
    append(6);
    expect(counts.key_space_restarts).toBe(1);
    expect(h.range()).toEqual({ earliest: 6, latest: 6 });
  });

  it('keys wrapping from 2147483647 to negative go on in order, not a restart', () => {
    expect(keyAfter(-2147483648, 2147483647)).toBe(true);
    expect(keyAfter(2147483647, -2147483648)).toBe(false);
    expect(keyAfter(5, 5)).toBe(false);
    const { h, counts, append } = history();
    append(2147483646, 2147483647, -2147483648, -2147483647);
    expect(counts.key_space_restarts).toBe(0);
    expect(h.range()).toEqual({ earliest: 2147483646, latest: -2147483647 });
    expect(h.startOf(-2147483648)).toEqual({ found: 2 });
    expect(h.startOf(-2147483646)).toEqual({ found: h.nextPosition });
    expect(h.startOf(2147483645)).toEqual({ miss: 'purged' });
    expect(h.startOf(-2147483645)).toEqual({ miss: 'future' });
  });
});

describe('event_stream history: where a key is', () => {
  const setup = () => {
    const t = history({ maxEvents: 4 });
    t.append(10, 11, 13, 14, 16); // 10 purged; 12 and 15 never came
    return t;
  };

  it('a watch starts at the first held key at or after the one asked for, or at the next event after the latest', () => {
    const { h } = setup();
    expect(heldKeys(h)).toEqual([11, 13, 14, 16]);
    expect(h.startOf(11)).toEqual({ found: 1 });
    expect(h.startOf(12)).toEqual({ found: 2 });
    expect(h.startOf(15)).toEqual({ found: 4 });
    expect(h.startOf(17)).toEqual({ found: 5 });
    expect(h.nextPosition).toBe(5);
  });

  it('a purged key, one beyond latest + 1, and any key while nothing is held are misses that say why', () => {
    const { h } = setup();
    expect(h.startOf(10)).toEqual({ miss: 'purged' });
    expect(h.startOf(18)).toEqual({ miss: 'future' });
    expect(history().h.startOf(1)).toEqual({ miss: 'empty' });
    expect(history().h.eventAt(1)).toEqual({ miss: 'empty' });
  });

  it('one event by key: exactly that key, or purged, in the future (latest + 1 too) or absent (a gap)', () => {
    const { h } = setup();
    expect(h.eventAt(13)).toEqual({ found: { position: 2, key: 13, json: json(13), bytes: 40 } });
    expect(h.eventAt(10)).toEqual({ miss: 'purged' });
    expect(h.eventAt(12)).toEqual({ miss: 'absent' });
    expect(h.eventAt(17)).toEqual({ miss: 'future' });
    expect(h.eventAt(18)).toEqual({ miss: 'future' });
  });

  it('a position a watcher held before a purge is behind the earliest one', () => {
    const { h, append } = history({ maxEvents: 2 });
    append(1);
    const slowWatcher = h.nextPosition - 1; // about to read key 1
    append(2, 3);
    expect(slowWatcher).toBeLessThan(h.earliestPosition);
    expect(h.at(h.earliestPosition).key).toBe(2);
  });
});

describe('event_stream history: the newest page', () => {
  it('the newest events oldest first, up to the count asked for', () => {
    const { h, append } = history();
    append(1, 2, 3, 4, 5);
    expect(h.newest(2, 1000)).toEqual([json(4), json(5)]);
    expect(h.newest(50, 1000)).toEqual([1, 2, 3, 4, 5].map((k) => json(k)));
  });

  it('up to the bytes asked for, counting one separator per event; at least one even when it alone is more', () => {
    const { h, append } = history();
    append(1, 2, 3);
    expect(h.newest(50, 82)).toEqual([json(2), json(3)]);
    expect(h.newest(50, 81)).toEqual([json(3)]);
    expect(h.newest(50, 10)).toEqual([json(3)]);
  });
});
