/**
 * A local Amazon EventBridge endpoint for tests: the AWS JSON 1.1 protocol
 * (`POST /`, `X-Amz-Target: AWSEvents.<Operation>`, content type
 * `application/x-amz-json-1.1`) for ListRules and PutEvents.
 *
 * Every request's SigV4 signature is recomputed here, independently of the
 * SDK, from the known secret of its access key; a request that does not
 * verify gets 403 `InvalidSignatureException` (an unknown key 403
 * `UnrecognizedClientException`), as AWS answers.
 *
 * Tests set and change rules per bus, and inject failures: ListRules errors,
 * throttled PutEvents calls (400 `ThrottlingException`), failed entries
 * (`FailedEntryCount` with per-entry `ErrorCode`) and calls held unanswered
 * (all of them, or those `holdCall` picks).
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface EndpointRule {
  Name: string;
  Arn: string;
  EventPattern?: string;
  State?: string;
  EventBusName?: string;
  ScheduleExpression?: string;
}

export interface RecordedEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  EventId: string;
}

export interface PutEventsCall {
  entries: number;
  bytes: number;
  outcome: 'ok' | 'partial' | 'throttled' | 'rejected';
}

type Json = Record<string, unknown>;

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** Entry size as EventBridge counts it. */
function entryBytes(e: Json): number {
  let n = e.Time !== undefined ? 14 : 0;
  for (const k of ['Source', 'DetailType', 'Detail']) {
    if (typeof e[k] === 'string') n += Buffer.byteLength(e[k] as string, 'utf8');
  }
  for (const r of (e.Resources as string[] | undefined) ?? []) n += Buffer.byteLength(r, 'utf8');
  return n;
}

export class EventBridgeEndpoint {
  readonly region: string;
  /** accessKeyId -> secret */
  readonly credentials = new Map<string, string>();
  /** bus name -> rules, in listing order */
  readonly rules = new Map<string, EndpointRule[]>();

  readonly entries: RecordedEntry[] = [];
  readonly putEventsCalls: PutEventsCall[] = [];
  listRulesCalls = 0;
  /** Requests refused because the signature did not verify (or the key is unknown). */
  rejectedSignatures = 0;
  /** Access key ids seen on verified requests. */
  readonly accessKeysSeen = new Set<string>();

  /** ListRules calls to fail with 500 InternalException (a number, or Infinity). */
  failListRules = 0;
  /** PutEvents calls to refuse with 400 ThrottlingException. */
  throttlePutEvents = 0;
  /** Decide per entry: an error code fails it (FailedEntryCount), undefined accepts it. */
  entryFailure: ((entry: Json) => string | undefined) | undefined;
  /** The ErrorMessage of a failed entry (default `injected CODE`); a hostile peer may echo anything. */
  entryFailureMessage: ((code: string) => string) | undefined;
  /** While true, PutEvents calls are held unanswered (a slow EventBridge) until `releasePutEvents`. */
  holdPutEvents = false;
  /**
   * Decide per PutEvents call, on its entries: true holds that call unanswered
   * (a request EventBridge never answers) until `releasePutEvents`; the other
   * calls are answered as usual.
   */
  holdCall: ((entries: Json[]) => boolean) | undefined;
  private held: Array<() => void> = [];

  private server: Server | undefined;
  private listeners: Array<() => void> = [];

  constructor(opts: { region?: string; credentials?: Record<string, string> } = {}) {
    this.region = opts.region ?? 'eu-central-1';
    for (const [k, v] of Object.entries(opts.credentials ?? {})) this.credentials.set(k, v);
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('endpoint not started');
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`;
  }

  /** Whether it serves https. */
  private tls = false;

  /** Listen on a loopback port; `tls`: serve https with this key and certificate (PEM text). */
  async start(tls?: { key: string; cert: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.tls = tls !== undefined;
    this.server = tls ? createTlsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    this.server = undefined;
  }

  setRules(bus: string, rules: EndpointRule[]): void {
    this.rules.set(
      bus,
      rules.map((r) => ({ State: 'ENABLED', EventBusName: bus, ...r })),
    );
  }

  /** PutEvents calls currently held by `holdPutEvents`. */
  get heldCalls(): number {
    return this.held.length;
  }

  /** Stop holding and answer the held calls. */
  releasePutEvents(): void {
    this.holdPutEvents = false;
    for (const answer of this.held.splice(0)) answer();
  }

  /** Change one rule's pattern (as an operator would in the console). */
  setPattern(arn: string, pattern: string | Json): void {
    for (const list of this.rules.values()) {
      const r = list.find((x) => x.Arn === arn);
      if (r) {
        r.EventPattern = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
        return;
      }
    }
    throw new Error(`no rule ${arn}`);
  }

  /** Resolves after the next request has been answered. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.listeners.push(resolve));
  }

  /** Wait until `predicate` holds, re-checking after each request (and every 20 ms). */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
    const t0 = Date.now();
    while (!predicate()) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await Promise.race([this.nextRequest(), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  private reply(res: ServerResponse, status: number, body: Json): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(text);
    for (const l of this.listeners.splice(0)) l();
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    this.reply(res, status, { __type: type, message });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);

    const verdict = this.verify(req, body);
    if (verdict) {
      this.rejectedSignatures++;
      this.error(res, 403, verdict.type, verdict.message);
      return;
    }
    if (req.method !== 'POST' || !/^application\/x-amz-json-1\.1/.test(req.headers['content-type'] ?? '')) {
      this.error(res, 400, 'SerializationException', 'expected POST with application/x-amz-json-1.1');
      return;
    }
    let input: Json;
    try {
      input = JSON.parse(body.toString('utf8') || '{}') as Json;
    } catch {
      this.error(res, 400, 'SerializationException', 'body is not JSON');
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target === 'AWSEvents.ListRules') this.listRules(input, res);
    else if (target === 'AWSEvents.PutEvents' && (this.holdPutEvents || this.holds(input))) {
      this.held.push(() => this.putEvents(input, res));
      for (const l of this.listeners.splice(0)) l();
    } else if (target === 'AWSEvents.PutEvents') this.putEvents(input, res);
    else this.error(res, 400, 'UnknownOperationException', `unknown operation ${target}`);
  }

  private holds(input: Json): boolean {
    return this.holdCall?.(Array.isArray(input.Entries) ? (input.Entries as Json[]) : []) ?? false;
  }

  /** SigV4 check; returns the error to send, or undefined when the signature verifies. */
  private verify(req: IncomingMessage, body: Buffer): { type: string; message: string } | undefined {
    const auth = String(req.headers.authorization ?? '');
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m)
      return {
        type: 'MissingAuthenticationTokenException',
        message: 'missing or malformed SigV4 Authorization',
      };
    const [, keyId, date, region, service, signedHeadersText, signature] = m;
    const secret = this.credentials.get(keyId);
    if (secret === undefined) {
      return {
        type: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(date))
      return { type: 'InvalidSignatureException', message: 'x-amz-date does not match the scope' };
    if (region !== this.region || service !== 'events') {
      return {
        type: 'InvalidSignatureException',
        message: `credential scope ${region}/${service} is not ${this.region}/events`,
      };
    }
    const signed = signedHeadersText.split(';');
    if (!signed.includes('host') || !signed.includes('x-amz-date')) {
      return { type: 'InvalidSignatureException', message: 'host and x-amz-date must be signed' };
    }
    const canonicalHeaders = signed
      .map((h) => {
        const raw = req.headers[h];
        const v = Array.isArray(raw) ? raw.join(',') : String(raw ?? '');
        return `${h}:${v.trim().replace(/\s+/g, ' ')}\n`;
      })
      .join('');
    const url = new URL(req.url ?? '/', 'http://x');
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)])
      .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const payloadHash = sha256hex(body);
    const claimed = req.headers['x-amz-content-sha256'];
    if (claimed !== undefined && claimed !== payloadHash) {
      return { type: 'InvalidSignatureException', message: 'x-amz-content-sha256 does not match the body' };
    }
    const canonicalRequest = [
      req.method,
      url.pathname,
      query,
      canonicalHeaders,
      signedHeadersText,
      payloadHash,
    ].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
    const kDate = hmac('AWS4' + secret, date);
    const kSigning = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
    const expected = Buffer.from(hmac(kSigning, stringToSign).toString('hex'));
    const got = Buffer.from(signature);
    if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
      return {
        type: 'InvalidSignatureException',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      };
    }
    this.accessKeysSeen.add(keyId);
    return undefined;
  }

  private listRules(input: Json, res: ServerResponse): void {
    this.listRulesCalls++;
    if (this.failListRules > 0) {
      this.failListRules--;
      this.error(res, 500, 'InternalException', 'injected ListRules failure');
      return;
    }
    const bus = typeof input.EventBusName === 'string' ? input.EventBusName : 'default';
    const all = this.rules.get(bus);
    if (!all) {
      this.error(res, 400, 'ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      return;
    }
    const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
    const rules = all.filter((r) => r.Name.startsWith(prefix));
    const limit = typeof input.Limit === 'number' ? input.Limit : 100;
    if (limit < 1 || limit > 100) {
      this.error(res, 400, 'ValidationException', 'Limit must be between 1 and 100');
      return;
    }
    const start =
      typeof input.NextToken === 'string' ? Number(Buffer.from(input.NextToken, 'base64').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) {
      this.error(res, 400, 'ValidationException', 'invalid NextToken');
      return;
    }
    const page = rules.slice(start, start + limit);
    const next =
      start + limit < rules.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
    this.reply(res, 200, { Rules: page, ...(next ? { NextToken: next } : {}) });
  }

  private putEvents(input: Json, res: ServerResponse): void {
    const entries = Array.isArray(input.Entries) ? (input.Entries as Json[]) : [];
    const bytes = entries.reduce((n, e) => n + entryBytes(e), 0);
    if (entries.length < 1 || entries.length > 10) {
      this.putEventsCalls.push({ entries: entries.length, bytes, outcome: 'rejected' });
      this.error(res, 400, 'ValidationException', `Entries must hold 1 to 10 entries, got ${entries.length}`);
      return;
    }
    if (bytes > 256 * 1024) {
      this.putEventsCalls.push({ entries: entries.length, bytes, outcome: 'rejected' });
      this.error(
        res,
        400,
        'ValidationException',
        `Total size of the entries in the request is over the limit (${bytes})`,
      );
      return;
    }
    if (this.throttlePutEvents > 0) {
      this.throttlePutEvents--;
      this.putEventsCalls.push({ entries: entries.length, bytes, outcome: 'throttled' });
      this.error(res, 400, 'ThrottlingException', 'Rate exceeded');
      return;
    }
    let failed = 0;
    const results = entries.map((e) => {
      const code = this.entryFailure?.(e);
      if (code) {
        failed++;
        return { ErrorCode: code, ErrorMessage: this.entryFailureMessage?.(code) ?? `injected ${code}` };
      }
      const id = randomUUID();
      this.entries.push({
        Source: e.Source as string,
        DetailType: e.DetailType as string,
        Detail: e.Detail as string,
        EventBusName: e.EventBusName as string | undefined,
        EventId: id,
      });
      return { EventId: id };
    });
    this.putEventsCalls.push({ entries: entries.length, bytes, outcome: failed ? 'partial' : 'ok' });
    this.reply(res, 200, { FailedEntryCount: failed, Entries: results });
  }
}
