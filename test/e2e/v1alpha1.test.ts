/**
 * Issue 15: the router started on YAML RouterConfig files written as v0.7's
 * examples are (deploy/event-router-config-vcenter-openfaas.yaml and
 * -vcenter-aws.yaml / -vcenter-aws-iam-role-auth.yaml, only addresses and
 * credentials changed) delivers what its JSON-array twin delivers: each is
 * run in turn against the same simulator and the same posted events; what
 * reached the peer is compared without the attributes that differ per
 * posting (id, time, the event's Key/ChainId/CreatedTime).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigEntry } from '../../src/config/types';
import { postEvents, startSimulator, type Simulator } from '../harness/simulator';
import { buildHarness } from '../harness/simulator';
import {
  metricsEntry,
  startRouterProcess,
  vcenterEntry,
  waitFor,
  type RouterProcess,
  routerReady,
} from '../helpers/e2e';
import type { EventBridgeEndpoint } from '../peers/eventbridge-endpoint';
import { OpenFaasGateway } from '../peers/openfaas-gateway';
import { ARN, KEY_ID, REGION, SECRET, startEndpoint } from '../processor/aws_event_bridge/helpers';

jest.setTimeout(240_000);

const GW_PASSWORD = 'gw-yaml-secret-31d';

const vcenterSection = (sim: Simulator): string => `eventProvider:
  type: vcenter
  name: veba-demo-vc-01
  vcenter:
    address: ${sim.url}
    insecureSSL: true
    checkpoint: false
    auth:
      type: basic_auth
      basicAuth:
        username: ${sim.username}
        password: ${sim.password}
`;

const metricsSection = `metricsProvider:
  type: default
  name: veba-demo-metrics
  default:
    bindAddress: "127.0.0.1:0"
# disabling auth for the metrics endpoint
#    auth:
#      type: basic_auth
#      basicAuth:
#        username: admin
#        password: ReplaceMe
`;

const header = (name: string): string => `apiVersion: event-router.vmware.com/v1alpha1
kind: RouterConfig
metadata:
  name: ${name}
  labels:
    key: value
`;

const twinStream = (sim: Simulator): ConfigEntry => ({
  ...vcenterEntry(sim),
  name: 'veba-demo-vc-01',
  options: { insecure: true, checkpoint: false },
});

async function ready(r: RouterProcess): Promise<void> {
  await routerReady(r);
}

const specs = Array.from({ length: 24 }, (_, i) => ({
  class: ['VmPoweredOnEvent', 'VmPoweredOffEvent', 'VmCreatedEvent'][i % 3],
  entities: 'vm:DC0_H0_VM0',
}));

/** The event's data without what differs per posting. */
function normalized(data: unknown): unknown {
  const rest = { ...(data as Record<string, unknown>) };
  for (const k of ['Key', 'ChainId', 'CreatedTime']) delete rest[k];
  return rest;
}

/** Start the router on `config`, post the events once it is ready, wait until `done`, stop it. */
async function runInTurn(
  config: unknown,
  done: () => boolean,
  secret: string,
  env: Record<string, string> = {},
): Promise<void> {
  const r = await startRouterProcess(config, [], env);
  try {
    await ready(r).catch((err: Error) => {
      throw new Error(`${err.message}\n${r.stderr()}`);
    });
    await postEvents(sim, specs);
    await waitFor('the events at the peer', done).catch((err: Error) => {
      throw new Error(`${err.message}\n${r.stderr()}`);
    });
    expect(r.stderr()).not.toContain(secret);
  } finally {
    await r.stop();
  }
}

let sim: Simulator;
beforeAll(async () => {
  buildHarness();
  sim = await startSimulator();
});
afterAll(async () => sim?.stop());

test('vcenter -> openfaas: the YAML RouterConfig and its JSON twin invoke the same functions with the same events', async () => {
  const gws = [
    await OpenFaasGateway.start({ password: GW_PASSWORD }),
    await OpenFaasGateway.start({ password: GW_PASSWORD }),
  ];
  for (const gw of gws) {
    gw.deploy({ name: 'power-on', annotations: { topic: 'VmPoweredOnEvent' } });
    gw.deploy({ name: 'power-any', annotations: { topic: 'VmPoweredOnEvent,VmPoweredOffEvent' } });
  }
  try {
    await runInTurn(
      header('router-config-vcenter-openfaas') +
        vcenterSection(sim) +
        `eventProcessor:
  type: openfaas
  name: veba-demo-openfaas
  openfaas:
    address: ${gws[0].url}
    async: false
    # assuming basic_auth enabled for OpenFaaS
    auth:
      type: basic_auth
      basicAuth:
        username: admin
        password: ${GW_PASSWORD}
` +
        metricsSection,
      () => gws[0].invocations.length >= 24,
      GW_PASSWORD,
    );
    await runInTurn(
      [
        twinStream(sim),
        {
          type: 'processor',
          provider: 'openfaas',
          name: 'veba-demo-openfaas',
          address: gws[1].url,
          auth: { method: 'basic_auth', secret: { username: 'admin', password: GW_PASSWORD } },
          options: { async: false },
        },
        metricsEntry(),
      ],
      () => gws[1].invocations.length >= 24,
      GW_PASSWORD,
    );
    // 8 power-on events to 2 functions, 8 power-off events to 1.
    const view = (g: OpenFaasGateway): string[] =>
      g.invocations
        .map((i) => {
          const b = i.body as { id: string; type: string; subject: string; source: string; data: unknown };
          return JSON.stringify([i.name, i.outcome, b.type, b.subject, b.source, normalized(b.data)]);
        })
        .sort();
    expect(view(gws[0])).toHaveLength(24);
    expect(new Set(gws[0].invocations.map((i) => `${i.name} ${(i.body as { id: string }).id}`)).size).toBe(
      24,
    );
    expect(view(gws[0])).toEqual(view(gws[1]));
  } finally {
    for (const g of gws) await g.close();
  }
});

test('vcenter -> awsEventBridge (aws_access_key, and aws_iam_role through the default chain): what the JSON twin puts', async () => {
  const eps: EventBridgeEndpoint[] = [];
  const awsSection = (auth: string): string => `eventProcessor:
  type: aws_event_bridge
  name: veba-demo-aws
  awsEventBridge:
    eventBus: default
    region: ${REGION}
    ruleARN: ${ARN}
    auth:
${auth}`;
  try {
    for (let i = 0; i < 3; i++) eps.push(await startEndpoint());
    // v1alpha1 has no endpoint key: the AWS SDK's own endpoint variable points the router at the test endpoint.
    const spawnWith = async (ep: EventBridgeEndpoint, config: unknown, env: Record<string, string> = {}) =>
      // The seed pattern matches power-on and power-off: 16 of the 24.
      runInTurn(config, () => ep.entries.length >= 16, SECRET, {
        AWS_ENDPOINT_URL_EVENTBRIDGE: ep.url,
        ...env,
      });
    await spawnWith(
      eps[0],
      header('router-config-vcenter-aws') +
        vcenterSection(sim) +
        awsSection(
          `      type: aws_access_key\n      awsAccessKeyAuth:\n        accessKey: ${KEY_ID}\n        secretKey: ${SECRET}\n`,
        ) +
        metricsSection,
    );
    await spawnWith(
      eps[1],
      header('router-config-vcenter-aws') +
        vcenterSection(sim) +
        awsSection('      type: aws_iam_role\n') +
        metricsSection,
      {
        AWS_ACCESS_KEY_ID: KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      },
    );
    await spawnWith(eps[2], [
      twinStream(sim),
      {
        type: 'processor',
        provider: 'aws_event_bridge',
        name: 'veba-demo-aws',
        auth: { method: 'access_key', secret: { aws_access_key_id: KEY_ID, aws_secret_access_key: SECRET } },
        options: {
          aws_region: REGION,
          aws_eventbridge_event_bus: 'default',
          aws_eventbridge_rule_arn: ARN,
          aws_eventbridge_endpoint: eps[2].url,
        },
      },
      metricsEntry(),
    ]);
    const view = (e: EventBridgeEndpoint): string[] =>
      e.entries
        .map((x) => {
          const d = JSON.parse(x.Detail) as { subject: string; type: string; data: unknown };
          return JSON.stringify([
            x.Source,
            x.DetailType,
            x.EventBusName,
            d.type,
            d.subject,
            normalized(d.data),
          ]);
        })
        .sort();
    expect(view(eps[2])).toHaveLength(16);
    expect(view(eps[0])).toEqual(view(eps[2]));
    expect(view(eps[1])).toEqual(view(eps[2]));
  } finally {
    for (const e of eps) await e.close();
  }
});

test('vcenter with checkpoint: true and checkpointDir: events missed while the router was down are delivered after its restart', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ver-v1a1-ckpt-'));
  const gw = await OpenFaasGateway.start({ password: GW_PASSWORD });
  gw.deploy({ name: 'power-any', annotations: { topic: 'VmPoweredOnEvent,VmPoweredOffEvent' } });
  const yaml =
    header('router-config-vcenter-openfaas') +
    vcenterSection(sim).replace('checkpoint: false', `checkpoint: true\n    checkpointDir: ${dir}`) +
    `eventProcessor:
  type: openfaas
  name: veba-demo-openfaas
  openfaas:
    address: ${gw.url}
    async: false
    auth:
      type: basic_auth
      basicAuth:
        username: admin
        password: ${GW_PASSWORD}
` +
    metricsSection;
  try {
    // First run: 16 power events (2 of every 3 posted) reach the function; the stop writes the checkpoint.
    await runInTurn(yaml, () => gw.invocations.length >= 16, GW_PASSWORD);
    expect(readdirSync(dir)).toEqual(['veba-demo-vc-01.checkpoint.json']);
    // While it is down: 24 more events; the restarted router resumes after the checkpoint and delivers them.
    await postEvents(sim, specs);
    const r = await startRouterProcess(yaml);
    try {
      await waitFor('the missed events', () => gw.invocations.length >= 32);
      expect(r.stderr()).toMatch(/resuming after the checkpoint/);
      const ids = gw.invocations.map((i) => (i.body as { id: string }).id);
      expect(new Set(ids).size).toBe(32);
    } finally {
      await r.stop();
    }
  } finally {
    await gw.close();
  }
});
