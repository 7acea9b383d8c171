/**
 * A processor's dead-letter file: events it gave up on (retries exhausted, or
 * a permanent error), appended as JSON lines with the reason. Once written
 * there, an event counts as acknowledged: a checkpoint may move past it.
 *
 * The file must be a regular file, or a path that can be created: checked
 * when the processor is built (a start error otherwise) and again at every
 * write, which opens without blocking and writes nothing into anything else.
 * A FIFO would block each write until a reader came, stalling the processor
 * and keeping the process alive after it stopped.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileKind } from '../config/load';
import type { LogEntry } from '../eventlog/event-log';
import type { Failure } from './sink';

/** Opened for appending, created if missing, never blocking (a FIFO without a reader fails at once). */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;

function notRegular(file: string, st: Stats): string {
  return `dead_letter_file ${file} is ${fileKind(st)}, not a regular file: give a file path (it is created if missing)`;
}

/** Why `file` cannot be the dead-letter file, or undefined when it can. */
export function deadLetterFileProblem(file: string): string | undefined {
  try {
    const st = statSync(file);
    if (!st.isFile()) return notRegular(file, st);
    accessSync(file, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      return `dead_letter_file ${file} cannot be written (${code ?? (err as Error).message})`;
  }
  const dir = path.dirname(file);
  try {
    if (!statSync(dir).isDirectory()) return `dead_letter_file ${file}: ${dir} is not a directory`;
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `dead_letter_file ${file}: its directory ${dir} does not exist`
      : `dead_letter_file ${file} cannot be created in ${dir} (${code ?? (err as Error).message})`;
  }
}

export class DeadLetterFile {
  /** Appends in order, one at a time. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Why the last write failed (for the log line), or undefined after a success. */
  lastError: string | undefined;

  /** Throws when `path` is not a regular file nor a path that can be created. */
  constructor(
    readonly path: string,
    private readonly processor: string,
  ) {
    const problem = deadLetterFileProblem(path);
    if (problem) throw new Error(problem);
  }

  /** Resolves true once the line is written, false when the file cannot be written (see lastError). */
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
      .then(() => this.write(line))
      .then(
        () => {
          this.lastError = undefined;
          return true;
        },
        (err: unknown) => {
          this.lastError = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          if (err instanceof NotRegular) this.lastError = err.message;
          return false;
        },
      );
    this.tail = written;
    return written;
  }

  private async write(line: string): Promise<void> {
    const fh = await open(this.path, APPEND_FLAGS, 0o600).catch((err: unknown) => {
      // ENXIO (a FIFO without a reader), EISDIR...: say what the path is, if it is not a file.
      const st = statSync(this.path, { throwIfNoEntry: false });
      throw st && !st.isFile() ? new NotRegular(notRegular(this.path, st)) : err;
    });
    try {
      const st = await fh.stat();
      // Whatever was put in the file's place since the start: nothing but a regular file is written to.
      if (!st.isFile()) throw new NotRegular(notRegular(this.path, st));
      await fh.appendFile(line);
    } finally {
      await fh.close();
    }
  }
}

class NotRegular extends Error {}
