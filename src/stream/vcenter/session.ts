/**
 * A vCenter stream's session: the transport (negotiated once, then kept
 * across reconnects: the same server keeps its protocol), the login, the
 * event collector, and leaving. Every call of the stream goes through `vc`,
 * so that failed calls are counted by method and a success feeds the stall
 * detector (`seconds_since_last_success`).
 */
import type { Logger } from '../../log/logger';
import type { RouterMetrics } from '../../metrics/metrics';
import type { RootCAs } from '../../util/tls';
import { EventCollector } from './event-collector';
import { invalidLoginMessage, isInvalidLogin } from './failure';
import { openTransport } from './negotiate';
import type { ProtocolOption, ServiceContent, VimTransport } from './transport';

export interface SessionSettings {
  address: string;
  protocol: ProtocolOption;
  username: string;
  password: string;
  insecure: boolean;
  rootCAs?: RootCAs;
  callTimeoutMs: number;
  /** Events per page of the page collector (`page_size`). */
  pageSize: number;
  /** Aborted at stop: ends a negotiation at once. */
  signal: AbortSignal;
  log: Logger;
  metrics: RouterMetrics;
  /** Metric labels of the stream. */
  labels: { provider: string; stream: string };
}

export class VCenterSession {
  client?: VimTransport;
  content?: ServiceContent;
  collector?: EventCollector;

  constructor(private readonly settings: SessionSettings) {}

  /** The transport at the stream address over the protocol option (negotiated for `auto`, `vi_json`). */
  private open(): Promise<{ transport: VimTransport; how: string }> {
    const s = this.settings;
    return openTransport(
      s.address,
      s.protocol,
      { insecure: s.insecure, rootCAs: s.rootCAs, timeoutMs: s.callTimeoutMs },
      s.signal,
    );
  }

  /**
   * Open the transport before the first login, outside the counted calls:
   * for SOAP, which negotiates nothing, so that only a broken installation
   * can fail here. `login` then uses it.
   */
  async openBeforeLogin(): Promise<void> {
    this.client = (await this.open()).transport;
  }

  /** Wrap a vCenter call: count failures, note successes for the stall detector. */
  async vc<T>(method: string, fn: () => Promise<T>): Promise<T> {
    const { metrics, labels } = this.settings;
    try {
      const r = await fn();
      metrics.markStreamSuccess(labels.provider, labels.stream);
      return r;
    } catch (err) {
      metrics.streamCallErrors.inc({ ...labels, method });
      throw err;
    }
  }

  /** A login with a transport of its own, logged out at once (`validate -connect`). */
  async check(): Promise<string> {
    const { username, password } = this.settings;
    const { transport: client, how } = await this.open();
    try {
      const content = await client.retrieveServiceContent();
      try {
        await client.login(content, username, password);
      } catch (err) {
        if (isInvalidLogin(err)) throw new Error(invalidLoginMessage(username), { cause: err });
        throw err;
      }
      await client.logout(content, 5000).catch(() => undefined);
      return `logged in as "${username}" (${content.fullName}) over ${how}`;
    } finally {
      client.close();
    }
  }

  /** Log in (negotiating the transport first, once); resolves to the vCenter's current time (as it wrote it). */
  async login(): Promise<{ client: VimTransport; content: ServiceContent; now: string }> {
    if (!this.client) {
      const { transport, how } = await this.vc('System.hello', () => this.open());
      this.client = transport;
      this.settings.log.info(`vCenter calls go over ${how}`, {
        protocol: transport.protocol,
        ...(transport.release ? { api_release: transport.release } : {}),
      });
    }
    const client = this.client;
    const content = await this.vc('RetrieveServiceContent', () => client.retrieveServiceContent());
    await this.vc('Login', () => client.login(content, this.settings.username, this.settings.password));
    this.content = content;
    const now = await this.vc('CurrentTime', () => client.currentTime());
    return { client, content, now };
  }

  /** The event collectors of this session (see event-collector.ts). */
  async createCollector(client: VimTransport, content: ServiceContent): Promise<EventCollector> {
    const collector = new EventCollector(client, content, this.settings.pageSize);
    await this.vc('CreateCollectorForEvents', () => collector.create());
    this.collector = collector;
    return collector;
  }

  /**
   * After a failure: log the old session out when it may still be alive, so
   * that a flaky network does not leave one vCenter session (and its
   * collectors) behind per reconnect; never wait long for it.
   */
  async abandon(expired: boolean): Promise<void> {
    this.collector = undefined;
    const client = this.client;
    if (!expired && client?.hasSession() && this.content) {
      await client.logout(this.content, 2000).catch(() => undefined);
    }
    client?.resetSession();
  }

  /**
   * Clean shutdown: destroy the collectors and log out. Each step is tried on
   * its own (a collector that cannot be destroyed is still gone with the
   * session), and each is bounded by a short timeout.
   */
  async close(): Promise<void> {
    const client = this.client;
    const content = this.content;
    if (client && content && client.hasSession()) {
      const problems: Error[] = [];
      await this.collector?.destroy(5000).catch((err: Error) => problems.push(err));
      this.collector = undefined;
      await client.logout(content, 5000).catch((err: Error) => problems.push(err));
      if (problems.length === 0) this.settings.log.info('collector destroyed and logged out of vCenter');
      else
        this.settings.log.warn('could not clean up the vCenter session', {
          error: problems.map((e) => e.message).join('; '),
        });
    }
    client?.close();
  }
}
