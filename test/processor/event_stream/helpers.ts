/**
 * Helpers for the event_stream tests: the compiled router in a child process
 * (its own event loop, its own RSS) with the vCenter stream of a simulator and
 * the event_stream processor, and a watch client that reads JSON lines.
 */
import http from 'node:http';
import type { ConfigEntry } from '../../../src/config/types';
import {
  metricsEntry,
  startRouterProcess,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../../helpers/e2e';
import { postEvents, type Simulator } from '../../harness/simulator';

export interface EventStreamRouter {
  router: RouterProcess;
  /** http://127.0.0.1:PORT of the event stream API. */
  api: string;
  /** /readyz details of the event_stream processor. */
  details(): Promise<Record<string, unknown>>;
}

export function eventStreamEntry(
  options: Record<string, string> = {},
  auth?: { username: string; password: string },
): ConfigEntry {
  return {
    type: 'processor',
    provider: 'event_stream',
    address: '127.0.0.1:0',
    auth: auth ? { method: 'basic_auth', secret: auth } : { method: 'none' },
    options,
  };
}

/** http://127.0.0.1:PORT of the event stream API `router` serves, once it listens (port 0: the router logs the port). */
export async function eventStreamApi(router: RouterProcess): Promise<string> {
  let port = '';
  await waitFor('the event stream API to listen', () => {
    const m = /event stream API listening .*?address=[^\s]*:(\d+)/.exec(router.stderr());
    if (m) port = m[1];
    return port !== '';
  });
  return `http://127.0.0.1:${port}`;
}

/** The router with the simulator's stream, the event_stream processor (and `others`), ready. */
export async function startEventStreamRouter(
  sim: Simulator,
  entry: ConfigEntry = eventStreamEntry(),
  others: ConfigEntry[] = [],
): Promise<EventStreamRouter> {
  const router = await startRouterProcess([vcenterEntry(sim), entry, ...others, metricsEntry()]);
  let api: string;
  try {
    api = await eventStreamApi(router);
    await routerReady(router);
  } catch (err) {
    await router.stop();
    throw err;
  }
  return {
    router,
    api,
    details: async () => {
      const r = (await (await fetch(`${router.metricsUrl}/readyz`)).json()) as {
        details: { processors: Record<string, Record<string, unknown>> };
      };
      return r.details.processors[entry.name ?? 'event_stream'];
    },
  };
}

export interface CloudEventJson {
  id: string;
  type: string;
  subject: string;
  data: { Key: number; EventTypeId?: string; Message?: string };
  [k: string]: unknown;
}

/** One watch: the CloudEvents read so far, any error line, and how it ended. */
export interface Watch {
  status: number;
  events: CloudEventJson[];
  /** Lines that are not CloudEvents (the final error line of an ended watch). */
  errors: Array<Record<string, unknown>>;
  /** Resolves when the server ends the response or the connection closes. */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Disconnect. */
  close(): void;
}

/** Open `GET /api/v1/events?watch=true[&offset=N]`; resolves once the response headers arrived (the watch is registered). */
export function openWatch(
  api: string,
  offset?: number,
  opts: { onEvent?: (e: CloudEventJson, w: Watch) => void } = {},
): Promise<Watch> {
  const url = `${api}/api/v1/events?watch=true${offset === undefined ? '' : `&offset=${offset}`}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let partial = '';
      let ended = false;
      let markEnded: () => void = () => undefined;
      const w: Watch = {
        status: res.statusCode ?? 0,
        events: [],
        errors: [],
        ended: new Promise<void>((r) => (markEnded = r)),
        isEnded: () => ended,
        close: () => req.destroy(),
      };
      const finish = (): void => {
        ended = true;
        markEnded();
      };
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          if (l === '') continue;
          const o = JSON.parse(l) as Record<string, unknown>;
          if ('specversion' in o) {
            w.events.push(o as unknown as CloudEventJson);
            opts.onEvent?.(o as unknown as CloudEventJson, w);
          } else w.errors.push(o);
        }
      });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve(w);
    });
    req.on('error', (err) => {
      // A disconnect we asked for is not a failure.
      if (!req.destroyed || (err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
  });
}

export async function getJson(url: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as unknown, headers: r.headers };
}

export const MARKER = 'com.example.event-stream.marker';

/** Post one marker event (an EventEx whose Message is `tag`). */
export async function postMarker(sim: Simulator, tag: string): Promise<void> {
  await postEvents(sim, [{ class: 'EventEx', fields: { EventTypeId: MARKER, Message: tag } }]);
}

export const isMarker = (e: CloudEventJson, tag: string): boolean =>
  e.subject === MARKER && e.data.Message === tag;

/** Keys strictly increasing (the simulator's keys do not wrap). */
export function increasing(keys: number[]): boolean {
  return keys.every((k, i) => i === 0 || k > keys[i - 1]);
}
