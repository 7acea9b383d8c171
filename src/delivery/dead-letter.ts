/**
 * A processor's dead-letter file: events it gave up on (retries exhausted, or
 * a permanent error), appended as JSON lines with the reason. Once written
 * there, an event counts as acknowledged: a checkpoint may move past it.
 */
import { appendFile } from 'node:fs/promises';
import type { LogEntry } from '../eventlog/event-log';
import type { Failure } from './sink';

export class DeadLetterFile {
  /** Appends in order, one at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly processor: string,
  ) {}

  /** Resolves true once the line is written, false when the file cannot be written. */
  append(entry: LogEntry, failure: Failure, attempts: number): Promise<boolean> {
    const line =
      JSON.stringify({
        time: new Date().toISOString(),
        processor: this.processor,
        reason: failure.reason,
        message: failure.message,
        attempts,
        event: JSON.parse(entry.json) as unknown,
      }) + '\n';
    const written = this.tail
      .then(() => appendFile(this.path, line, { mode: 0o600 }))
      .then(
        () => true,
        () => false,
      );
    this.tail = written;
    return written;
  }
}
