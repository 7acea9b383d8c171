/**
 * The v0.7/v0.8 router's configuration: a YAML (or JSON) `RouterConfig`
 * document, `apiVersion: event-router.vmware.com/v1alpha1`. It is validated
 * against its own JSON Schema (unknown keys rejected, as the original decodes
 * strictly), then mapped onto the entries of today's JSON array, which go
 * through the array's validation too.
 */
import type { JsonSchema } from './json-schema';
import { isSecretKey, type ConfigEntry, type OptionValue } from './types';

export const V1ALPHA1_API_VERSION = 'event-router.vmware.com/v1alpha1';
export const V1ALPHA1_KIND = 'RouterConfig';

/** A document that declares itself a RouterConfig (either key is enough to pick this format). */
export function isV1alpha1(data: unknown): data is Record<string, unknown> {
  return (
    data !== null &&
    typeof data === 'object' &&
    !Array.isArray(data) &&
    ('apiVersion' in (data as object) || 'kind' in (data as object))
  );
}

const str = (description?: string): JsonSchema => ({
  type: 'string',
  ...(description ? { description } : {}),
});
const bool = (description?: string): JsonSchema => ({
  type: 'boolean',
  ...(description ? { description } : {}),
});

function obj(
  properties: Record<string, JsonSchema>,
  required: string[] = [],
  extra: JsonSchema = {},
): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false, ...extra };
}

/** `type` selects the section named `sections[type]`, which is then required. */
function selects(sections: Record<string, string>): JsonSchema[] {
  return Object.entries(sections).map(([type, section]) => ({
    if: { properties: { type: { const: type } }, required: ['type'] },
    then: { required: [section] },
  }));
}

const authMethod: JsonSchema = obj(
  {
    type: {
      type: 'string',
      enum: ['basic_auth', 'aws_access_key', 'aws_iam_role', 'active_directory'],
      description: 'The authentication method to use',
    },
    basicAuth: obj(
      { username: str(), password: { type: 'string', writeOnly: true } },
      ['username', 'password'],
      {
        description: 'Basic authentication with username and password',
      },
    ),
    awsAccessKeyAuth: obj(
      { accessKey: str(), secretKey: { type: 'string', writeOnly: true } },
      ['accessKey', 'secretKey'],
      { description: 'AWS authentication with access and secret key' },
    ),
    activeDirectoryAuth: obj(
      { domain: str(), username: str(), password: { type: 'string', writeOnly: true } },
      ['domain', 'username', 'password'],
      { description: 'Active Directory (Horizon only: not supported)' },
    ),
  },
  ['type'],
  {
    description: 'Authentication configuration for this section',
    allOf: selects({
      basic_auth: 'basicAuth',
      aws_access_key: 'awsAccessKeyAuth',
      active_directory: 'activeDirectoryAuth',
    }),
  },
);

const vcenterSection = (description: string): JsonSchema =>
  obj(
    {
      address: str('vCenter SDK URL, e.g. https://my-vcenter01.domain.local/sdk'),
      insecureSSL: bool('Skip TLS certificate verification (options.insecure)'),
      checkpoint: bool('Resume after a restart from the newest acknowledged event (options.checkpoint)'),
      checkpointDir: str('Directory of the checkpoint files (options.checkpoint_dir)'),
      auth: authMethod,
    },
    ['address', 'insecureSSL'],
    { description },
  );

const uriObject: JsonSchema = obj(
  { scheme: { type: 'string', enum: ['http', 'https'] }, host: str('HOST[:PORT]'), path: str('URL path') },
  ['host'],
  { description: 'The destination URL as its parts (http when scheme is left out)' },
);

export const v1alpha1Schema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/vmware-event-router/routerconfig-v1alpha1.schema.json',
  title: 'vmware-event-router RouterConfig (event-router.vmware.com/v1alpha1)',
  description:
    'The v0.7/v0.8 YAML configuration: one event provider, one event processor, one metrics provider. Mapped onto the JSON-array configuration.',
  ...obj(
    {
      apiVersion: { type: 'string', const: V1ALPHA1_API_VERSION },
      kind: { type: 'string', const: V1ALPHA1_KIND },
      metadata: obj({ name: str(), labels: { type: 'object', additionalProperties: { type: 'string' } } }, [
        'name',
      ]),
      eventProvider: obj(
        {
          type: { type: 'string', enum: ['vcenter', 'vcsim', 'webhook', 'horizon'] },
          name: str('Name of the stream in logs, metrics, /stats and /readyz'),
          vcenter: vcenterSection('vCenter Server event provider'),
          vcsim: vcenterSection('vCenter simulator (read as vcenter)'),
          webhook: obj(
            {
              bindAddress: str('HOST:PORT the webhook listens on'),
              path: str('URL path that accepts CloudEvents (default /webhook)'),
              auth: authMethod,
            },
            ['bindAddress'],
          ),
          horizon: { type: 'object', description: 'VMware Horizon: not supported by this router' },
        },
        ['type', 'name'],
        { allOf: selects({ vcenter: 'vcenter', vcsim: 'vcsim', webhook: 'webhook', horizon: 'horizon' }) },
      ),
      eventProcessor: obj(
        {
          type: { type: 'string', enum: ['openfaas', 'aws_event_bridge', 'awsEventBridge', 'knative'] },
          name: str('Name of the processor in logs, metrics, /stats and /readyz'),
          openfaas: obj(
            {
              address: str('OpenFaaS gateway address'),
              async: bool('Use async function invocation mode'),
              auth: authMethod,
            },
            ['address', 'async'],
          ),
          awsEventBridge: obj({ region: str(), eventBus: str(), ruleARN: str(), auth: authMethod }, [
            'region',
            'eventBus',
            'ruleARN',
            'auth',
          ]),
          knative: obj(
            {
              encoding: { type: 'string', enum: ['binary', 'structured'] },
              insecureSSL: bool('Skip TLS certificate verification of an https destination'),
              destination: obj(
                {
                  uri: { anyOf: [{ type: 'string' }, uriObject] },
                  ref: {
                    type: 'object',
                    description: 'A Kubernetes object reference (needs the Kubernetes API: not supported)',
                  },
                },
                [],
                { minProperties: 1 },
              ),
              auth: authMethod,
            },
            ['destination'],
          ),
        },
        ['type', 'name'],
        {
          allOf: selects({
            openfaas: 'openfaas',
            aws_event_bridge: 'awsEventBridge',
            awsEventBridge: 'awsEventBridge',
            knative: 'knative',
          }),
        },
      ),
      metricsProvider: obj(
        {
          type: { type: 'string', const: 'default' },
          name: str(),
          default: obj(
            { bindAddress: str('HOST:PORT of /metrics, /stats, /healthz, /readyz'), auth: authMethod },
            ['bindAddress'],
          ),
        },
        ['type', 'name', 'default'],
      ),
      certificates: obj(
        {
          rootCAs: {
            type: 'array',
            items: { type: 'string' },
            description:
              'PEM files of CAs trusted, besides the public CAs, for the vCenter and every processor (the router entry options.root_cas)',
          },
        },
        [],
        { description: 'PEM files of root CAs to trust' },
      ),
    },
    ['apiVersion', 'kind', 'metadata', 'eventProvider', 'eventProcessor', 'metricsProvider'],
  ),
};

/** Paths whose values are never shown in messages. */
export function isV1alpha1SecretPath(path: string): boolean {
  return /\/auth\/(basicAuth|awsAccessKeyAuth|activeDirectoryAuth)\/(password|secretKey)$/.test(path);
}

/** Every password and secret key of the document (registered for redaction before anything is logged). */
export function v1alpha1Secrets(data: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (v === null || typeof v !== 'object') {
      if (isSecretKey(key) && typeof v === 'string' && v) out.push(v);
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, k);
  };
  walk(data, '');
  return out;
}

interface Auth {
  type: string;
  basicAuth?: { username: string; password: string };
  awsAccessKeyAuth?: { accessKey: string; secretKey: string };
}

/** One mapped entry, and where in the document it came from (for the array validation's messages). */
export interface MappedEntry {
  entry: ConfigEntry;
  from: string;
}

export interface MapResult {
  entries: MappedEntry[];
  problems: string[];
}

function basicOrNone(auth: Auth | undefined, path: string, problems: string[]): ConfigEntry['auth'] {
  if (!auth) return { method: 'none' };
  if (auth.type === 'basic_auth' && auth.basicAuth)
    return {
      method: 'basic_auth',
      secret: { username: auth.basicAuth.username, password: auth.basicAuth.password },
    };
  problems.push(
    `${path}/type: auth type "${auth.type}" is not supported here (use basic_auth, or leave auth out)`,
  );
  return undefined;
}

/** Map a document that passed v1alpha1Schema onto array entries; problems say what cannot be mapped and why. */
export function mapV1alpha1(doc: Record<string, unknown>): MapResult {
  const problems: string[] = [];
  const entries: MappedEntry[] = [];
  const provider = doc.eventProvider as Record<string, unknown> & { type: string; name: string };
  const processor = doc.eventProcessor as Record<string, unknown> & { type: string; name: string };
  const metrics = doc.metricsProvider as { default: { bindAddress: string; auth?: Auth } };

  // The root CAs: the router entry's root_cas, trusted by the vCenter and every processor alike.
  const rootCAs = (doc.certificates as { rootCAs?: string[] } | undefined)?.rootCAs ?? [];
  if (rootCAs.length > 0)
    entries.push({
      from: '/certificates/rootCAs',
      entry: { type: 'router', provider: 'event_log', options: { root_cas: rootCAs } },
    });

  // The event provider: one stream.
  switch (provider.type) {
    case 'vcenter':
    case 'vcsim': {
      const from = `/eventProvider/${provider.type}`;
      const vc = provider[provider.type] as {
        address: string;
        insecureSSL: boolean;
        checkpoint?: boolean;
        checkpointDir?: string;
        auth?: Auth;
      };
      const options: Record<string, OptionValue> = { insecure: vc.insecureSSL };
      if (vc.checkpoint !== undefined) options.checkpoint = vc.checkpoint;
      if (vc.checkpointDir !== undefined) options.checkpoint_dir = vc.checkpointDir;
      let auth: ConfigEntry['auth'];
      if (vc.auth?.type === 'basic_auth' && vc.auth.basicAuth)
        auth = {
          method: 'user_password',
          secret: { username: vc.auth.basicAuth.username, password: vc.auth.basicAuth.password },
        };
      else if (vc.auth)
        problems.push(
          `${from}/auth/type: auth type "${vc.auth.type}" is not supported for vCenter (use basic_auth)`,
        );
      else
        problems.push(
          `${from}: missing required key "auth" (vCenter needs basic_auth with username and password)`,
        );
      entries.push({
        from,
        entry: {
          type: 'stream',
          provider: 'vmware_vcenter',
          name: provider.name,
          address: vc.address,
          ...(auth ? { auth } : {}),
          options,
        },
      });
      break;
    }
    case 'webhook': {
      const from = '/eventProvider/webhook';
      const wh = provider.webhook as { bindAddress: string; path?: string; auth?: Auth };
      const auth = basicOrNone(wh.auth, `${from}/auth`, problems);
      entries.push({
        from,
        entry: {
          type: 'stream',
          provider: 'webhook',
          name: provider.name,
          address: wh.bindAddress,
          ...(auth ? { auth } : {}),
          options: wh.path !== undefined ? { path: wh.path } : {},
        },
      });
      break;
    }
    case 'horizon':
      problems.push(
        '/eventProvider/type: the horizon event provider is not supported by this router (use vcenter, vcsim or webhook)',
      );
      break;
  }

  // The event processor.
  switch (processor.type) {
    case 'openfaas': {
      const from = '/eventProcessor/openfaas';
      const of = processor.openfaas as { address: string; async: boolean; auth?: Auth };
      const auth = basicOrNone(of.auth, `${from}/auth`, problems);
      entries.push({
        from,
        entry: {
          type: 'processor',
          provider: 'openfaas',
          name: processor.name,
          address: of.address,
          ...(auth ? { auth } : {}),
          options: { async: of.async },
        },
      });
      break;
    }
    case 'aws_event_bridge':
    case 'awsEventBridge': {
      const from = '/eventProcessor/awsEventBridge';
      const eb = processor.awsEventBridge as {
        region: string;
        eventBus: string;
        ruleARN: string;
        auth: Auth;
      };
      let auth: ConfigEntry['auth'];
      if (eb.auth.type === 'aws_access_key' && eb.auth.awsAccessKeyAuth)
        auth = {
          method: 'access_key',
          secret: {
            aws_access_key_id: eb.auth.awsAccessKeyAuth.accessKey,
            aws_secret_access_key: eb.auth.awsAccessKeyAuth.secretKey,
          },
        };
      else if (eb.auth.type !== 'aws_iam_role')
        problems.push(
          `${from}/auth/type: auth type "${eb.auth.type}" is not supported for EventBridge (use aws_access_key, or aws_iam_role for the AWS default credential chain)`,
        );
      entries.push({
        from,
        entry: {
          type: 'processor',
          provider: 'aws_event_bridge',
          name: processor.name,
          ...(auth ? { auth } : {}),
          options: {
            aws_region: eb.region,
            aws_eventbridge_event_bus: eb.eventBus,
            aws_eventbridge_rule_arn: eb.ruleARN,
          },
        },
      });
      break;
    }
    case 'knative': {
      const from = '/eventProcessor/knative';
      const kn = processor.knative as {
        encoding?: string;
        insecureSSL?: boolean;
        destination: { uri?: string | { scheme?: string; host: string; path?: string }; ref?: unknown };
        auth?: Auth;
      };
      const { uri, ref } = kn.destination;
      let address: string | undefined;
      if (typeof uri === 'string') address = uri;
      else if (uri) {
        const p = uri.path ?? '';
        address = `${uri.scheme ?? 'http'}://${uri.host}${p && !p.startsWith('/') ? '/' : ''}${p}`;
      }
      if (ref !== undefined)
        problems.push(
          `${from}/destination/ref: a Kubernetes object reference needs the Kubernetes API, which this router does not use: give the destination's address as destination.uri (e.g. the Broker's ingress URL http://broker-ingress.knative-eventing.svc.cluster.local/NAMESPACE/NAME)`,
        );
      else if (address === undefined)
        problems.push(`${from}/destination: missing required key "uri" (the destination URL)`);
      const auth = basicOrNone(kn.auth, `${from}/auth`, problems);
      const options: Record<string, OptionValue> = {};
      if (kn.encoding !== undefined) options.encoding = kn.encoding;
      if (kn.insecureSSL !== undefined) options.insecure = kn.insecureSSL;
      if (address !== undefined)
        entries.push({
          from,
          entry: {
            type: 'processor',
            provider: 'knative',
            name: processor.name,
            address,
            ...(auth ? { auth } : {}),
            options,
          },
        });
      break;
    }
  }

  // The metrics provider.
  const from = '/metricsProvider/default';
  const auth = basicOrNone(metrics.default.auth, `${from}/auth`, problems);
  entries.push({
    from,
    entry: {
      type: 'metrics',
      provider: 'internal',
      address: metrics.default.bindAddress,
      ...(auth ? { auth } : {}),
    },
  });
  return { entries, problems };
}
