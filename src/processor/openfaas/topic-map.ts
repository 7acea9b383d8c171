/**
 * The OpenFaaS topic map: which functions subscribe to which event subject.
 *
 * Built from the gateway's REST API, as the OpenFaaS connector-sdk does:
 * `GET /system/namespaces` (a JSON array of namespace names), then
 * `GET /system/functions?namespace=NS` for each; a gateway without
 * `/system/namespaces` (404, e.g. older or single-namespace providers) or
 * with an empty list is read with `GET /system/functions` alone, and its
 * functions are invoked by bare name. A function subscribes through its
 * `topic` annotation: a comma-separated list of subjects, spaces trimmed.
 */
import { quotePeer } from '../../log/logger';
import { withoutCredentials } from '../../util/address';
import { type GetReply, REPLY_TOO_LARGE } from '../../util/http-post';
import { isUntrustedCertificate, untrustedHint } from '../../util/tls';

/**
 * The largest `/system/*` reply read (8 MiB, some 15,000 functions): a bigger
 * one is refused (logged, counted, the last good map kept) instead of being
 * parsed, so that a broken or hostile gateway cannot push the router past its
 * memory limit (256 Mi in deploy/). Parsed JSON costs several times its size.
 */
export const MAX_SYSTEM_REPLY_BYTES = 8 * 1024 * 1024;

/** One function to invoke: `path` is `NAME.NS` (or `NAME` when the gateway has no namespaces). */
export interface FunctionTarget {
  name: string;
  namespace?: string;
  path: string;
}

/** The annotation the original router reads. */
export const TOPIC_ANNOTATION = 'topic';

export class TopicMap {
  readonly builtAt = Date.now();

  constructor(
    private readonly bySubject: ReadonlyMap<string, readonly FunctionTarget[]>,
    /** Every function listed by the gateway, subscribed or not. */
    readonly functionCount: number,
  ) {}

  /** Functions subscribed to `subject` (empty when none). */
  targets(subject: string): readonly FunctionTarget[] {
    return this.bySubject.get(subject) ?? [];
  }

  get subjects(): string[] {
    return [...this.bySubject.keys()];
  }

  /** Distinct subscribed functions. */
  get subscribedFunctions(): number {
    const paths = new Set<string>();
    for (const targets of this.bySubject.values()) for (const t of targets) paths.add(t.path);
    return paths.size;
  }
}

/** Split a `topic` annotation: comma-separated, spaces trimmed, empty items ignored, duplicates once. */
export function parseTopics(annotation: unknown): string[] {
  if (typeof annotation !== 'string') return [];
  const out: string[] = [];
  for (const part of annotation.split(',')) {
    const t = part.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

/** What went wrong with a rebuild; `reason` is the metric label, `message` the log line. */
export class TopicMapError extends Error {
  constructor(
    readonly reason:
      | 'unauthorized'
      | 'forbidden'
      | 'unreachable'
      | 'untrusted_certificate'
      | 'http_status'
      | 'invalid_response'
      | 'too_large'
      | 'redirect',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TopicMapError';
  }
}

interface FunctionStatusLike {
  name?: unknown;
  namespace?: unknown;
  annotations?: unknown;
}

function invokePath(name: string, namespace: string | undefined): string {
  const n = encodeURIComponent(name);
  return namespace ? `${n}.${encodeURIComponent(namespace)}` : n;
}

/** A GET of `path` on the gateway, with the credentials (see OpenFaasSink). */
export type SystemGet = (path: string) => Promise<GetReply>;

/**
 * A reply body as JSON: an empty one is `null` (as some providers answer an
 * empty namespace); one that is not JSON (an error page) stays its text,
 * which no check below takes for a list.
 */
function json(body: Buffer): unknown {
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Read the topic map from the gateway. `gateway` is the address for messages
 * (credentials stripped). Throws a TopicMapError naming the gateway.
 */
export async function fetchTopicMap(request: SystemGet, gateway: string): Promise<TopicMap> {
  const get = async (path: string, allow404 = false): Promise<unknown> => {
    let res: GetReply;
    try {
      // Never a redirect followed (the admin credentials would go to a host nobody configured).
      res = await request(path);
    } catch (err) {
      const c = (err as { code?: unknown } | null)?.code;
      const code = typeof c === 'string' ? c : '';
      const detail = err instanceof Error ? err.message : String(err);
      if (code === REPLY_TOO_LARGE) {
        throw new TopicMapError(
          'too_large',
          `OpenFaaS gateway ${gateway} answered GET ${path} with more than ${MAX_SYSTEM_REPLY_BYTES / 1024 / 1024} MiB: reply refused (the cap keeps the router within its memory limit)`,
        );
      }
      if (isUntrustedCertificate(code))
        throw new TopicMapError('untrusted_certificate', untrustedHint(`OpenFaaS gateway ${gateway}`, code));
      throw new TopicMapError(
        'unreachable',
        `OpenFaaS gateway ${gateway} is unreachable (GET ${path}: ${code || detail})`,
      );
    }
    if (res.status === 401) {
      throw new TopicMapError(
        'unauthorized',
        `OpenFaaS gateway ${gateway} rejected the credentials (401)`,
        401,
      );
    }
    if (res.status === 403) {
      throw new TopicMapError(
        'forbidden',
        `OpenFaaS gateway ${gateway} denied access to ${path} (403): the user may not list functions`,
        403,
      );
    }
    if (res.status === 404 && allow404) return undefined;
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.location;
      const where = location ? quotePeer(withoutCredentials(location)) : 'no Location';
      throw new TopicMapError(
        'redirect',
        `OpenFaaS gateway ${gateway} answered GET ${path} with HTTP ${res.status} redirect to ${where}: refused (the router never follows redirects; set the processor address to the gateway itself)`,
        res.status,
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw new TopicMapError(
        'http_status',
        `OpenFaaS gateway ${gateway} answered GET ${path} with ${res.status}`,
        res.status,
      );
    }
    return json(res.body);
  };

  // undefined: the gateway has no /system/namespaces (404).
  const listed = await get('/system/namespaces', true);
  let namespaces: string[] = [];
  if (listed !== undefined) {
    if (!Array.isArray(listed) || listed.some((n) => typeof n !== 'string')) {
      throw new TopicMapError(
        'invalid_response',
        `OpenFaaS gateway ${gateway} returned an unexpected /system/namespaces body (expected an array of names)`,
      );
    }
    namespaces = [...new Set(listed as string[])].filter((n) => n !== '');
  }

  const lists: Array<{ namespace?: string; functions: FunctionStatusLike[] }> = await Promise.all(
    (namespaces.length ? namespaces : [undefined]).map(async (namespace) => {
      const path = namespace
        ? `/system/functions?namespace=${encodeURIComponent(namespace)}`
        : '/system/functions';
      const body = await get(path);
      // Some providers answer `null` (or nothing) for an empty namespace.
      const data: unknown = body === null || body === '' ? [] : body;
      if (!Array.isArray(data)) {
        throw new TopicMapError(
          'invalid_response',
          `OpenFaaS gateway ${gateway} returned an unexpected GET ${path} body (expected an array of functions)`,
        );
      }
      return { namespace, functions: data as FunctionStatusLike[] };
    }),
  );

  const bySubject = new Map<string, FunctionTarget[]>();
  let functionCount = 0;
  for (const { namespace, functions } of lists) {
    for (const fn of functions) {
      if (!fn || typeof fn.name !== 'string' || fn.name === '') continue;
      functionCount++;
      const annotations = fn.annotations && typeof fn.annotations === 'object' ? fn.annotations : {};
      const topics = parseTopics((annotations as Record<string, unknown>)[TOPIC_ANNOTATION]);
      if (topics.length === 0) continue;
      const target: FunctionTarget = { name: fn.name, namespace, path: invokePath(fn.name, namespace) };
      for (const topic of topics) {
        const list = bySubject.get(topic) ?? [];
        if (!list.some((t) => t.path === target.path)) list.push(target);
        bySubject.set(topic, list);
      }
    }
  }
  return new TopicMap(bySubject, functionCount);
}
