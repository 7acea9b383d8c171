/**
 * `validate -connect`: besides the file, reach the world it names, so that a
 * config can be tried before it is rolled out. Each stream logs in and out;
 * each processor starts as the router would start it (OpenFaaS reads its
 * topic map, EventBridge finds its rule) and is stopped again; a sink that
 * only contacts its peer per event probes it (`Sink.probe`); the
 * coordination store is opened (and the NATS bucket created when missing),
 * as a replica would at start. One line
 * per component, `ok` or `FAIL` with what to fix in one plain sentence (the
 * message of what the component logged, never its log fields).
 *
 * Components wait between retries on unref'd timers (in the router, the
 * metrics server keeps the process alive); here nothing else does, so the
 * checks hold the event loop open until every line is written, and each
 * check is bounded so that a peer that never answers still gets its line.
 */
import type { ComponentContext } from '../components/component';
import type { RouterConfig } from '../config/types';
import { coordinations, definitionFor, sinks, streams } from '../catalogue';
import { entryName } from '../config/types';
import { createRunner } from '../delivery/create';
import { createLogger } from '../log/logger';
import { RouterMetrics } from '../metrics/metrics';
import type { Stream } from '../stream/stream';
import { withoutCredentials } from '../util/address';
import type { RootCAs } from '../util/tls';

/** How long one component's check may take before it is a FAIL (covers a start's own retries). */
export const CHECK_DEADLINE_MS = 90_000;

export interface CheckLine {
  ok: boolean;
  text: string;
}

/** `rootCAs`: the CAs the router would trust, read from the config's files by the caller. */
export async function checkConnections(
  config: RouterConfig,
  rootCAs?: RootCAs,
  deadlineMs = CHECK_DEADLINE_MS,
): Promise<CheckLine[]> {
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    return await checkEach(config, rootCAs, deadlineMs);
  } finally {
    clearInterval(keepAlive);
  }
}

/** `work`, or an error saying that `what` did not answer within `ms`. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkEach(
  config: RouterConfig,
  rootCAs: RootCAs | undefined,
  deadlineMs: number,
): Promise<CheckLine[]> {
  // What the components log while starting is kept (as JSON, to read the message without the fields);
  // the last warning's cause explains a failure.
  const logged: string[] = [];
  const logger = createLogger({ level: 'warn', json: true, write: (l) => logged.push(l) });
  const ctx: ComponentContext = {
    logger,
    metrics: new RouterMetrics({ defaultMetrics: false }),
    ...(rootCAs ? { rootCAs } : {}),
  };
  const lastProblem = (): string | undefined => {
    const last = logged.at(-1);
    if (!last) return undefined;
    const { msg, error } = JSON.parse(last) as { msg: string; error?: unknown };
    return typeof error === 'string' && error ? error : msg;
  };
  const lines: CheckLine[] = [];

  for (const entry of config.streams) {
    const label = `stream ${entryName(entry)} ${withoutCredentials(entry.address ?? '')}`;
    try {
      const stream: Stream = await definitionFor(streams, entry).create(entry, ctx);
      const what = stream.check
        ? await within(deadlineMs, `vCenter ${withoutCredentials(entry.address ?? '')}`, stream.check())
        : 'nothing to check';
      lines.push({ ok: true, text: `ok    ${label}: ${what}` });
    } catch (err) {
      lines.push({ ok: false, text: `FAIL  ${label}: ${(err as Error).message}` });
    }
  }

  for (const entry of config.processors) {
    const label = `processor ${entryName(entry)}${entry.address ? ` ${withoutCredentials(entry.address)}` : ''}`;
    logged.length = 0;
    try {
      const runner = await createRunner(definitionFor(sinks, entry), entry, ctx);
      try {
        const peer = `the ${entry.provider} peer`;
        await within(deadlineMs, peer, runner.start());
        if (!runner.ready()) throw new Error(lastProblem() ?? 'not ready after start');
        const probed = runner.sink.probe ? await within(deadlineMs, peer, runner.sink.probe()) : undefined;
        lines.push({ ok: true, text: `ok    ${label}: ${probed ?? 'ready'}` });
      } finally {
        await runner.stop(1000);
      }
    } catch (err) {
      lines.push({ ok: false, text: `FAIL  ${label}: ${(err as Error).message}` });
    }
  }
  const coordination = config.coordination;
  if (coordination) {
    const label = `coordination ${coordination.provider}${coordination.address ? ` ${withoutCredentials(coordination.address)}` : ''}`;
    try {
      const { store, options } = await definitionFor(coordinations, coordination).create(coordination, ctx);
      try {
        await within(deadlineMs, `the ${coordination.provider} coordination store`, store.open());
        const caveat = store.caveat ? ` (${store.caveat})` : '';
        lines.push({
          ok: true,
          text: `ok    ${label}: ${store.description} answers; this replica's identity is "${options.identity}"${caveat}`,
        });
      } finally {
        await store.close();
      }
    } catch (err) {
      lines.push({ ok: false, text: `FAIL  ${label}: ${(err as Error).message}` });
    }
  }
  return lines;
}
