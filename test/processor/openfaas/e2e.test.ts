/**
 * End to end: govmomi simulator -> the router (in-process, real vCenter
 * stream) -> the openfaas processor -> the test OpenFaaS gateway.
 */
import { total } from '../../../src/metrics/metrics';
import {
  metricsEntry,
  startRouterInProcess,
  vcenterEntry,
  waitFor,
  type InProcessRouter,
} from '../../helpers/e2e';
import { postEvents, startSimulator, type EventSpec, type Simulator } from '../../harness/simulator';
import { DEFAULT_NAMESPACE, OpenFaasGateway } from '../../peers/openfaas-gateway';

const BACKUP_FAILED = 'com.vmware.applmgmt.backup.job.failed.event';
const GW_PASSWORD = 'gw-e2e-secret-4b9a';

interface Body {
  id: string;
  subject: string;
  source: string;
  time: string;
  data: { Key: number; Vm: { Name: string } | null };
}

describe.each([
  ['sync', false],
  ['async', true],
])('simulator -> router -> OpenFaaS gateway (%s)', (_mode, isAsync) => {
  let sim: Simulator;
  let gw: OpenFaasGateway;
  let r: InProcessRouter;

  beforeAll(async () => {
    sim = await startSimulator();
    gw = await OpenFaasGateway.start({ password: GW_PASSWORD });
    gw.deploy({ name: 'power-on', annotations: { topic: 'VmPoweredOnEvent' } });
    gw.deploy({ name: 'power-any', annotations: { topic: ' VmPoweredOnEvent ,  VmPoweredOffEvent ' } });
    gw.deploy({
      name: 'power-on',
      namespace: 'tenant-b',
      annotations: { topic: `VmPoweredOffEvent,${BACKUP_FAILED}` },
    });
    gw.deploy({ name: 'unsubscribed' });
    r = await startRouterInProcess({
      streams: [vcenterEntry(sim)],
      processors: [
        {
          type: 'processor',
          provider: 'openfaas',
          address: gw.url,
          auth: { method: 'basic_auth', secret: { username: 'admin', password: GW_PASSWORD } },
          // A short retry budget: the outage below outlasts it, so its failures are counted.
          options: { async: String(isAsync), topic_refresh_interval: '1', retry_max_duration: '2' },
        },
      ],
      metrics: metricsEntry(),
    });
    await waitFor('the stream to connect', () => r.router.stream.ready());
    await waitFor('the processor to be ready', () => r.router.runner.ready());
  });

  afterAll(async () => {
    await r?.stop();
    await gw?.close();
    await sim?.stop();
  });

  const streamTotal = async (): Promise<number> => total(r.metrics.streamEvents);

  it('delivers every event to exactly its subscribers, in both namespaces; /stats equals what the gateway got', async () => {
    const before = await streamTotal();
    const classes = ['VmPoweredOnEvent', 'VmPoweredOffEvent', 'VmCreatedEvent', 'VmReconfiguredEvent'];
    const specs: EventSpec[] = Array.from({ length: 40 }, (_, i) => ({
      class: classes[i % classes.length],
      entities: 'vm:DC0_H0_VM0',
    }));
    specs.push({ class: 'EventEx', fields: { EventTypeId: BACKUP_FAILED, Message: 'backup failed' } });
    await postEvents(sim, specs);
    const on = 10;
    const off = 10;
    const expected = on /* power-on */ + (on + off) /* power-any */ + (off + 1); /* tenant-b */
    await waitFor(
      'the stream to read every posted event',
      async () => (await streamTotal()) >= before + specs.length,
    );
    await waitFor('every invocation at the gateway', () => gw.delivered().length >= expected);
    await waitFor('every invocation counted', async () => (await total(r.metrics.invocations)) >= expected);

    const got = (name: string, ns = DEFAULT_NAMESPACE): Body[] =>
      gw.delivered(name, ns).map((i) => i.body as Body);
    const subjects = (list: Body[]): Record<string, number> =>
      list.reduce<Record<string, number>>(
        (acc, b) => ({ ...acc, [b.subject]: (acc[b.subject] ?? 0) + 1 }),
        {},
      );
    expect(subjects(got('power-on'))).toEqual({ VmPoweredOnEvent: on });
    expect(subjects(got('power-any'))).toEqual({ VmPoweredOnEvent: on, VmPoweredOffEvent: off });
    expect(subjects(got('power-on', 'tenant-b'))).toEqual({ VmPoweredOffEvent: off, [BACKUP_FAILED]: 1 });
    expect(gw.invocationsOf('unsubscribed')).toHaveLength(0);
    expect(gw.invocations).toHaveLength(expected); // nothing else, nothing retried

    for (const inv of gw.invocations) {
      const body = inv.body as Body;
      expect(inv.path).toBe(`/${isAsync ? 'async-function' : 'function'}/${inv.name}.${inv.namespace}`);
      expect(inv.headers['x-topic']).toBe(body.subject);
      expect(inv.headers['content-type']).toBe('application/json');
      expect(body.source).toBe(sim.url);
      // createdTime to the nanosecond as govmomi prints it (trailing zeros trimmed), not cut to ms.
      expect(body.time).toBe((body.data as unknown as { CreatedTime: string }).CreatedTime);
    }
    expect(gw.invocations.some((inv) => /\.\d{4,9}Z$/.test((inv.body as Body).time))).toBe(true); // sub-ms digits survive
    // Each function got each event once (invocations run concurrently: arrival order is not key order).
    for (const [name, ns] of [
      ['power-on', DEFAULT_NAMESPACE],
      ['power-any', DEFAULT_NAMESPACE],
      ['power-on', 'tenant-b'],
    ]) {
      const bodies = got(name, ns);
      expect(new Set(bodies.map((b) => b.id)).size).toBe(bodies.length);
    }
    // Events nobody subscribes to are counted and dropped: every event read minus the subscribed ones.
    // (vctool's own login adds a UserLoginSessionEvent to what was posted.)
    const read = (await streamTotal()) - before;
    expect(read).toBeGreaterThanOrEqual(specs.length);
    expect(await total(r.metrics.dropped, { processor: 'openfaas', reason: 'no_subscriber' })).toBe(
      read - (on + off + 1),
    );

    // /stats: per-topic invocations equal what the gateway received.
    const stats = (await (await fetch(`${r.metricsUrl}/stats`)).json()) as Record<
      string,
      Record<string, unknown>
    >;
    const of = stats['vmware.event.router.stats'].openfaas as { invocations: Record<string, number> };
    expect(of.invocations).toEqual(gw.deliveredPerTopic());
    expect(of.invocations).toEqual({
      VmPoweredOnEvent: 2 * on,
      VmPoweredOffEvent: 2 * off,
      [BACKUP_FAILED]: 1,
    });
    expect(r.logs.join('\n')).not.toContain(GW_PASSWORD);
  });

  const rebuilds = async (): Promise<number> => {
    const text = await r.metrics.registry.getSingleMetricAsString(
      'vmware_event_router_openfaas_topic_map_rebuilds_total',
    );
    return Number(/_total (\d+)/.exec(text)?.[1] ?? 0);
  };

  it('a re-annotated function receives events from the next topic map rebuild on', async () => {
    gw.annotate('unsubscribed', DEFAULT_NAMESPACE, { topic: 'VmReconfiguredEvent' });
    const seen = await rebuilds();
    await waitFor('a rebuild started after the change', async () => (await rebuilds()) >= seen + 2);
    await postEvents(
      sim,
      [1, 2, 3].map(() => ({ class: 'VmReconfiguredEvent', entities: 'vm:DC0_H0_VM0' })),
    );
    await waitFor(
      'three invocations of the re-annotated function',
      () => gw.delivered('unsubscribed').length === 3,
    );
    expect(gw.delivered('unsubscribed').map((i) => i.headers['x-topic'])).toEqual(
      Array(3).fill('VmReconfiguredEvent'),
    );
  });

  it('the gateway down for a while: the router keeps running, counts the failures, delivers when it is back', async () => {
    const errorsBefore = await total(r.metrics.invocationErrors);
    const deliveredBefore = gw.delivered('power-on').length;
    await gw.down();
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
    // power-on and power-any both fail (after retry_max_duration) while the gateway is away.
    await waitFor(
      'the failures to be counted',
      async () => (await total(r.metrics.invocationErrors)) >= errorsBefore + 2,
    );
    expect(r.router.stream.ready()).toBe(true);
    expect(r.router.runner.ready()).toBe(true);

    await gw.up();
    await postEvents(sim, [{ class: 'VmPoweredOnEvent', entities: 'vm:DC0_H0_VM0' }]);
    await waitFor(
      'delivery after the gateway is back',
      () => gw.delivered('power-on').length === deliveredBefore + 1,
    );
    expect(await total(r.metrics.invocationErrors)).toBe(errorsBefore + 2);
    expect(
      r.logs.some((l) => l.includes('ERROR') && l.includes(`function=power-on.${DEFAULT_NAMESPACE}`)),
    ).toBe(true);
    expect(r.logs.join('\n')).not.toContain(GW_PASSWORD);
  });
});
