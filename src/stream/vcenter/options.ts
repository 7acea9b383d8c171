/** The options of a vmware_vcenter stream entry. */
import {
  boolOption,
  defaultedStringOption,
  enumOption,
  intOption,
  type OptionsOf,
} from '../../config/options';
import { PAYLOAD_ENCODINGS, type PayloadEncoding } from '../../events/vsphere-source';
import type { Logger } from '../../log/logger';
import { PROTOCOLS } from './transport';

/** The largest collector page a vCenter accepts (SetCollectorPageSize answers InvalidArgument above it). */
export const PAGE_SIZE_MAX = 1000;

export const vcenterOptions = {
  insecure: boolOption('Skip TLS certificate verification', false),
  protocol: enumOption(
    'Protocol of the vCenter calls: soap; vi_json (vCenter 8.0 Update 1 and later: the release is negotiated with System.hello, 8.0.1.0 without it); auto (VI/JSON when the vCenter offers a release the router supports, SOAP otherwise). The address stays https://HOST/sdk',
    PROTOCOLS,
    'soap',
  ),
  call_timeout: intOption('Seconds before a vCenter call is abandoned and retried', 1, 60),
  max_backoff: intOption('Upper bound in seconds of the reconnect backoff', 1, 60),
  watchdog_interval: intOption(
    "Seconds between reads of the vCenter's newest event (EventManager.latestEvent, one property read). When it stays newer than what the stream delivered for two intervals while the stream delivers nothing, the stream reads its page, delivers what it missed and re-creates its collectors; /readyz is 503 for the stream while it cannot catch up. 0 turns the watchdog off",
    0,
    60,
  ),
  page_size: intOption(
    'Events per page of the event collector, at most 1000 (the vCenter maximum, larger values are lowered to it). A burst of more events than this between two reads makes the stream read the history behind the page (ReadPreviousEvents, up to ten pages); a smaller page makes each page read cheaper and that history read more frequent',
    1,
    PAGE_SIZE_MAX,
  ),
  checkpoint: boolOption(
    'Resume after a restart from the newest event every processor acknowledged (at-least-once)',
    false,
  ),
  checkpoint_dir: defaultedStringOption('Directory of the checkpoint files (a persistent volume)', {
    default: '/var/lib/vmware-event-router',
  }),
  checkpoint_interval: intOption('Seconds between checkpoint writes', 1, 1),
  replay_window: intOption('Seconds: the oldest event replayed after a restart', 1, 3600),
  cloudevent_format: enumOption(
    'CloudEvent dialect: `router` (type com.vmware.event.router/event, subject = class) or `vsphere_source` (type, id, extensions and data as the Knative VSphereSource gives them; see docs/vsphere-source.md)',
    ['router', 'vsphere_source'],
    'router',
  ),
  vsphere_source_payload_encoding: enumOption(
    'With `cloudevent_format: vsphere_source`: the data encoding, as VSphereSource `payloadEncoding`: `application/xml` (its default) or `application/json`',
    PAYLOAD_ENCODINGS,
    PAYLOAD_ENCODINGS[0],
  ),
};

export type VCenterOptions = OptionsOf<typeof vcenterOptions>;

/**
 * The options that need a word to the operator when they do not take effect:
 * the VSphereSource payload encoding (undefined for the router's own format)
 * and the collector page size the vCenter accepts.
 */
export function eventFormatAndPage(
  options: VCenterOptions,
  setOptions: Record<string, unknown> | undefined,
  log: Logger,
): { payloadEncoding?: PayloadEncoding; pageSize: number } {
  let payloadEncoding: PayloadEncoding | undefined;
  if (options.cloudevent_format === 'vsphere_source') {
    payloadEncoding = options.vsphere_source_payload_encoding;
  } else if (setOptions?.vsphere_source_payload_encoding !== undefined) {
    // Said once, so that an operator who expected VSphereSource's payload sees why it is not there.
    log.warn(
      'vsphere_source_payload_encoding is ignored: it applies only with cloudevent_format "vsphere_source"',
      {
        cloudevent_format: options.cloudevent_format,
      },
    );
  }
  if (options.page_size > PAGE_SIZE_MAX)
    log.warn(`page_size ${options.page_size} lowered to ${PAGE_SIZE_MAX}, the vCenter's largest page`);
  return { payloadEncoding, pageSize: Math.min(options.page_size, PAGE_SIZE_MAX) };
}
