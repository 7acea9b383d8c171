/**
 * Log lines quote what peers send (a webhook event's id, a redirect's
 * Location): every field, and the message, is capped, saying how long the
 * value was, so that a peer cannot make one line megabytes long.
 */
import { createLogger, MAX_LOG_FIELD_CHARS, MAX_LOG_MESSAGE_CHARS } from '../../src/log/logger';

test.each([false, true])('a 900 KB field and message are cut, saying their length (json %s)', (json) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', json, write: (l) => lines.push(l) });
  const id = 'i'.repeat(900_000);
  log.error(`event ${'m'.repeat(900_000)}`, { event_id: id, error: new Error('e'.repeat(900_000)), n: 5 });
  expect(lines).toHaveLength(1);
  const line = lines[0];
  expect(line.length).toBeLessThan(MAX_LOG_MESSAGE_CHARS + 3 * MAX_LOG_FIELD_CHARS + 1000);
  expect(line).toContain('(900000 characters, cut)');
  expect(line).toContain('(900006 characters, cut)');
  expect(line).toContain(json ? '"n":5' : 'n=5');
});

test('short values are written unchanged', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', json: false, write: (l) => lines.push(l) });
  log.info('hello', { a: 'x'.repeat(MAX_LOG_FIELD_CHARS) });
  expect(lines[0]).toContain(`a=${'x'.repeat(MAX_LOG_FIELD_CHARS)}`);
  expect(lines[0]).not.toContain('cut');
});
