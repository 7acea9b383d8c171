import { defineComponent } from '../../components/component';
import { authSchema, URL_AUTHORITY_PATTERN } from '../../config/schema-parts';
import type { Stream } from '../stream';
import { vcenterOptions } from './options';

export const vcenterStream = defineComponent<Stream, typeof vcenterOptions>({
  kind: 'stream',
  provider: 'vmware_vcenter',
  description: 'VMware vCenter Server (or ESXi) event stream over the vSphere SOAP or VI/JSON API',
  leased: true,
  entry: {
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
  },
  options: vcenterOptions,
  async create(entry, options, ctx) {
    const { VCenterStream } = await import('./vcenter-stream');
    return new VCenterStream(entry, options, ctx);
  },
});
