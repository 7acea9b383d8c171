/**
 * The webhook stream (v0.7's `webhook` provider): an HTTP server that accepts
 * CloudEvents in structured (`application/cloudevents+json`) or binary
 * (`ce-` headers) mode on one path, and appends each to the event log in the
 * order the requests arrived. The reply is 202 once the event is appended;
 * 400 for a malformed event, 401 (with the realm) without the credentials,
 * 413 over `max_event_bytes`, 404/405 elsewhere; every answer is counted.
 *
 * The `cloudevents` package's HTTP binding parses the message and its
 * validator checks it, but `time` is kept as sent (the package re-renders it
 * through `Date`). The package is loaded with this module, which the stream's
 * definition imports only when a webhook stream is configured: the router's
 * own events are plain objects (events/types.ts) and cost none of its memory.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP } from 'cloudevents';
import type { ComponentContext } from '../../components/component';
import { basicAuthCredentials, entryName, type ConfigEntry } from '../../config/types';
import { percentDecodeHeader } from '../../events/binary';
import type { RouterEvent } from '../../events/types';
import type { Logger } from '../../log/logger';
import { bindHostPort } from '../../util/address';
import { BasicAuth } from '../../util/basic-auth';
import { jsonShapeProblem } from '../../util/reply-shape';
import { StreamStartError, type EventHandler, type Stream } from '../stream';
import type { WebhookOptions } from './options';

const PROVIDER = 'webhook';
const REQUIRED = ['id', 'source', 'type', 'specversion'] as const;
/** RFC 3339 date-time, as the CloudEvents `time` attribute is. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * The package's event as the router's plain CloudEvent: its attributes, data
 * and extensions in the package's own key order (which decides where they
 * appear in the JSON and the ce- headers), the unset ones left out.
 */
function plainEvent(parsed: CloudEvent<Record<string, unknown>>): RouterEvent {
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) if (value !== undefined) event[name] = value;
  return event as RouterEvent;
}

class RequestProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class WebhookStream implements Stream {
  readonly provider = PROVIDER;
  readonly name: string;
  readonly source: string;
  private readonly log: Logger;
  private readonly auth: BasicAuth;
  private readonly path: string;
  private readonly maxBytes: number;
  private server?: http.Server;
  private listening = false;
  private handler?: EventHandler;
  /** Appends run one after another, in the order the requests were read. */
  private chain: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private stopped?: () => void;

  constructor(
    private readonly entry: ConfigEntry,
    options: WebhookOptions,
    private readonly ctx: ComponentContext,
  ) {
    this.name = entryName(entry);
    this.log = ctx.logger.child({ stream: this.name });
    this.auth = new BasicAuth(basicAuthCredentials(entry.auth));
    this.path = options.path;
    this.maxBytes = options.max_event_bytes;
    this.source = `http://${entry.address ?? ''}${this.path}`;
  }

  /** The bound address (useful with port 0). */
  get address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  details(): Record<string, unknown> {
    return {
      source: this.source,
      listening: this.listening,
      ...(this.address ? { port: this.address.port } : {}),
    };
  }

  ready(): boolean {
    return this.listening;
  }

  async run(handler: EventHandler): Promise<void> {
    this.handler = handler;
    const { host, port } = bindHostPort(this.entry.address ?? '0.0.0.0:8080');
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new StreamStartError(
            `webhook stream ${this.name} cannot listen on ${host}:${port}: ${err.code ?? err.message}`,
          ),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    this.listening = true;
    this.log.info('webhook stream listening', {
      address: `${host}:${this.address?.port}`,
      path: this.path,
      auth: this.auth.method,
    });
    await new Promise<void>((resolve) => (this.stopped = resolve));
  }

  private reply(
    res: http.ServerResponse,
    status: number,
    body: string,
    headers: http.OutgoingHttpHeaders = {},
  ): void {
    this.ctx.metrics.webhookRequests.inc({ stream: this.name, code: String(status) });
    if (status === 401) {
      BasicAuth.challenge(res);
      return;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(body + '\n');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.path) return this.reply(res, 404, 'not found');
    if (req.method !== 'POST') return this.reply(res, 405, 'only POST is accepted', { Allow: 'POST' });
    if (!this.auth.authorized(req)) {
      req.resume();
      return this.reply(res, 401, 'Unauthorized');
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      req.resume();
      return this.reply(res, 413, `request body over ${this.maxBytes} bytes`, { Connection: 'close' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > this.maxBytes) {
        tooLarge = true;
        this.reply(res, 413, `request body over ${this.maxBytes} bytes`, { Connection: 'close' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (tooLarge) return;
      let event: RouterEvent;
      try {
        event = this.parse(req.headers, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        const status = err instanceof RequestProblem ? err.status : 400;
        this.ctx.metrics.streamErrors.inc({ provider: PROVIDER, stream: this.name });
        this.reply(res, status, `malformed CloudEvent: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
      const handler = this.handler;
      if (!handler || !this.listening) return this.reply(res, 503, 'stopping');
      const appended = this.chain.then(() => handler(event, ++this.seq, performance.now()));
      this.chain = appended.catch(() => undefined);
      appended.then(
        () => {
          this.ctx.metrics.streamEvents.inc({ provider: PROVIDER, stream: this.name });
          this.reply(res, 202, 'accepted');
        },
        (err: unknown) => {
          this.log.error('webhook event not appended', { error: err as Error });
          this.reply(res, 503, 'not appended');
        },
      );
    });
  }

  /** One CloudEvent from the request, `time` exactly as sent. */
  private parse(headers: http.IncomingHttpHeaders, body: string): RouterEvent {
    const contentType = String(headers['content-type'] ?? '').toLowerCase();
    const structured = contentType.startsWith('application/cloudevents+json');
    if (contentType.startsWith('application/cloudevents-batch'))
      throw new RequestProblem(400, 'batched mode is not accepted (one event per request)');
    if (!structured && headers['ce-specversion'] === undefined)
      throw new RequestProblem(
        400,
        'neither structured mode (Content-Type application/cloudevents+json) nor binary mode (ce-specversion header)',
      );
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') flat[k] = v;
    // The package fills a missing id, time or specversion in: the required ones are checked as sent.
    let raw: Record<string, unknown>;
    if (structured || contentType.includes('json')) {
      // Refused before parsing: a nesting the event cannot be carried with (the conversions recurse).
      const shape = jsonShapeProblem(body);
      if (shape) throw new RequestProblem(400, `the body is ${shape}`);
    }
    if (structured) {
      let doc: unknown;
      try {
        doc = JSON.parse(body);
      } catch {
        throw new RequestProblem(400, 'the body is not valid JSON');
      }
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
        throw new RequestProblem(400, 'the body is not a JSON object');
      raw = doc as Record<string, unknown>;
    } else {
      raw = {};
      for (const a of REQUIRED) if (flat[`ce-${a}`] !== undefined) raw[a] = flat[`ce-${a}`];
      if (flat['ce-time'] !== undefined) raw.time = percentDecodeHeader(flat['ce-time']);
    }
    const missing = REQUIRED.filter((a) => typeof raw[a] !== 'string' || raw[a] === '');
    if (missing.length) throw new RequestProblem(400, `missing required attribute ${missing.join(', ')}`);
    // Carried in a header by binary-mode sinks (Content-Type): a control character would break the request there.
    const contentTypeAttr = structured ? raw.datacontenttype : headers['content-type'];
    if (typeof contentTypeAttr === 'string' && hasControlCharacter(contentTypeAttr))
      throw new RequestProblem(400, 'datacontenttype contains control characters (CR, LF...)');
    if (raw.time !== undefined && (typeof raw.time !== 'string' || !RFC3339.test(raw.time)))
      throw new RequestProblem(400, 'time is not an RFC 3339 timestamp (e.g. 2026-03-04T05:06:07.123Z)');
    if (raw.specversion !== '1.0') throw new RequestProblem(400, `specversion must be "1.0"`);
    const parsed = HTTP.toEvent({ headers: flat, body });
    if (Array.isArray(parsed)) throw new RequestProblem(400, 'batched mode is not accepted');
    const attrs: Record<string, unknown> = { ...(parsed as object) };
    for (const k of Object.keys(attrs)) if (attrs[k] === undefined) delete attrs[k];
    // Kept exactly as sent (the package re-renders it through Date).
    if (typeof raw.time === 'string') attrs.time = raw.time;
    if (typeof raw.data_base64 === 'string') {
      // The bytes, as a Buffer: written back as data_base64 (the package's own decoding is a Uint32Array,
      // which would print as an object of numbers).
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw.data_base64))
        throw new RequestProblem(400, 'data_base64 is not base64');
      attrs.data = Buffer.from(raw.data_base64, 'base64');
      delete attrs.data_base64;
    }
    // Strict: attribute names and values as the spec allows (a bad time, an invalid extension name).
    return plainEvent(new CloudEvent<Record<string, unknown>>(attrs as never, true));
  }

  async stop(): Promise<void> {
    this.listening = false;
    const s = this.server;
    if (s) {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections?.();
      await closed;
    }
    this.stopped?.();
  }
}
