/**
 * The contract every sink keeps, run against the sink's own test peer by the
 * compiled router on the govmomi simulator (startStack):
 *
 * - each event the processor's `filter` admits is delivered once; the others
 *   are counted as filtered and never reach the peer;
 * - a transient failure is retried until the event is delivered, once;
 * - a permanent failure is counted as an error and written to the
 *   `dead_letter_file`, never retried;
 * - `/stats` and `/metrics` give the same counts, and they equal what the peer got;
 * - SIGTERM with a delivery the peer never answers: the stop deadline
 *   abandons it and the router exits 0.
 *
 * A sink joins with a `ContractPeer` that makes its peer behave per event
 * class (see CONTRACT_CLASSES). A sink that has no way to fail or to hold a
 * delivery (stdout, event_stream) leaves those checks out, each with the
 * reason (`omit`). Each sink's own tests keep what is particular to it
 * (batching, encodings, auth, topic maps, ...).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ConfigEntry } from '../../src/config/types';
import { postEvents } from '../harness/simulator';
import { startStack, waitFor, type RouterProcess, type Stack } from './e2e';

/** What the peer does with each class of event. */
export const CONTRACT_CLASSES = {
  /** Accepted. */
  delivered: 'VmPoweredOnEvent',
  /** Accepted by the peer, but kept out by the processor's filter. */
  filteredOut: 'VmCreatedEvent',
  /** The first attempt fails transiently (503 or the sink's equivalent), the next is accepted. */
  transient: 'VmPoweredOffEvent',
  /** Refused for good (400 or the sink's equivalent). */
  permanent: 'VmReconfiguredEvent',
  /** Never answered. */
  hang: 'VmSuspendedEvent',
} as const;

const C = CONTRACT_CLASSES;
/** The filter of the processor under contract: every class but filteredOut. */
const FILTER = { subject: [C.delivered, C.transient, C.permanent, C.hang] };

/** A sink's test peer, set up to behave per CONTRACT_CLASSES. */
export interface ContractPeer {
  /**
   * The processor entry that reaches this peer (the contract adds the filter,
   * and `retries` and `dead_letter_file` unless the checks needing them are omitted).
   */
  entry: ConfigEntry;
  /**
   * Called once the router runs, for a peer that is the router itself (what it
   * prints, what it serves).
   */
  attach?(router: RouterProcess): Promise<void>;
  /** The ids of the CloudEvents of `subject` the peer accepted, in arrival order. */
  accepted(subject: string): string[] | Promise<string[]>;
  /** Attempts the peer saw for `subject`, accepted or not. */
  attempts(subject: string): number;
  close(): Promise<void>;
}

/** The checks of the contract that a sink may leave out. */
export type OptionalCheck = 'transient' | 'permanent' | 'stopDeadline';

export interface ContractOptions {
  /**
   * Checks that cannot apply to this sink, each with the reason: they are not
   * registered at all (delivered once, the filter and the counts always are).
   */
  omit?: Partial<Record<OptionalCheck, string>>;
}

/** Counter values of one metric in a /metrics text, by their label set (`a="x",b="y"`). */
export function metricValues(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

const PREFIX = 'vmware_event_router_';

/** Runs the contract for `provider` against the peer `startPeer` sets up. */
export function sinkContract(
  provider: string,
  startPeer: () => Promise<ContractPeer>,
  options: ContractOptions = {},
): void {
  const applies = (check: OptionalCheck): boolean => options.omit?.[check] === undefined;
  describe(`${provider}: the sink contract`, () => {
    let peer: ContractPeer;
    let stack: Stack;
    let deadLetters: string;
    const name = `${provider}-contract`;

    const metrics = async (): Promise<string> => (await fetch(`${stack.router.metricsUrl}/metrics`)).text();
    const counter = async (metric: string, labels: string): Promise<number> =>
      metricValues(await metrics(), PREFIX + metric).get(labels) ?? 0;
    /** Retries of this processor, whatever their reason. */
    const retries = async (): Promise<number> =>
      [...metricValues(await metrics(), PREFIX + 'processor_retries_total')]
        .filter(([labels]) => labels.includes(`processor="${name}"`))
        .reduce((n, [, v]) => n + v, 0);
    const invocations = (subject: string) =>
      counter('processor_invocations_total', `processor="${name}",subject="${subject}"`);

    beforeAll(async () => {
      peer = await startPeer();
      deadLetters = path.join(mkdtempSync(path.join(os.tmpdir(), 'ver-contract-')), 'dead-letters.jsonl');
      stack = await startStack({
        processors: [
          {
            ...peer.entry,
            name,
            filter: FILTER,
            options: {
              ...peer.entry.options,
              // Options of failing sinks: one that cannot fail has neither.
              ...(applies('transient') ? { retries: '5' } : {}),
              ...(applies('permanent') ? { dead_letter_file: deadLetters } : {}),
            },
          },
        ],
      });
      await peer.attach?.(stack.router);
    });
    afterAll(async () => {
      await stack?.stop();
      await peer?.close();
    });

    test('what the filter admits is delivered once, the rest is counted as filtered', async () => {
      // The filtered ones first: the runner takes events in order, so once the last is delivered
      // the filter has decided on every one before it.
      await postEvents(stack.sim, [
        ...Array.from({ length: 3 }, () => ({ class: C.filteredOut, entities: 'vm:DC0_H0_VM0' })),
        ...Array.from({ length: 5 }, () => ({ class: C.delivered, entities: 'vm:DC0_H0_VM0' })),
      ]);
      await waitFor('5 events counted as delivered', async () => (await invocations(C.delivered)) === 5);
      const ids = await peer.accepted(C.delivered);
      expect(ids).toHaveLength(5);
      expect(new Set(ids).size).toBe(5);
      expect(peer.attempts(C.filteredOut)).toBe(0);
      // vctool's login event is filtered too: at least the three posted.
      expect(await counter('processor_filtered_total', `processor="${name}"`)).toBeGreaterThanOrEqual(3);
    });

    if (applies('transient'))
      test('a transient failure is retried until the event is delivered, once', async () => {
        const retriesBefore = await retries();
        await postEvents(stack.sim, [{ class: C.transient, entities: 'vm:DC0_H0_VM0' }]);
        await waitFor(
          'the event delivered after a retry',
          async () => (await invocations(C.transient)) === 1,
        );
        expect(await peer.accepted(C.transient)).toHaveLength(1);
        expect(peer.attempts(C.transient)).toBe(2);
        expect(await retries()).toBe(retriesBefore + 1);
        expect(await counter('processor_errors_total', `processor="${name}",subject="${C.transient}"`)).toBe(
          0,
        );
      });

    if (applies('permanent'))
      test('a permanent failure is counted and dead-lettered, not retried', async () => {
        await postEvents(stack.sim, [{ class: C.permanent, entities: 'vm:DC0_H0_VM0' }]);
        const errors = () =>
          counter('processor_errors_total', `processor="${name}",subject="${C.permanent}"`);
        const deadLettered = () => counter('processor_dead_lettered_total', `processor="${name}"`);
        // The error is counted, then the event written to the file and counted there.
        await waitFor('the failure dead-lettered', async () => (await deadLettered()) === 1);
        expect(await errors()).toBe(1);
        const lines = readFileSync(deadLetters, 'utf8').trim().split('\n');
        expect(lines).toHaveLength(1);
        const letter = JSON.parse(lines[0]) as { event: { subject: string } };
        expect(letter.event.subject).toBe(C.permanent);
        expect(await peer.accepted(C.permanent)).toHaveLength(0);
        expect(peer.attempts(C.permanent)).toBe(1);
        expect(await invocations(C.permanent)).toBe(0);
      });

    test('/stats and /metrics give the same counts, equal to what the peer accepted', async () => {
      const stats = (await (await fetch(`${stack.router.metricsUrl}/stats`)).json()) as {
        'vmware.event.router.stats': Record<
          string,
          { invocations: Record<string, number>; filtered?: number }
        >;
      };
      // One processor of its provider: /stats names it by the provider, as the original router did.
      const ours = stats['vmware.event.router.stats'][provider];
      const text = await metrics();
      const fromMetrics: Record<string, number> = {};
      for (const [labels, v] of metricValues(text, PREFIX + 'processor_invocations_total')) {
        const m = new RegExp(`processor="${name}",subject="([^"]+)"`).exec(labels);
        if (m) fromMetrics[m[1]] = v;
      }
      expect(ours.invocations).toEqual(fromMetrics);
      // Delivered: the delivered class, and the transient one once it got through.
      const deliveredClasses = applies('transient') ? [C.delivered, C.transient] : [C.delivered];
      const accepted: Record<string, number> = {};
      for (const c of deliveredClasses) accepted[c] = (await peer.accepted(c)).length;
      expect(ours.invocations).toEqual(accepted);
      expect(ours.filtered).toBe(
        metricValues(text, PREFIX + 'processor_filtered_total').get(`processor="${name}"`),
      );
    });

    if (applies('stopDeadline'))
      test('SIGTERM with a delivery the peer never answers: abandoned at the stop deadline, exit 0', async () => {
        await postEvents(stack.sim, [{ class: C.hang, entities: 'vm:DC0_H0_VM0' }]);
        await waitFor('the peer holding the delivery', () => peer.attempts(C.hang) === 1);
        expect(await stack.router.stop('SIGTERM')).toBe(0);
        expect(stack.router.stderr()).toMatch(/deliveries still in flight at the stop deadline: abandoned/);
        expect(await peer.accepted(C.hang)).toHaveLength(0);
      });
  });
}

/** The subject of the CloudEvent in an HTTP request: structured body, binary `ce-subject`, or OpenFaaS' `X-Topic`. */
function subjectOf(req: IncomingMessage, body: string): string {
  const header = req.headers['ce-subject'] ?? req.headers['x-topic'];
  if (typeof header === 'string') return header;
  try {
    return String((JSON.parse(body) as { subject?: unknown }).subject ?? '');
  } catch {
    return '';
  }
}

/**
 * An HTTP front for a peer that takes one CloudEvent per request (OpenFaaS,
 * Knative): it answers per CONTRACT_CLASSES and passes the rest on to the
 * peer, so the peer records only what it accepted. `transient` and
 * `permanent` are the statuses the sink must read as such.
 */
export class ContractProxy {
  private readonly seen = new Map<string, number>();
  private readonly held = new Set<() => void>();
  private server: Server | undefined;

  private constructor(
    private readonly target: URL,
    private readonly statuses: { transient: number; permanent: number },
  ) {}

  static async start(target: string, statuses = { transient: 503, permanent: 400 }): Promise<ContractProxy> {
    const p = new ContractProxy(new URL(target), statuses);
    p.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const subject = subjectOf(req, body.toString('utf8'));
        const n = (p.seen.get(subject) ?? 0) + 1;
        if (req.method === 'POST') p.seen.set(subject, n);
        if (req.method === 'POST' && subject === C.transient && n === 1)
          return res.writeHead(p.statuses.transient).end('try later');
        if (req.method === 'POST' && subject === C.permanent)
          return res.writeHead(p.statuses.permanent).end('bad');
        if (req.method === 'POST' && subject === C.hang) {
          p.held.add(() => res.destroy());
          return;
        }
        const fwd = request(
          {
            host: p.target.hostname,
            port: p.target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        fwd.on('error', () => res.destroy());
        fwd.end(body);
      });
    });
    await new Promise<void>((r) => p.server!.listen(0, '127.0.0.1', r));
    return p;
  }

  /** The proxy's URL with the target's path. */
  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}${this.target.pathname === '/' ? '' : this.target.pathname}`;
  }

  /** POSTs of `subject` that reached the proxy. */
  attempts(subject: string): number {
    return this.seen.get(subject) ?? 0;
  }

  async close(): Promise<void> {
    for (const release of this.held) release();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
