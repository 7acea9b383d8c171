/**
 * A test Kubernetes API server: a real HTTP(S) server implementing the
 * `coordination.k8s.io/v1` Lease REST API as the Kubernetes API reference
 * specifies it (no Kubernetes API server is packaged for the tests).
 *
 * - `GET/POST /apis/coordination.k8s.io/v1/namespaces/{ns}/leases` (list, create);
 *   `GET/PUT/DELETE .../leases/{name}`.
 * - One resourceVersion counter for the whole server, bumped on every write,
 *   as etcd's revision is. A PUT whose `metadata.resourceVersion` is not the
 *   current one is a 409 `Conflict`; a PUT without one is an unconditional
 *   update (allowed for Leases). A POST of an existing name is a 409
 *   `AlreadyExists`; an object that is not there a 404 `NotFound` (on create:
 *   `namespaces "x" not found` when the namespace does not exist); a name that
 *   is not a DNS-1123 subdomain, or a bad spec, a 422 `Invalid`.
 * - Bearer tokens: none or an unknown one is a 401 `Unauthorized`; a
 *   namespace the tokens may not use a 403 `Forbidden` worded as RBAC words it.
 * - Every error body is a `Status` object (`kind: Status`, `apiVersion: v1`,
 *   `status: Failure`, message, reason, details, code).
 *
 * Tests control the valid tokens (rotation), the namespaces, refusing every
 * request (503 or cut connections, as an API server that is gone), stopping
 * and starting on the same port; they read the request log and read or plant
 * objects directly. Run alone (`node dist/test/peers/kubernetes-api.js --port P
 * --token T [--namespace NS]... [--tls-cert F --tls-key F]`) it prints
 * `{"url": ..., "pid": N}` once it serves (the harness's ready line);
 * SIGUSR1 makes it refuse (503) and SIGUSR2 serve again.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { RestartableServer } from './restartable-server';

export const GROUP = 'coordination.k8s.io';
export const API_VERSION = `${GROUP}/v1`;
const RESOURCE = `leases.${GROUP}`;
const LEASES_PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?\/?$/;

export interface LeaseObject {
  apiVersion: string;
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason: string; message: string; field: string }[];
  };
  code: number;
}

export interface ApiRequest {
  method: string;
  path: string;
  /** Whether an `Authorization: Bearer` header came with it. */
  bearer: boolean;
  /** What the server answered; 0 when the connection was cut. */
  status: number;
}

export interface KubernetesApiOptions {
  /** Accepted bearer tokens (default: one, `test-token`). */
  tokens?: string[];
  /** Namespaces that exist (default `default` and `vmware`). */
  namespaces?: string[];
  /** Namespaces the tokens may use (default: every existing one). */
  allowedNamespaces?: string[];
  /** The service account the tokens stand for, as 403 messages name it. */
  serviceAccount?: { namespace: string; name: string };
  port?: number;
  /** Serve https with this key and certificate (PEM text), e.g. issued by the test CA. */
  tls?: { key: string; cert: string };
}

/** DNS-1123 subdomain, as metadata.name of a Lease must be. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
/** A qualified name (label and annotation keys): an optional DNS subdomain prefix and a name of at most 63. */
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** Annotations of one object together, keys and values. */
const MAX_ANNOTATION_BYTES = 256 * 1024;
const MICRO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

type Verb = 'get' | 'list' | 'create' | 'update' | 'delete';

class ApiError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
}

function status(code: number, reason: string, message: string, details?: StatusBody['details']): ApiError {
  return new ApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

export class KubernetesApi {
  readonly requests: ApiRequest[] = [];
  private readonly objects = new Map<string, LeaseObject>();
  private tokens: Set<string>;
  private namespaces: Set<string>;
  private allowed: Set<string> | undefined;
  private refusing: false | 'unavailable' | 'reset' | 'hang' = false;
  private resourceVersion = 1000;
  private readonly server: RestartableServer;

  private constructor(private readonly opts: KubernetesApiOptions) {
    this.tokens = new Set(opts.tokens ?? ['test-token']);
    this.namespaces = new Set(opts.namespaces ?? ['default', 'vmware']);
    this.allowed = opts.allowedNamespaces ? new Set(opts.allowedNamespaces) : undefined;
    this.server = new RestartableServer((req, res) => this.handle(req, res), opts);
  }

  static async start(opts: KubernetesApiOptions = {}): Promise<KubernetesApi> {
    const api = new KubernetesApi(opts);
    await api.start();
    return api;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.server.port}`;
  }

  /** Replace the accepted tokens (a rotation: the old ones are rejected from now on). */
  setTokens(tokens: string[]): void {
    this.tokens = new Set(tokens);
  }

  setNamespaces(namespaces: string[]): void {
    this.namespaces = new Set(namespaces);
  }

  /** The namespaces the tokens may use; undefined: every one. */
  setAllowedNamespaces(namespaces: string[] | undefined): void {
    this.allowed = namespaces ? new Set(namespaces) : undefined;
  }

  /**
   * Lose the API server while still listening: `true` answers every request
   * with a 503 Status, `'reset'` cuts each connection, `'hang'` never answers;
   * `false` serves again.
   */
  refuse(how: boolean | 'reset' | 'hang'): void {
    this.refusing = how === true ? 'unavailable' : how;
    if (how === false) this.server.cutConnections();
  }

  /** A copy of the stored object, or undefined. */
  read(namespace: string, name: string): LeaseObject | undefined {
    const o = this.objects.get(key(namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  /** Every stored object of a namespace. */
  list(namespace: string): LeaseObject[] {
    return [...this.objects.values()]
      .filter((o) => o.metadata.namespace === namespace)
      .map((o) => structuredClone(o));
  }

  /**
   * Store an object as another program would have written it (no checks, a new
   * resourceVersion); `metadata.namespace` names where. Returns what is stored.
   */
  plant(object: {
    metadata: { name: string; namespace: string } & Partial<LeaseObject['metadata']>;
    spec?: LeaseObject['spec'];
  }): LeaseObject {
    const stored: LeaseObject = {
      apiVersion: API_VERSION,
      kind: 'Lease',
      metadata: {
        uid: randomUUID(),
        creationTimestamp: nowSeconds(),
        ...object.metadata,
        resourceVersion: this.nextVersion(),
      },
      spec: object.spec ?? {},
    };
    this.objects.set(key(stored.metadata.namespace, stored.metadata.name), stored);
    return structuredClone(stored);
  }

  /** Start listening (again on the same port after `stop()`). */
  start(): Promise<void> {
    return this.server.listen();
  }

  /** Stop listening and cut every connection (the API server is gone); the port and objects are kept. */
  stop(): Promise<void> {
    return this.server.close();
  }

  private nextVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    const entry: ApiRequest = {
      method,
      path,
      bearer: /^Bearer\s/i.test(req.headers.authorization ?? ''),
      status: 0,
    };
    this.requests.push(entry);
    if (this.refusing === 'reset') {
      req.socket.destroy();
      return;
    }
    if (this.refusing === 'hang') return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let code: number;
      let body: unknown;
      try {
        [code, body] = this.serve(
          method,
          path,
          req.headers.authorization,
          Buffer.concat(chunks).toString('utf8'),
        );
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        [code, body] = [err.body.code, err.body];
      }
      entry.status = code;
      res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
  }

  private serve(
    method: string,
    path: string,
    authorization: string | undefined,
    rawBody: string,
  ): [number, unknown] {
    if (this.refusing === 'unavailable')
      throw status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m || !this.tokens.has(m[1])) throw status(401, 'Unauthorized', 'Unauthorized');
    const route = LEASES_PATH.exec(path);
    if (!route) throw status(404, 'NotFound', 'the server could not find the requested resource');
    const namespace = decodeURIComponent(route[1]);
    const name = route[2] === undefined ? undefined : decodeURIComponent(route[2]);
    const verb = verbOf(method, name !== undefined);
    if (!verb)
      throw status(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    this.authorize(verb, namespace, name);
    switch (verb) {
      case 'list':
        return [
          200,
          {
            apiVersion: API_VERSION,
            kind: 'LeaseList',
            metadata: { resourceVersion: String(this.resourceVersion) },
            items: this.list(namespace),
          },
        ];
      case 'get':
        return [200, this.existing(namespace, name!)];
      case 'create':
        return [201, this.create(namespace, parseBody(rawBody))];
      case 'update':
        return [200, this.update(namespace, name!, parseBody(rawBody))];
      case 'delete': {
        this.existing(namespace, name!);
        this.objects.delete(key(namespace, name!));
        this.nextVersion();
        return [
          200,
          {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, group: GROUP, kind: 'leases' },
          },
        ];
      }
    }
  }

  /** RBAC as a Role granting get, list, create, update and delete on leases in the allowed namespaces. */
  private authorize(verb: Verb, namespace: string, name: string | undefined): void {
    if (!this.allowed || this.allowed.has(namespace)) return;
    const sa = this.opts.serviceAccount ?? { namespace: 'vmware', name: 'vmware-event-router' };
    const what = name === undefined ? RESOURCE : `${RESOURCE} "${name}"`;
    throw status(
      403,
      'Forbidden',
      `${what} is forbidden: User "system:serviceaccount:${sa.namespace}:${sa.name}" cannot ${verb} resource "leases" in API group "${GROUP}" in the namespace "${namespace}"`,
      { ...(name === undefined ? {} : { name }), group: GROUP, kind: 'leases' },
    );
  }

  private existing(namespace: string, name: string): LeaseObject {
    const o = this.objects.get(key(namespace, name));
    if (!o)
      throw status(404, 'NotFound', `${RESOURCE} "${name}" not found`, {
        name,
        group: GROUP,
        kind: 'leases',
      });
    return structuredClone(o);
  }

  private create(namespace: string, body: Record<string, unknown>): LeaseObject {
    const meta = objectField(body, 'metadata');
    const name = typeof meta.name === 'string' ? meta.name : '';
    if (meta.namespace !== undefined && meta.namespace !== namespace)
      throw status(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '')
      throw status(
        500,
        'InternalError',
        'Internal error occurred: resourceVersion should not be set on objects to be created',
      );
    const valid = validate(name, meta, body);
    if (!this.namespaces.has(namespace))
      throw status(404, 'NotFound', `namespaces "${namespace}" not found`, {
        name: namespace,
        kind: 'namespaces',
      });
    if (this.objects.has(key(namespace, name)))
      throw status(409, 'AlreadyExists', `${RESOURCE} "${name}" already exists`, {
        name,
        group: GROUP,
        kind: 'leases',
      });
    const stored: LeaseObject = {
      apiVersion: API_VERSION,
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: this.nextVersion(),
        creationTimestamp: nowSeconds(),
        ...(valid.labels ? { labels: valid.labels } : {}),
        ...(valid.annotations ? { annotations: valid.annotations } : {}),
      },
      spec: valid.spec,
    };
    this.objects.set(key(namespace, name), stored);
    return structuredClone(stored);
  }

  private update(namespace: string, name: string, body: Record<string, unknown>): LeaseObject {
    const meta = objectField(body, 'metadata');
    if (meta.name !== name)
      throw status(
        400,
        'BadRequest',
        `the name of the object (${String(meta.name ?? '')}) does not match the name on the URL (${name})`,
      );
    const valid = validate(name, meta, body);
    const current = this.objects.get(key(namespace, name));
    if (!current)
      throw status(404, 'NotFound', `${RESOURCE} "${name}" not found`, {
        name,
        group: GROUP,
        kind: 'leases',
      });
    const conflict = (why: string): ApiError =>
      status(409, 'Conflict', `Operation cannot be fulfilled on ${RESOURCE} "${name}": ${why}`, {
        name,
        group: GROUP,
        kind: 'leases',
      });
    if (typeof meta.uid === 'string' && meta.uid !== '' && meta.uid !== current.metadata.uid)
      throw conflict(
        `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    if (
      typeof meta.resourceVersion === 'string' &&
      meta.resourceVersion !== '' &&
      meta.resourceVersion !== current.metadata.resourceVersion
    )
      throw conflict(
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    const stored: LeaseObject = {
      apiVersion: API_VERSION,
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        uid: current.metadata.uid,
        resourceVersion: this.nextVersion(),
        creationTimestamp: current.metadata.creationTimestamp,
        ...(valid.labels ? { labels: valid.labels } : {}),
        ...(valid.annotations ? { annotations: valid.annotations } : {}),
      },
      spec: valid.spec,
    };
    this.objects.set(key(namespace, name), stored);
    return structuredClone(stored);
  }
}

function verbOf(method: string, named: boolean): Verb | undefined {
  if (named) return ({ GET: 'get', PUT: 'update', DELETE: 'delete' } as Record<string, Verb>)[method];
  return ({ GET: 'list', POST: 'create' } as Record<string, Verb>)[method];
}

function parseBody(raw: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw status(
      400,
      'BadRequest',
      `the body of the request was in an unknown format: ${(err as Error).message}`,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw status(400, 'BadRequest', 'the body of the request is not a JSON object');
  const o = body as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== 'Lease')
    throw status(
      400,
      'BadRequest',
      `the API version in the data (${String(o.apiVersion)}) and kind (${String(o.kind)}) is not a Lease`,
    );
  if (o.apiVersion !== undefined && o.apiVersion !== API_VERSION)
    throw status(
      400,
      'BadRequest',
      `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${API_VERSION})`,
    );
  return o;
}

function objectField(o: Record<string, unknown>, field: string): Record<string, unknown> {
  const v = o[field];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw status(400, 'BadRequest', `${field} is not an object`);
  return v as Record<string, unknown>;
}

/** The API server's validation of a Lease: name, labels, annotations and spec; 422 Invalid listing every cause. */
function validate(
  name: string,
  meta: Record<string, unknown>,
  body: Record<string, unknown>,
): { labels?: Record<string, string>; annotations?: Record<string, string>; spec: LeaseObject['spec'] } {
  const causes: { reason: string; message: string; field: string }[] = [];
  const invalid = (field: string, value: unknown, why: string): void => {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
      field,
    });
  };
  if (name === '')
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  else if (name.length > 253) invalid('metadata.name', name, 'must be no more than 253 characters');
  else if (!DNS1123_SUBDOMAIN.test(name)) invalid('metadata.name', name, DNS1123_SUBDOMAIN_MESSAGE);
  const labels = stringMap(meta.labels, 'metadata.labels', invalid);
  const annotations = stringMap(meta.annotations, 'metadata.annotations', invalid);
  if (annotations) {
    const bytes = Object.entries(annotations).reduce(
      (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
      0,
    );
    if (bytes > MAX_ANNOTATION_BYTES)
      causes.push({
        reason: 'FieldValueTooLong',
        message: `Too long: must have at most ${MAX_ANNOTATION_BYTES} bytes`,
        field: 'metadata.annotations',
      });
  }
  const rawSpec = objectField(body, 'spec');
  const spec: LeaseObject['spec'] = {};
  if (rawSpec.holderIdentity !== undefined && rawSpec.holderIdentity !== null) {
    if (typeof rawSpec.holderIdentity !== 'string')
      throw status(400, 'BadRequest', 'spec.holderIdentity: expected a string');
    spec.holderIdentity = rawSpec.holderIdentity;
  }
  for (const field of ['leaseDurationSeconds', 'leaseTransitions'] as const) {
    const v = rawSpec[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw status(400, 'BadRequest', `spec.${field}: expected an integer`);
    if (field === 'leaseDurationSeconds' && v <= 0) invalid(`spec.${field}`, v, 'must be greater than 0');
    if (field === 'leaseTransitions' && v < 0)
      invalid(`spec.${field}`, v, 'must be greater than or equal to 0');
    spec[field] = v;
  }
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const v = rawSpec[field];
    if (v === undefined || v === null) continue;
    const t = typeof v === 'string' ? MICRO_TIME.exec(v) : null;
    if (!t)
      throw status(
        400,
        'BadRequest',
        `spec.${field}: parsing time ${JSON.stringify(v)} as MicroTime (RFC 3339 in UTC) failed`,
      );
    // The server keeps microseconds and writes them back as six digits.
    spec[field] = `${t[1]}.${(t[2] ?? '').padEnd(6, '0').slice(0, 6)}Z`;
  }
  if (causes.length)
    throw status(
      422,
      'Invalid',
      `Lease.${GROUP} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
      { name, group: GROUP, kind: 'Lease', causes },
    );
  return { labels, annotations, spec };
}

function stringMap(
  v: unknown,
  field: string,
  invalid: (field: string, value: unknown, why: string) => void,
): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw status(400, 'BadRequest', `${field}: expected an object`);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
    if (typeof value !== 'string') throw status(400, 'BadRequest', `${field}.${k}: expected a string`);
    const slash = k.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : k.slice(0, slash);
    const local = slash < 0 ? k : k.slice(slash + 1);
    if (
      (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) ||
      local.length > 63 ||
      !QUALIFIED_NAME.test(local)
    )
      invalid(
        field,
        k,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character; an optional prefix must be a DNS subdomain",
      );
    out[k] = value;
  }
  return out;
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** metav1.Time: RFC 3339 to the second. */
function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `--flag value` pairs; repeated flags collect. */
function parseArgs(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!flag.startsWith('--') || value === undefined)
      throw new Error(
        `usage: kubernetes-api --port P --token T [--namespace NS]... [--allowed-namespace NS]... [--tls-cert F --tls-key F]; got ${flag}`,
      );
    out.set(flag.slice(2), [...(out.get(flag.slice(2)) ?? []), value]);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const one = (f: string): string | undefined => args.get(f)?.[0];
  const cert = one('tls-cert');
  const keyFile = one('tls-key');
  const api = await KubernetesApi.start({
    port: Number(one('port') ?? 0),
    tokens: args.get('token'),
    namespaces: args.get('namespace'),
    allowedNamespaces: args.get('allowed-namespace'),
    tls:
      cert && keyFile ? { cert: readFileSync(cert, 'utf8'), key: readFileSync(keyFile, 'utf8') } : undefined,
  });
  process.on('SIGUSR1', () => api.refuse(true));
  process.on('SIGUSR2', () => api.refuse(false));
  process.on('SIGTERM', () => void api.stop().then(() => process.exit(0)));
  process.stdout.write(`${JSON.stringify({ url: api.url, pid: process.pid })}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`kubernetes-api: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
