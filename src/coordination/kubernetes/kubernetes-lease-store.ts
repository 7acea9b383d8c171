/**
 * Leases as `coordination.k8s.io/v1` Lease objects, used through the API
 * server's REST API the way client-go's LeaseLock uses it: get; create; update
 * with `metadata.resourceVersion`, where a 409 means another replica wrote
 * first. RBAC needs `get`, `create` and `update` on `leases` only.
 */
import http from 'node:http';
import https from 'node:https';
import { quotePeer } from '../../log/logger';
import { withoutCredentials } from '../../util/address';
import {
  isUntrustedCertificate,
  loadRootCAs,
  RootCAError,
  type RootCAs,
  trustOptions,
  untrustedHint,
} from '../../util/tls';
import {
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  LeaseStoreError,
  type StoredLease,
} from '../lease-store';
import { type ApiReply, apiRequest } from './api-request';
import { BearerToken } from './bearer-token';
import { type ForeignMetadata, fromLeaseObject, type LeaseObject, toLeaseObject } from './lease-object';
import { leaseObjectName } from './lease-name';

export interface KubernetesLeaseStoreOptions {
  /** The API server: `https://kubernetes.default.svc`, `http://127.0.0.1:8001` (kubectl proxy). */
  address: string;
  namespace: string;
  /** The bearer token, or the file holding it (a service account token: read again when it changes). */
  token?: string;
  tokenFile?: string;
  /** The API server's CA (PEM file), trusted besides `rootCAs` (in a pod: the service account's ca.crt). */
  caFile?: string;
  /** Skip certificate verification (test setups only). */
  insecure: boolean;
  rootCAs?: RootCAs;
  /** Deadline of one request (connect, the server's work, its reply). */
  timeoutMs: number;
}

/** A reply longer than this is refused: a Lease is a few kilobytes. */
const MAX_REPLY_BYTES = 1024 * 1024;
/** What `open()` reads to check address, token and permission (absent as a rule: a 404 is the good answer). */
const PROBE_LEASE = 'vmware-event-router-store-check';

type Verb = 'get' | 'create' | 'update';

interface StatusReply {
  reason: string;
  message: string;
  detailsKind?: string;
}

export class KubernetesLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly api: string;
  private readonly base: URL;
  private readonly token: BearerToken;
  private agent: http.Agent | undefined;
  /**
   * The router's Leases as this store last read or wrote them, by object name:
   * their version, and the labels and annotations others added (an update keeps them).
   */
  private readonly ours = new Map<string, { version: string; kept: ForeignMetadata }>();

  constructor(private readonly opts: KubernetesLeaseStoreOptions) {
    this.api = `Kubernetes API ${withoutCredentials(opts.address)}`;
    this.description = `${this.api} namespace ${opts.namespace}`;
    this.base = new URL(opts.address);
    if (this.base.username || this.base.password)
      throw new LeaseStoreError(
        `${this.api}: the address must not hold credentials (use a bearer token)`,
        true,
      );
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new LeaseStoreError(`${this.api}: the address must start with https:// or http://`, true);
    if (opts.token !== undefined && opts.tokenFile !== undefined)
      throw new LeaseStoreError(`${this.api}: give a token or a token_file, not both`, true);
    this.token = new BearerToken(
      opts.token !== undefined
        ? { token: opts.token }
        : opts.tokenFile !== undefined
          ? { tokenFile: opts.tokenFile }
          : undefined,
    );
  }

  async open(): Promise<void> {
    if (!this.agent) this.agent = this.makeAgent();
    await this.token.current();
    const reply = await this.call('GET', this.leasePath(PROBE_LEASE), 'get', PROBE_LEASE);
    if (reply.status !== 200 && reply.status !== 404) throw this.unexpected('GET', PROBE_LEASE, reply);
  }

  async get(name: string): Promise<StoredLease | undefined> {
    const objectName = leaseObjectName(name);
    const reply = await this.call('GET', this.leasePath(objectName), 'get', name);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw this.unexpected('GET', name, reply);
    return this.stored(name, reply);
  }

  async create(name: string, record: LeaseRecord): Promise<StoredLease> {
    const objectName = leaseObjectName(name);
    const object = toLeaseObject(objectName, name, this.opts.namespace, record);
    const reply = await this.call('POST', this.leasePath(), 'create', name, object);
    if (reply.status === 409)
      throw new LeaseConflictError(`lease ${name}: Lease ${this.where(objectName)} already exists`);
    if (reply.status === 404 && statusOf(reply)?.detailsKind === 'namespaces')
      throw new LeaseStoreError(
        `${this.api}: namespace ${this.opts.namespace} does not exist (404): create it or set options.namespace to the router's namespace`,
        true,
      );
    if (reply.status !== 201 && reply.status !== 200) throw this.unexpected('POST', name, reply);
    return this.stored(name, reply);
  }

  async update(name: string, record: LeaseRecord, version: string): Promise<StoredLease> {
    const objectName = leaseObjectName(name);
    // A PUT cannot be made conditional on the label: a version this store has
    // not read as one of the router's Leases is read first, so that another
    // program's Lease is never overwritten.
    if (this.ours.get(objectName)?.version !== version) {
      const current = await this.get(name);
      if (current?.version !== version)
        throw new LeaseConflictError(
          `lease ${name}: Lease ${this.where(objectName)} is ${current ? `at version ${current.version}` : 'gone'}, not ${version}`,
        );
    }
    const seen = this.ours.get(objectName);
    const object = toLeaseObject(objectName, name, this.opts.namespace, record, seen?.kept);
    // Always conditional: an update without a resourceVersion would overwrite whatever is there.
    object.metadata.resourceVersion = version;
    const reply = await this.call('PUT', this.leasePath(objectName), 'update', name, object);
    if (reply.status === 409)
      throw new LeaseConflictError(
        `lease ${name}: Lease ${this.where(objectName)} changed since version ${version}`,
      );
    if (reply.status === 404)
      throw new LeaseConflictError(
        `lease ${name}: Lease ${this.where(objectName)} was deleted since version ${version}`,
      );
    if (reply.status !== 200) throw this.unexpected('PUT', name, reply);
    return this.stored(name, reply);
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
    this.token.close();
    this.ours.clear();
  }

  private makeAgent(): http.Agent {
    if (this.base.protocol === 'http:') return new http.Agent({ keepAlive: true });
    let ca: string[] | undefined;
    if (this.opts.caFile !== undefined) {
      let file: RootCAs;
      try {
        file = loadRootCAs([this.opts.caFile]);
      } catch (err) {
        if (err instanceof RootCAError)
          throw new LeaseStoreError(`${this.api}: the CA file: ${err.message}`, true);
        throw err;
      }
      // Like client-go's CAFile: the API server's own CA (plus the router's root CAs), not the public ones.
      ca = [...file.certificates, ...(this.opts.rootCAs?.certificates ?? [])];
    } else ca = trustOptions(this.opts.rootCAs).ca;
    return new https.Agent({
      keepAlive: true,
      ...(ca ? { ca } : {}),
      rejectUnauthorized: !this.opts.insecure,
    });
  }

  private leasePath(objectName?: string): string {
    const ns = encodeURIComponent(this.opts.namespace);
    const leases = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    return objectName === undefined ? leases : `${leases}/${encodeURIComponent(objectName)}`;
  }

  private where(objectName: string): string {
    return `${this.opts.namespace}/${objectName}`;
  }

  private stored(name: string, reply: ApiReply): StoredLease {
    let object: LeaseObject;
    try {
      object = JSON.parse(reply.body) as LeaseObject;
    } catch {
      throw new LeaseStoreError(
        `${this.api} answered lease ${name} with a body that is not JSON: ${quotePeer(reply.body)}`,
      );
    }
    if (
      typeof object !== 'object' ||
      object === null ||
      object.kind !== 'Lease' ||
      typeof object.metadata?.name !== 'string'
    )
      throw new LeaseStoreError(
        `${this.api} answered lease ${name} with something that is not a Lease: ${quotePeer(reply.body)}`,
      );
    const { stored, foreign } = fromLeaseObject(object, name, this.where(object.metadata.name));
    this.ours.set(object.metadata.name, { version: stored.version, kept: foreign });
    return stored;
  }

  /**
   * One request with the current token; a 401 with a token file reads the file
   * again and, when it holds another token, tries once more. Transport trouble,
   * 401, 403 and redirects become LeaseStoreError here; the rest is the caller's.
   */
  private async call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    verb: Verb,
    lease: string,
    body?: LeaseObject,
  ): Promise<ApiReply> {
    let reply = await this.send(method, path, body);
    if (reply.status === 401 && (await this.token.reread())) reply = await this.send(method, path, body);
    if (reply.status === 401) {
      const s = statusOf(reply);
      throw new LeaseStoreError(
        this.token.fromFile || this.opts.token !== undefined
          ? `${this.api} rejected ${this.token.origin} (401 ${s ? quotePeer(s.message) : 'Unauthorized'}): set a valid token (a service account token of the router's namespace)`
          : `${this.api} requires a bearer token (401 Unauthorized): set the auth token or token_file`,
        true,
      );
    }
    if (reply.status === 403) {
      const s = statusOf(reply);
      throw new LeaseStoreError(
        `${this.api}: the service account may not ${verb} leases in namespace ${this.opts.namespace} (403 Forbidden${s ? `: ${quotePeer(s.message)}` : ''}): grant get, create and update on leases.coordination.k8s.io there (apply the Role and RoleBinding in deploy/ha/)`,
        true,
      );
    }
    if (reply.status >= 300 && reply.status < 400) {
      const location = reply.headers.location;
      const where =
        typeof location === 'string' && location ? quotePeer(withoutCredentials(location)) : 'no Location';
      throw new LeaseStoreError(
        `${this.api} answered ${method} ${path} (lease ${lease}) with HTTP ${reply.status} redirect to ${where}: refused (the router never follows redirects; set the address to the API server itself)`,
        true,
      );
    }
    return reply;
  }

  private async send(method: 'GET' | 'POST' | 'PUT', path: string, body?: LeaseObject): Promise<ApiReply> {
    if (!this.agent) throw new LeaseStoreError(`${this.description}: the store is not open`);
    const token = await this.token.current();
    try {
      return await apiRequest({
        base: this.base,
        method,
        path,
        agent: this.agent,
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: this.opts.timeoutMs,
        maxReplyBytes: MAX_REPLY_BYTES,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ETIMEDOUT')
        throw new LeaseStoreError(
          `${this.api} did not answer ${method} ${path} within ${this.opts.timeoutMs / 1000} s`,
          false,
          { cause: err },
        );
      if (code === 'ETOOLARGE')
        throw new LeaseStoreError(
          `${this.api} answered ${method} ${path} with more than ${MAX_REPLY_BYTES} bytes: refused`,
          false,
          { cause: err },
        );
      if (isUntrustedCertificate(code))
        throw new LeaseStoreError(
          untrustedHint(this.api, code!, this.opts.caFile ? undefined : 'insecure'),
          true,
          { cause: err },
        );
      throw new LeaseStoreError(
        `${this.api} is unreachable (${method} ${path}: ${code ?? quotePeer((err as Error).message)})`,
        false,
        { cause: err },
      );
    }
  }

  private unexpected(method: string, lease: string, reply: ApiReply): LeaseStoreError {
    const s = statusOf(reply);
    const what = s
      ? `${reply.status} ${s.reason}: ${quotePeer(s.message)}`
      : `${reply.status}: ${quotePeer(reply.body)}`;
    // A 4xx is a request the server will refuse again (an invalid Lease); a 5xx, 408 or 429 may pass.
    const permanent = reply.status < 500 && reply.status !== 408 && reply.status !== 429;
    return new LeaseStoreError(
      `${this.api} refused ${method} of lease ${lease} in namespace ${this.opts.namespace} (${what})`,
      permanent,
    );
  }
}

/** The `Status` object of an error reply, when it is one. */
function statusOf(reply: ApiReply): StatusReply | undefined {
  try {
    const o = JSON.parse(reply.body) as {
      kind?: unknown;
      reason?: unknown;
      message?: unknown;
      details?: { kind?: unknown };
    };
    if (o?.kind !== 'Status') return undefined;
    return {
      reason: typeof o.reason === 'string' ? o.reason : '',
      message: typeof o.message === 'string' ? o.message : '',
      detailsKind: typeof o.details?.kind === 'string' ? o.details.kind : undefined,
    };
  } catch {
    return undefined;
  }
}
