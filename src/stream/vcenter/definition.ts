import type { ComponentDefinition } from '../../components/component';
import {
  authSchema,
  boolOption,
  entrySchema,
  intOption,
  stringOption,
  URL_AUTHORITY_PATTERN,
} from '../../config/schema-parts';
import type { Stream } from '../stream';
import { PROTOCOLS } from './transport';
import { PAYLOAD_ENCODINGS } from '../../events/vsphere-source';

export const vcenterStream: ComponentDefinition<Stream> = {
  kind: 'stream',
  provider: 'vmware_vcenter',
  description: 'VMware vCenter Server (or ESXi) event stream over the vSphere SOAP or VI/JSON API',
  leased: true,
  schema: entrySchema({
    type: 'stream',
    provider: 'vmware_vcenter',
    description: 'VMware vCenter Server event stream',
    address: {
      required: true,
      schema: {
        type: 'string',
        description: 'vCenter SDK URL: https://HOST[:PORT]/sdk (http:// for simulators)',
        pattern: `^${URL_AUTHORITY_PATTERN}/sdk/?$`,
      },
    },
    auth: { required: true, schema: authSchema({ user_password: ['username', 'password'] }) },
    options: {
      properties: {
        insecure: boolOption('Skip TLS certificate verification', false),
        protocol: stringOption(
          'Protocol of the vCenter calls: soap; vi_json (vCenter 8.0 Update 1 and later: the release is negotiated with System.hello, 8.0.1.0 without it); auto (VI/JSON when the vCenter offers a release the router supports, SOAP otherwise). The address stays https://HOST/sdk',
          { enum: [...PROTOCOLS], default: 'soap' },
        ),
        call_timeout: intOption('Seconds before a vCenter call is abandoned and retried', 1, 60),
        max_backoff: intOption('Upper bound in seconds of the reconnect backoff', 1, 60),
        checkpoint: boolOption(
          'Resume after a restart from the newest event every processor acknowledged (at-least-once)',
          false,
        ),
        checkpoint_dir: stringOption('Directory of the checkpoint files (a persistent volume)', {
          default: '/var/lib/vmware-event-router',
        }),
        checkpoint_interval: intOption('Seconds between checkpoint writes', 1, 1),
        replay_window: intOption('Seconds: the oldest event replayed after a restart', 1, 3600),
        cloudevent_format: stringOption(
          'CloudEvent dialect: `router` (type com.vmware.event.router/event, subject = class) or `vsphere_source` (type, id, extensions and data as the Knative VSphereSource gives them; see docs/vsphere-source.md)',
          { enum: ['router', 'vsphere_source'], default: 'router' },
        ),
        vsphere_source_payload_encoding: stringOption(
          'With `cloudevent_format: vsphere_source`: the data encoding, as VSphereSource `payloadEncoding`: `application/xml` (its default) or `application/json`',
          { enum: [...PAYLOAD_ENCODINGS], default: PAYLOAD_ENCODINGS[0] },
        ),
      },
    },
  }),
  async create(entry, ctx) {
    const { VCenterStream } = await import('./vcenter-stream');
    return new VCenterStream(entry, ctx);
  },
};
