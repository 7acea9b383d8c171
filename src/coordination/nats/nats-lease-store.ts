/**
 * The lease store in a NATS JetStream key-value bucket: one key per lease
 * (its name, as is), the value the record as JSON with a marker that it is
 * the router's, the KV revision as the compare-and-swap version (a create
 * expects no revision, an update the one it read; the server refuses any
 * other with "wrong last sequence").
 *
 * The connection is the nats_jetstream processor's kind (servers, auth, TLS,
 * reconnecting forever in the background). While it is down, every request
 * fails at once; no request takes longer than `timeoutMs`, so the lease
 * algorithm, which calls again every second or two, never waits on a dead
 * store.
 */
import { JetStreamApiCodes, JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { quotePeer } from '../../log/logger';
import {
  connectNats,
  NatsConnectError,
  serversForDisplay,
  type NatsAuth,
  type NatsTlsSettings,
} from '../../util/nats-connection';
import {
  DATA_KEY_PATTERN,
  ForeignLeaseError,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  LeaseStoreError,
  type StoredLease,
} from '../lease-store';

export const DEFAULT_BUCKET = 'vmware-event-router';
/** The marker of a value the router wrote, and the version of its layout. */
const ROUTER_MARKER = 'vmware-event-router';
const LAYOUT_VERSION = 1;
const DEFAULT_TIMEOUT_MS = 5000;
/** A bucket name NATS accepts (it becomes the stream `KV_<bucket>`). */
const BUCKET_PATTERN = /^[-\w]+$/;

export interface NatsLeaseStoreOptions {
  servers: string[];
  auth: NatsAuth;
  tls?: NatsTlsSettings;
  /** The key-value bucket; created when missing. */
  bucket?: string;
  /** Replicas of a bucket this store creates (1; 3 in a cluster). An existing bucket is used as it is. */
  replicas?: number;
  /** The longest any request (and the first connection to each server) may take. */
  timeoutMs?: number;
}

export class NatsLeaseStore implements LeaseStore {
  readonly description: string;
  readonly bucket: string;
  readonly replicas: number;
  readonly timeoutMs: number;

  /**
   * Set after `open()` when the servers do not keep the compare-and-swap's
   * promise for this bucket (an old nats-server with a replicated bucket):
   * the lease algorithm logs it, the store works on.
   */
  caveat: string | undefined;

  private readonly where: string;
  private nc: NatsConnection | undefined;
  private kv: KV | undefined;
  private connected = false;
  private disconnectedSince: string | undefined;

  constructor(private readonly options: NatsLeaseStoreOptions) {
    if (options.servers.length === 0) throw new Error('NATS lease store: no server URL given');
    this.bucket = options.bucket ?? DEFAULT_BUCKET;
    if (!BUCKET_PATTERN.test(this.bucket))
      throw new Error(
        `NATS lease store: "${this.bucket}" is not a valid key-value bucket name (letters, digits, "-" and "_" only)`,
      );
    this.replicas = Math.max(1, Math.floor(options.replicas ?? 1));
    this.timeoutMs = Math.max(1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.where = serversForDisplay(options.servers);
    this.description = `NATS KV bucket ${this.bucket} on ${this.where}`;
  }

  async open(): Promise<void> {
    if (this.nc) return;
    let nc: NatsConnection;
    try {
      nc = await connectNats({
        servers: this.options.servers,
        auth: this.options.auth,
        tls: this.options.tls,
        connectTimeoutMs: this.timeoutMs,
      });
    } catch (err) {
      const permanent = err instanceof NatsConnectError && err.permanent;
      throw new LeaseStoreError(`${this.description}: ${(err as Error).message}`, permanent, { cause: err });
    }
    this.nc = nc;
    this.connected = true;
    this.watchStatus(nc);
    try {
      await this.openBucket(nc);
    } catch (err) {
      this.nc = undefined;
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Open the bucket, creating it when missing (one value per key: the lease
   * needs no history). Reads go to the stream's leader, never as a "direct
   * get" (which any replica may answer, one that has not yet applied the
   * last write among them): a replica must read the record it just wrote,
   * or it would judge a lease by an old renew time and lose a renewal to a
   * compare-and-swap conflict. An existing bucket that allows direct gets is
   * still read through the leader.
   */
  private async openBucket(nc: NatsConnection): Promise<void> {
    const js = jetstream(nc, { timeout: this.timeoutMs });
    const kv = await this.request('open the bucket', () =>
      new Kvm(js).create(this.bucket, { history: 1, replicas: this.replicas, allow_direct: false }),
    );
    this.kv = kv;
    const replicas = (await this.request('read the bucket status', () => kv.status())).replicas;
    this.caveat = casCaveat(nc.info?.version, replicas, this.bucket);
  }

  private watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.disconnectedSince = new Date().toISOString();
        } else if (s.type === 'reconnect') {
          this.connected = true;
        }
      }
    })().catch(() => undefined);
  }

  async get(name: string): Promise<StoredLease | undefined> {
    const kv = this.bucketFor(name);
    const entry = await this.request(`read ${name}`, () => kv.get(name));
    // A deleted or purged key holds a marker, not a value: no lease.
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { record: this.decode(name, entry.string()), version: String(entry.revision) };
  }

  async create(name: string, record: LeaseRecord): Promise<StoredLease> {
    const kv = this.bucketFor(name);
    const value = encode(record);
    const revision = await this.request(`create ${name}`, () => kv.create(name, value), name);
    return { record: structuredClone(record), version: String(revision) };
  }

  async update(name: string, record: LeaseRecord, version: string): Promise<StoredLease> {
    const kv = this.bucketFor(name);
    const previous = Number(version);
    if (!/^[1-9]\d*$/.test(version) || !Number.isSafeInteger(previous))
      throw new LeaseConflictError(
        `${this.description}: ${version} is not a revision of key ${name}: read the lease again`,
      );
    const value = encode(record);
    const revision = await this.request(`update ${name}`, () => kv.update(name, value, previous), name);
    return { record: structuredClone(record), version: String(revision) };
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.kv = undefined;
    this.connected = false;
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }

  /** The open bucket, after checking `name` is a key NATS accepts; fails at once while disconnected. */
  private bucketFor(name: string): KV {
    if (!isValidKey(name))
      throw new LeaseStoreError(
        `${this.description}: "${name}" is not a valid key (letters, digits, "_", "-", "=", "/" and single dots between them)`,
        true,
      );
    const kv = this.kv;
    if (!kv) throw new LeaseStoreError(`${this.description}: the store is not open`);
    if (!this.connected)
      throw new LeaseStoreError(
        `${this.description}: the connection is lost since ${this.disconnectedSince ?? 'the start'}; the client keeps reconnecting`,
      );
    return kv;
  }

  /**
   * `call`, mapping its failure to the store's errors. A deadline of
   * `timeoutMs` covers all of it: a create of a deleted key is several
   * requests, each with its own nats.js timeout.
   */
  private async request<T>(what: string, call: () => Promise<T>, casKey?: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineError()), this.timeoutMs);
    });
    try {
      return await Promise.race([call(), deadline]);
    } catch (err) {
      throw this.failure(what, err as Error, casKey);
    } finally {
      clearTimeout(timer);
    }
  }

  private failure(what: string, err: Error, casKey: string | undefined): Error {
    const prefix = `${this.description}: could not ${what}`;
    if (err instanceof JetStreamApiError) {
      if (casKey !== undefined && isWrongLastSequence(err))
        return new LeaseConflictError(
          `${prefix}: key ${casKey} changed meanwhile (${quotePeer(err.message)})`,
        );
      if (err.code === JetStreamApiCodes.JetStreamNotEnabledForAccount)
        return new LeaseStoreError(
          `${prefix}: JetStream is not enabled for this account (${quotePeer(err.message)}): enable JetStream for the account the router logs in as`,
          true,
          { cause: err },
        );
      return new LeaseStoreError(
        `${prefix}: JetStream error ${err.code} (${quotePeer(err.message)})`,
        err.status >= 400 && err.status < 500,
        { cause: err },
      );
    }
    if (err instanceof DeadlineError || err.name === 'TimeoutError')
      return new LeaseStoreError(
        `${prefix}: no answer within ${this.timeoutMs / 1000}s (a server restarting, a cluster electing a leader, or the connection lost)`,
        false,
        { cause: err },
      );
    if (err.name === 'JetStreamNotEnabled' || err.name === 'NoRespondersError')
      return new LeaseStoreError(
        `${prefix}: no JetStream answered (is the server started with JetStream enabled, -js? in a cluster, has it a quorum? was the bucket deleted?)`,
        false,
        { cause: err },
      );
    if (err.name === 'PermissionViolationError')
      return new LeaseStoreError(
        `${prefix}: the server denied it (${quotePeer(err.message)}): allow the router's user to publish to $JS.API.> and $KV.${this.bucket}.> and to subscribe to _INBOX.>`,
        true,
        { cause: err },
      );
    if (err.name === 'ClosedConnectionError')
      return new LeaseStoreError(`${prefix}: the store is closed`, false, { cause: err });
    return new LeaseStoreError(`${prefix}: ${quotePeer(err.message)}`, false, { cause: err });
  }

  /** The record in a value, or ForeignLeaseError when the value is not one the router wrote. */
  private decode(name: string, text: string): LeaseRecord {
    const foreign = (why: string) =>
      new ForeignLeaseError(
        `the value of key ${name} in the ${this.description} is not a lease of the router's (${why}): it is left alone; remove it, or give the stream another name`,
      );
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw foreign('not JSON');
    }
    if (!isObject(value) || value.router !== ROUTER_MARKER)
      throw foreign(`no "router": "${ROUTER_MARKER}" marker`);
    if (value.v !== LAYOUT_VERSION)
      throw foreign(`layout version ${JSON.stringify(value.v)}, this router writes ${LAYOUT_VERSION}`);
    const record = recordOf(value);
    if (!record) throw foreign('a field is missing or of the wrong type');
    return record;
  }
}

class DeadlineError extends Error {}

/**
 * The first nats-server that checks an update's expected revision within the
 * replicated write: before it, concurrent updates of a key in a bucket with
 * several replicas, all expecting the same revision, can all succeed (the
 * leader checked each before any was applied). A bucket with one replica
 * was never affected.
 */
const SERIALIZED_CAS_SINCE = [2, 9, 21];

/** Why this server's compare-and-swap on this bucket is not safe, or undefined when it is. */
export function casCaveat(version: string | undefined, replicas: number, bucket: string): string | undefined {
  if (replicas <= 1 || !version) return undefined;
  const parts = version.split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    if (parts[i] > SERIALIZED_CAS_SINCE[i]) return undefined;
    if (parts[i] < SERIALIZED_CAS_SINCE[i]) break;
    if (i === 2) return undefined;
  }
  return `nats-server ${version} does not serialize compare-and-swap writes to the bucket ${bucket} (${replicas} replicas): two replicas updating one lease at the same moment may both succeed, and then both deliver its stream until the next renewal; upgrade the NATS servers to 2.9.21 or later, or use a bucket with 1 replica`;
}

/** The server's refusal of a write whose expected revision is not the key's: somebody else wrote first. */
function isWrongLastSequence(err: JetStreamApiError): boolean {
  return (
    err.code === JetStreamApiCodes.StreamWrongLastSequence ||
    err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  );
}

/**
 * A key NATS KV accepts as is: its characters, and no empty token (the key
 * becomes the subject `$KV.<bucket>.<key>`, whose tokens are split by dots).
 */
function isValidKey(name: string): boolean {
  return /^[-/=.\w]+$/.test(name) && !name.split('.').includes('');
}

function encode(record: LeaseRecord): string {
  return JSON.stringify({ router: ROUTER_MARKER, v: LAYOUT_VERSION, ...record });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function recordOf(v: Record<string, unknown>): LeaseRecord | undefined {
  const { holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions, data } = v;
  if (
    typeof holderIdentity !== 'string' ||
    typeof leaseDurationSeconds !== 'number' ||
    typeof acquireTime !== 'string' ||
    typeof renewTime !== 'string' ||
    typeof leaseTransitions !== 'number' ||
    !isObject(data)
  )
    return undefined;
  const strings: Record<string, string> = {};
  for (const [k, s] of Object.entries(data)) {
    if (!DATA_KEY_PATTERN.test(k) || typeof s !== 'string') return undefined;
    strings[k] = s;
  }
  return { holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions, data: strings };
}
