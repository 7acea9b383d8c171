/**
 * A CloudEvents HTTP receiver for tests (what a Knative Broker's ingress or
 * Event Display is to the router): every request is parsed with the
 * `cloudevents` package's own HTTP binding (`HTTP.toEvent`), so both content
 * modes are read as any CloudEvents SDK reads them.
 *
 * It records each accepted event with the raw request (headers, body), since
 * the SDK re-renders `time` through `Date` (milliseconds): tests compare the
 * exact time against the structured JSON or the raw `ce-time` header.
 *
 * Failures on demand: `failEvery` (answer 503 to every n-th request, e.g. 3),
 * `rejectNext` (answer 400 to the next n requests), `retryAfter` (sent with
 * each 503).
 */
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type CloudEventV1, HTTP } from 'cloudevents';

export interface ReceivedEvent {
  /** The event as the SDK parsed it. */
  event: CloudEventV1<unknown>;
  headers: IncomingHttpHeaders;
  body: string;
  mode: 'structured' | 'binary';
}

export class CloudEventsReceiver {
  readonly received: ReceivedEvent[] = [];
  /** Every request: its status and, when parsed, the event id. */
  readonly requests: Array<{ status: number; id?: string; authorization?: string }> = [];
  /** Answer 503 to every n-th request (0: never). */
  failEvery = 0;
  /** Answer 400 to the next n requests. */
  rejectNext = 0;
  /** A hostile receiver: its 400 body quotes the request's Authorization header. */
  echoAuthorization = false;
  /** Retry-After sent with each 503 (seconds), if set. */
  retryAfter: string | undefined;
  private server: Server | undefined;
  /** Serve https with this key and certificate. */
  private tls: { key: string; cert: string } | undefined;
  private count = 0;

  /** Listen on a loopback port (0: any free one). */
  static async start(port = 0, tls?: { key: string; cert: string }): Promise<CloudEventsReceiver> {
    const r = new CloudEventsReceiver();
    r.tls = tls;
    await r.listen(port);
    return r;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    const port = this.port;
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${port}/default/default`;
  }

  get ids(): string[] {
    return this.received.map((r) => r.event.id);
  }

  private listen(port: number): Promise<void> {
    const handler: RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const n = ++this.count;
        const record = {
          status: 0,
          id: undefined as string | undefined,
          authorization: req.headers.authorization,
        };
        this.requests.push(record);
        const answer = (status: number, text = ''): void => {
          record.status = status;
          const headers: Record<string, string> = {};
          if (status === 503 && this.retryAfter) headers['Retry-After'] = this.retryAfter;
          res.writeHead(status, headers).end(text);
        };
        if (this.rejectNext > 0) {
          this.rejectNext--;
          return answer(
            400,
            this.echoAuthorization ? `bad event from ${req.headers.authorization}` : 'bad event',
          );
        }
        if (this.failEvery > 0 && n % this.failEvery === 0) return answer(503, 'try later');
        let event: CloudEventV1<unknown>;
        try {
          const parsed = HTTP.toEvent({ headers: req.headers, body });
          event = (Array.isArray(parsed) ? parsed[0] : parsed) as CloudEventV1<unknown>;
        } catch (err) {
          return answer(400, String(err));
        }
        record.id = event.id;
        const mode = /^application\/cloudevents\+json/.test(req.headers['content-type'] ?? '')
          ? 'structured'
          : 'binary';
        this.received.push({ event, headers: req.headers, body, mode });
        answer(202);
      });
    };
    this.server = this.tls ? createTlsServer(this.tls, handler) : createServer(handler);
    return new Promise((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
