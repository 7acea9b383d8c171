/**
 * An HTTP proxy in front of the govmomi simulator that injects the failures a
 * real vCenter or its network produce: HTTP 500 without a SOAP body, a SOAP
 * fault, a truncated or malformed reply, a stalled reply, a redirect, and rewritten
 * replies (an event class the router does not know), and the hostile peers of
 * issue 17: an empty reply at once, a fault echoing the request, an oversized
 * reply. Rules apply to the next N requests whose SOAP method matches.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'http500' }
  | { kind: 'soapFault'; faultType: string; message: string }
  | { kind: 'truncate' }
  | { kind: 'malformed' }
  | { kind: 'stall' }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'rewrite'; from: string; to: string }
  /** 200 at once with an empty `...Response` (no `returnval`): WaitForUpdatesEx as a broken proxy answers it. */
  | { kind: 'empty' }
  /** 500 with a SOAP fault whose faultstring quotes the request body (XML-escaped, `escapes` times). */
  | { kind: 'echo'; escapes?: number }
  /** 200 with a well-formed SOAP reply of `bytes` bytes, streamed (never held in memory). */
  | { kind: 'huge'; bytes: number };

interface Rule {
  method: string;
  remaining: number;
  fault: Fault;
}

export class FaultyVCenterProxy {
  private server?: http.Server;
  private rules: Rule[] = [];
  private stalled = new Set<http.ServerResponse>();
  /** Every SOAP method seen, in order. */
  readonly methods: string[] = [];
  /** When each of `methods` arrived (Date.now()). */
  readonly times: number[] = [];
  /** Bytes of `huge` replies written so far. */
  hugeBytesSent = 0;
  /** Faults actually injected, per method. */
  readonly injected: Array<{ method: string; kind: string }> = [];

  constructor(private readonly target: URL) {}

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}/sdk`;
  }

  /** Apply `fault` to the next `count` requests for `method` (`*` for any). */
  inject(method: string, fault: Fault, count = 1): void {
    this.rules.push({ method, remaining: count, fault });
  }

  /** Drop every rule not used up yet. */
  clear(): void {
    this.rules = [];
  }

  /** Rewrites apply when the reply passes (a long poll may have been sent before the rule). */
  private take(method: string, when: 'request' | 'reply'): Fault | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.method === method || r.method === '*') &&
        (r.fault.kind === 'rewrite') === (when === 'reply'),
    );
    if (!rule) return undefined;
    rule.remaining--;
    this.injected.push({ method, kind: rule.fault.kind });
    return rule.fault;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const m = /<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)/.exec(body.toString('utf8'));
    const method = m ? m[1] : 'unknown';
    this.methods.push(method);
    this.times.push(Date.now());
    let fault = this.take(method, 'request');
    if (fault?.kind === 'empty') {
      res
        .writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><${method}Response xmlns="urn:vim25"></${method}Response></soapenv:Body></soapenv:Envelope>`,
        );
      return;
    }
    if (fault?.kind === 'echo') {
      let quoted = body.toString('utf8');
      for (let i = 0; i < (fault.escapes ?? 1); i++)
        quoted = quoted.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      res
        .writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>ECHO[could not process the request ${quoted}]</faultstring><detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"></SystemErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
        );
      return;
    }
    if (fault?.kind === 'huge') {
      this.writeHuge(method, fault.bytes, res);
      return;
    }
    if (fault?.kind === 'stall') {
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return; // never answer
    }
    if (fault?.kind === 'redirect') {
      res.writeHead(fault.status, { Location: fault.location }).end();
      return;
    }
    if (fault?.kind === 'http500') {
      res
        .writeHead(500, { 'Content-Type': 'text/html' })
        .end('<html><body>Internal Server Error</body></html>');
      return;
    }
    if (fault?.kind === 'soapFault') {
      res
        .writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${fault.message}</faultstring><detail><${fault.faultType}Fault xmlns="urn:vim25" xsi:type="${fault.faultType}"></${fault.faultType}Fault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
        );
      return;
    }
    const upstream = await this.forward(req, body);
    fault ??= this.take(method, 'reply');
    let data = upstream.body;
    const headers = { ...upstream.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    if (fault?.kind === 'truncate') data = data.subarray(0, Math.floor(data.length / 2));
    if (fault?.kind === 'malformed')
      data = Buffer.from(data.toString('utf8').replace(/<\/(\w+:)?Body>/, '<Body>'));
    if (fault?.kind === 'rewrite') data = Buffer.from(data.toString('utf8').split(fault.from).join(fault.to));
    res.writeHead(upstream.status, headers).end(data);
  }

  private writeHuge(method: string, bytes: number, res: http.ServerResponse): void {
    const head = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><${method}Response xmlns="urn:vim25"><returnval>`;
    const tail = `</returnval></${method}Response></soapenv:Body></soapenv:Envelope>`;
    const chunk = Buffer.from('<x>' + 'a'.repeat(64 * 1024 - 7) + '</x>');
    let left = bytes - head.length - tail.length;
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': String(bytes) });
    res.write(head);
    const pump = (): void => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : Buffer.from('a'.repeat(left));
        left -= piece.length;
        this.hugeBytesSent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end(tail);
    };
    res.on('error', () => undefined);
    pump();
  }

  private forward(
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve) => {
      const up = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: req.method,
          headers: { ...req.headers, host: this.target.host },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      up.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.from('bad gateway') }));
      up.end(body);
    });
  }

  async stop(): Promise<void> {
    for (const r of this.stalled) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
