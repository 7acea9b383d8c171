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
 * ordinary connection failure: the stream backs off and negotiates again.
 */
import { SoapTransport } from './soap/soap-transport';
import { VimFault, VimTransportError, type VimClientOptions } from './soap/vim-client';
import type { ProtocolOption, VimTransport } from './transport';
import {
  agentFor,
  originOf,
  RELEASE_WITHOUT_HELLO,
  requestJson,
  SUPPORTED_RELEASES,
} from './vijson/vijson-client';
import { ViJsonTransport } from './vijson/vijson-transport';

export interface Negotiated {
  transport: VimTransport;
  /** One line for the log: what was chosen and why. */
  how: string;
}

/** An answer that says "not here" (HTTP 4xx other than 408/429, or a body that is not JSON) rather than "not now". */
function absent(err: unknown): boolean {
  if (!(err instanceof VimTransportError)) return false;
  if (err.code === 'EBADREPLY') return true;
  const status = /^HTTP_(4\d\d)$/.exec(err.code ?? '')?.[1];
  return status !== undefined && status !== '408' && status !== '429';
}

/**
 * System.hello: the release the server picks among SUPPORTED_RELEASES, null
 * when it has no System.hello (or picks none of them); throws when it cannot
 * be asked.
 */
export async function hello(
  address: string,
  opts: VimClientOptions,
  signal?: AbortSignal,
): Promise<{ release: string | null; offered?: string }> {
  const agent = agentFor(address, opts);
  try {
    const reply = await requestJson(`${originOf(address)}/api/vcenter/system?action=hello`, {
      method: 'POST',
      name: 'System.hello',
      body: { api_releases: SUPPORTED_RELEASES },
      agent,
      timeoutMs: opts.timeoutMs,
      signal,
    });
    const v = reply.value as { api_release?: unknown } | undefined;
    const offered = typeof v?.api_release === 'string' ? v.api_release : undefined;
    return { release: offered && SUPPORTED_RELEASES.includes(offered) ? offered : null, offered };
  } catch (err) {
    if (absent(err)) return { release: null };
    throw err;
  } finally {
    agent.destroy();
  }
}

export async function openTransport(
  address: string,
  protocol: ProtocolOption,
  opts: VimClientOptions,
  signal?: AbortSignal,
): Promise<Negotiated> {
  if (protocol === 'soap') return { transport: await SoapTransport.create(address, opts), how: 'SOAP' };
  const answer = await hello(address, opts, signal);
  if (answer.release) {
    return {
      transport: new ViJsonTransport(address, answer.release, opts),
      how: `VI/JSON release ${answer.release} (negotiated with System.hello)`,
    };
  }
  const why = answer.offered
    ? `System.hello offered release ${JSON.stringify(answer.offered).slice(0, 40)}, none of ${SUPPORTED_RELEASES.join(', ')}`
    : 'no System.hello';
  if (protocol === 'vi_json') {
    return {
      transport: new ViJsonTransport(address, RELEASE_WITHOUT_HELLO, opts),
      how: `VI/JSON release ${RELEASE_WITHOUT_HELLO} (${why})`,
    };
  }
  // auto without System.hello: VI/JSON 8.0.1.0 only if the server really serves it.
  const probe = new ViJsonTransport(address, RELEASE_WITHOUT_HELLO, opts);
  try {
    await probe.retrieveServiceContent();
  } catch (err) {
    probe.close();
    if (err instanceof VimFault) {
      // A VI/JSON fault is still VI/JSON.
      return {
        transport: new ViJsonTransport(address, RELEASE_WITHOUT_HELLO, opts),
        how: `VI/JSON release ${RELEASE_WITHOUT_HELLO} (${why})`,
      };
    }
    if (!absent(err)) throw err;
    return {
      transport: await SoapTransport.create(address, opts),
      how: `SOAP (${why}, and no VI/JSON release ${RELEASE_WITHOUT_HELLO})`,
    };
  }
  return { transport: probe, how: `VI/JSON release ${RELEASE_WITHOUT_HELLO} (${why})` };
}
