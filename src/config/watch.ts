/**
 * Notices when the configuration file changes, including the way Kubernetes
 * updates a mounted Secret: the file is a symlink `config -> ..data/config`,
 * `..data -> ..2024_01_01_00_00_00.123456789/`, and an update writes a new
 * timestamped directory and swaps `..data` atomically. `fs.watch` on such a
 * swap is unreliable (the watched inode never changes; events arrive on the
 * directory, or not at all on some filesystems), so two triggers feed one
 * debounced check:
 *   - `fs.watch` on the file's directory (fast when it works), and
 *   - a poll every few seconds (the fallback that always works).
 * The check resolves the path (`realpath`) and hashes the content it reads;
 * only a different content hash counts as a change (Kubernetes' periodic
 * re-projection of the same content does not).
 *
 * Policy (see docs/deploy.md): a change to VALID content makes the router log
 * "configuration changed, exiting so that Kubernetes restarts the router with
 * it" and shut down cleanly with exit code 0; the Deployment restarts it with
 * the new file. That is simpler and safer than re-wiring a running stream and
 * processor. A change to INVALID content is logged with its validation errors
 * (never secret values) and the router keeps running on the config it has.
 *
 * The checks never block the event loop: the file is read asynchronously,
 * opened non-blocking and refused unless it is a regular file of at most
 * 1 MiB (a FIFO or device swapped in is reported, never read). Only the first
 * snapshot, taken once when the watcher starts (right after the config was
 * loaded, before the router runs), reads synchronously with the same checks.
 */
import { createHash } from 'node:crypto';
import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger';
import { ConfigError, listProblems, readConfigFile, readConfigFileSync } from './load';

export interface WatchOptions {
  /** Poll interval (realpath + content hash), ms. Default 2000. */
  intervalMs?: number;
  /** Wait this long after a filesystem event before checking (a swap is several events), ms. Default 300. */
  debounceMs?: number;
}

export interface ConfigChange {
  /** The new content. */
  text: string;
  /** Where the path resolves now (e.g. `.../..2024_01_01_00_00_00.123/config`). */
  resolved: string;
  /** Set when the file is now refused unread (not a regular file, larger than 1 MiB); `text` is empty. */
  refused?: ConfigError;
}

export interface ConfigWatcher {
  close(): void;
}

type Snapshot = { text: string; resolved: string; hash: string; refused?: ConfigError };

const hashOf = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Missing for a moment (mid-swap) or unreadable: undefined, not a change; the next check sees the result. */
function settle(resolved: string, read: () => string): Snapshot | undefined {
  try {
    const text = read();
    return { text, resolved, hash: hashOf(text) };
  } catch (err) {
    // A file that is refused unread (a FIFO, a device, over 1 MiB) is a state of its own.
    if (err instanceof ConfigError && !/not found|cannot read/.test(err.problems[0] ?? ''))
      return { text: '', resolved, hash: hashOf('refused\0' + err.message), refused: err };
    return undefined;
  }
}

function snapshotSync(file: string): Snapshot | undefined {
  let resolved: string;
  try {
    resolved = realpathSync(file);
  } catch {
    return undefined;
  }
  return settle(resolved, () => readConfigFileSync(resolved));
}

async function snapshot(file: string): Promise<Snapshot | undefined> {
  let resolved: string;
  let text: string;
  try {
    resolved = await realpath(file);
  } catch {
    return undefined;
  }
  try {
    text = await readConfigFile(resolved);
  } catch (err) {
    return settle(resolved, () => {
      throw err;
    });
  }
  return settle(resolved, () => text);
}

/**
 * Calls `onChange` whenever the content behind `file` differs from what it was
 * when this was called (or at the previous change). Timers and watchers are
 * unref'd: they never keep the process alive.
 */
export function watchConfigFile(
  file: string,
  onChange: (change: ConfigChange) => void,
  opts: WatchOptions = {},
): ConfigWatcher {
  const intervalMs = opts.intervalMs ?? 2000;
  const debounceMs = opts.debounceMs ?? 300;
  let lastHash = snapshotSync(file)?.hash;
  let closed = false;
  let pending: NodeJS.Timeout | undefined;
  let checking = false;

  const check = (): void => {
    if (closed || checking) return;
    checking = true;
    void snapshot(file)
      .then((now) => {
        if (closed || !now || now.hash === lastHash) return;
        lastHash = now.hash;
        onChange({ text: now.text, resolved: now.resolved, refused: now.refused });
      })
      .finally(() => {
        checking = false;
      });
  };
  const soon = (): void => {
    if (closed) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = undefined;
      check();
    }, debounceMs);
    pending.unref();
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.dirname(file), { persistent: false }, soon);
    watcher.on('error', () => {
      // The directory went away or cannot be watched: the poll still runs.
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(check, intervalMs);
  poll.unref();

  return {
    close() {
      closed = true;
      if (pending) clearTimeout(pending);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

export interface RestartOnConfigChange extends ConfigWatcher {
  /**
   * Sets what to do on a valid change (the CLI: shut down cleanly, exit 0). A
   * valid change noticed before this is called runs `restart` at once.
   */
  onRestart(restart: () => void): void;
}

export const RESTART_MESSAGE =
  'configuration changed, exiting so that Kubernetes restarts the router with it';

/**
 * The router's policy for a changed config file (see the header). Call it
 * right after the config is loaded, so that a change made while the router
 * starts is not missed.
 */
export function watchConfigForRestart(
  file: string,
  logger: Logger,
  /** Validates the new text (the catalogue's parseConfig, and what the start reads besides); throws when invalid. */
  parseConfig: (text: string, file: string) => unknown,
  opts: WatchOptions = {},
): RestartOnConfigChange {
  const log = logger.child({ component: 'config', config: file });
  let restart: (() => void) | undefined;
  let due = false;
  const watcher = watchConfigFile(
    file,
    ({ text, resolved, refused }) => {
      try {
        if (refused) throw refused;
        // Also registers the new file's secrets for redaction before anything is logged.
        parseConfig(text, file);
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
        log.error(
          'configuration changed but the new file is invalid; still running with the previous configuration',
          {
            resolved,
            problems: listProblems(problems).join('; '),
          },
        );
        return;
      }
      log.info(RESTART_MESSAGE, { resolved });
      if (due) return;
      due = true;
      watcher.close();
      restart?.();
    },
    opts,
  );
  return {
    close: () => watcher.close(),
    onRestart(fn) {
      restart = fn;
      if (due) fn();
    },
  };
}
