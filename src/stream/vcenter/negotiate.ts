/**
 * Which protocol a stream's calls go over (the `protocol` option):
 *
 * - `soap`: SOAP at the stream address, as every vCenter and ESXi serves it;
 * - `vi_json`: VI/JSON at the release System.hello picks, or 8.0.1.0 when
 *   the server has no System.hello (vCenter 8.0 Update 1 answers 404 there);
 * - `auto`: VI/JSON as for `vi_json` when the server offers a release the
 *   router supports, SOAP otherwise. Without System.hello, VI/JSON is taken
 *   only when the 8.0.1.0 ServiceInstance content can actually be read: a
 *   vCenter 7 or an ESXi host answers 404 to both and gets SOAP.
 *
 * A server that does not answer at all (refused, timed out, 5xx) is an
 * ordinary connection failure: the stream backs off and negotiates again. A
 * redirect on System.hello or on the 8.0.1.0 probe is never followed (the
 * probe would carry no credentials, but the calls after it would), and means
 * "no VI/JSON here": `auto` takes SOAP and says so.
 *
 * The negotiation's calls end at once when the stream's stop signal aborts.
 */
import { quotePeer } from '../../log/logger';
import { vcenterAgent, VimTransportError } from './http-exchange';
import { SoapTransport } from './soap/soap-transport';
import { VimFault, type ProtocolOption, type TransportOptions, type VimTransport } from './transport';
import { originOf, RELEASE_WITHOUT_HELLO, requestJson, SUPPORTED_RELEASES } from './vijson/vijson-client';
import { ViJsonTransport } from './vijson/vijson-transport';

export interface Negotiated {
  transport: VimTransport;
  /** One line for the log: what was chosen and why. */
  how: string;
}

/**
 * Why an answer says "not here" (HTTP 4xx other than 408/429, a body that is
 * not JSON, a redirect) rather than "not now"; undefined for "not now".
 */
function absence(err: unknown): string | undefined {
  if (!(err instanceof VimTransportError)) return undefined;
  if (err.code === 'EBADREPLY' || err.code === 'EREDIRECT') return err.answered ?? err.code;
  const status = /^HTTP_(4\d\d)$/.exec(err.code ?? '')?.[1];
  return status !== undefined && status !== '408' && status !== '429'
    ? (err.answered ?? `HTTP ${status}`)
    : undefined;
}

/** The error of a negotiation call that `signal` (the stream's stop) ended. */
function stopped(name: string): VimTransportError {
  return new VimTransportError(name, 'negotiation stopped (the stream is stopping)', 'ESTOPPED');
}

/**
 * System.hello: the release the server picks among SUPPORTED_RELEASES, null
 * when it has no System.hello (or picks none of them); throws when it cannot
 * be asked. `redirected` names the redirect it answered with (not followed).
 */
export async function hello(
  address: string,
  opts: TransportOptions,
  signal?: AbortSignal,
): Promise<{ release: string | null; offered?: string; redirected?: string }> {
  if (signal?.aborted) throw stopped('System.hello');
  const agent = vcenterAgent(address, opts);
  const abort = new AbortController();
  const onStop = (): void => abort.abort();
  signal?.addEventListener('abort', onStop, { once: true });
  try {
    const reply = await requestJson(`${originOf(address)}/api/vcenter/system?action=hello`, {
      method: 'POST',
      name: 'System.hello',
      address,
      body: { api_releases: SUPPORTED_RELEASES },
      agent,
      timeoutMs: opts.timeoutMs,
      abort,
    });
    const v = reply.value as { api_release?: unknown } | undefined;
    const offered = typeof v?.api_release === 'string' ? v.api_release : undefined;
    return { release: offered && SUPPORTED_RELEASES.includes(offered) ? offered : null, offered };
  } catch (err) {
    if (signal?.aborted) throw stopped('System.hello');
    if (absence(err) === undefined) throw err;
    const redirected =
      err instanceof VimTransportError && err.code === 'EREDIRECT' ? err.answered : undefined;
    return { release: null, redirected };
  } finally {
    signal?.removeEventListener('abort', onStop);
    agent.destroy();
  }
}

export async function openTransport(
  address: string,
  protocol: ProtocolOption,
  opts: TransportOptions,
  signal?: AbortSignal,
): Promise<Negotiated> {
  if (protocol === 'soap') return { transport: new SoapTransport(address, opts), how: 'SOAP' };
  const answer = await hello(address, opts, signal);
  if (answer.release) {
    return {
      transport: new ViJsonTransport(address, answer.release, opts),
      how: `VI/JSON release ${answer.release} (negotiated with System.hello)`,
    };
  }
  const why = answer.redirected
    ? `System.hello answered ${answer.redirected}, not followed`
    : answer.offered
      ? `System.hello offered release ${quotePeer(JSON.stringify(answer.offered))}, none of ${SUPPORTED_RELEASES.join(', ')}`
      : 'no System.hello';
  if (protocol === 'vi_json') {
    return {
      transport: new ViJsonTransport(address, RELEASE_WITHOUT_HELLO, opts),
      how: `VI/JSON release ${RELEASE_WITHOUT_HELLO} (${why})`,
    };
  }
  // auto without System.hello: VI/JSON 8.0.1.0 only if the server really serves it.
  if (signal?.aborted) throw stopped('RetrieveServiceContent');
  const probe = new ViJsonTransport(address, RELEASE_WITHOUT_HELLO, opts);
  // The stream's stop cannot reach the probe otherwise: the stream has no client yet.
  const onStop = (): void => probe.abortAll();
  signal?.addEventListener('abort', onStop, { once: true });
  try {
    await probe.retrieveServiceContent();
  } catch (err) {
    probe.close();
    if (signal?.aborted) throw stopped('RetrieveServiceContent');
    if (err instanceof VimFault) {
      // A VI/JSON fault is still VI/JSON.
      return {
        transport: new ViJsonTransport(address, RELEASE_WITHOUT_HELLO, opts),
        how: `VI/JSON release ${RELEASE_WITHOUT_HELLO} (${why})`,
      };
    }
    const absent = absence(err);
    if (absent === undefined) throw err;
    const redirected = err instanceof VimTransportError && err.code === 'EREDIRECT';
    return {
      transport: new SoapTransport(address, opts),
      how: redirected
        ? `SOAP (${why}, and release ${RELEASE_WITHOUT_HELLO} answered ${absent}, not followed)`
        : `SOAP (${why}, and no VI/JSON release ${RELEASE_WITHOUT_HELLO})`,
    };
  } finally {
    signal?.removeEventListener('abort', onStop);
  }
  return { transport: probe, how: `VI/JSON release ${RELEASE_WITHOUT_HELLO} (${why})` };
}
