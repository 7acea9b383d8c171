/** The options of a vmware_vcenter stream entry. */
import {
  boolOption,
  defaultedStringOption,
  enumOption,
  intOption,
  type OptionsOf,
} from '../../config/options';
import { PAYLOAD_ENCODINGS } from '../../events/vsphere-source';
import { PROTOCOLS } from './transport';

export const vcenterOptions = {
  insecure: boolOption('Skip TLS certificate verification', false),
  protocol: enumOption(
    'Protocol of the vCenter calls: soap; vi_json (vCenter 8.0 Update 1 and later: the release is negotiated with System.hello, 8.0.1.0 without it); auto (VI/JSON when the vCenter offers a release the router supports, SOAP otherwise). The address stays https://HOST/sdk',
    PROTOCOLS,
    'soap',
  ),
  call_timeout: intOption('Seconds before a vCenter call is abandoned and retried', 1, 60),
  max_backoff: intOption('Upper bound in seconds of the reconnect backoff', 1, 60),
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
