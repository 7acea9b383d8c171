/**
 * What `validate` prints for a valid file: one line per entry saying what the
 * router will do with it, so that an operator can read back what a config
 * means (which vCenter, over which protocol, to which peer, with which filter).
 * The options are read with each component's own declarations, so defaults
 * here are the ones the router applies.
 */
import { coordinations, definitionFor, sinks, streams } from '../catalogue';
import { coordinatorOptions, leaseOptions } from '../coordination/definition-parts';
import { readOptions } from '../config/options';
import { routerEntryOptions } from '../config/router-entry';
import { entryName, type ConfigEntry, type RouterConfig } from '../config/types';
import { eventBridgeOptions } from '../processor/aws_event_bridge/options';
import { eventStreamOptions } from '../processor/event_stream/options';
import { knativeOptions } from '../processor/knative/options';
import { natsJetStreamOptions } from '../processor/nats_jetstream/options';
import { openfaasOptions } from '../processor/openfaas/options';
import { vcenterOptions } from '../stream/vcenter/options';
import { withoutCredentials } from '../util/address';

const PROTOCOL_WORDS: Record<string, string> = {
  soap: 'SOAP',
  vi_json: 'VI/JSON',
  auto: 'VI/JSON when the vCenter offers it, else SOAP (auto)',
};

const address = (entry: ConfigEntry): string => withoutCredentials(entry.address ?? '');

function describeStream(entry: ConfigEntry): string {
  const name = `stream ${entryName(entry)}`;
  if (entry.provider === 'vmware_vcenter') {
    const o = readOptions(vcenterOptions, entry);
    const protocol = PROTOCOL_WORDS[o.protocol] ?? o.protocol;
    const resume = o.checkpoint ? `, resuming after restarts from checkpoints in ${o.checkpoint_dir}` : '';
    const tls = o.insecure ? ' (certificate not verified)' : '';
    return `${name} follows vCenter ${address(entry)} over ${protocol}${tls}${resume}`;
  }
  if (entry.provider === 'webhook') return `${name} accepts CloudEvents POSTed to ${address(entry)}`;
  return `${name} (${definitionFor(streams, entry).description}) at ${address(entry)}`;
}

/** Where a processor sends, in the words of its provider. */
function destination(entry: ConfigEntry): string {
  switch (entry.provider) {
    case 'openfaas': {
      const o = readOptions(openfaasOptions, entry);
      const how = o.async ? 'asynchronously' : 'and waits for their reply';
      return `invokes the OpenFaaS functions subscribed to each event's topic on gateway ${address(entry)} ${how}`;
    }
    case 'aws_event_bridge': {
      const o = readOptions(eventBridgeOptions, entry);
      const endpoint = o.aws_eventbridge_endpoint ? ` through endpoint ${o.aws_eventbridge_endpoint}` : '';
      return `sends the events rule ${o.aws_eventbridge_rule_arn} matches to AWS EventBridge bus "${o.aws_eventbridge_event_bus || 'default'}" in ${o.aws_region}${endpoint}`;
    }
    case 'knative': {
      const o = readOptions(knativeOptions, entry);
      return `sends each event to ${address(entry)} as a ${o.encoding} CloudEvent over HTTP`;
    }
    case 'nats_jetstream': {
      const o = readOptions(natsJetStreamOptions, entry);
      const create = o.create_stream ? ' (created when missing)' : '';
      return `publishes each event to JetStream stream ${o.stream}${create} on ${address(entry)} under subject ${o.subject_prefix}.<event subject>`;
    }
    case 'event_stream': {
      const o = readOptions(eventStreamOptions, entry);
      const which = o.stream ? ` of stream ${o.stream}` : '';
      return `serves the last ${o.max_events} events${which} over the vSphere Event Streaming API on ${address(entry)}`;
    }
    case 'stdout':
      return 'prints each event as one JSON line on stdout';
    default:
      return `sends to ${address(entry) || entry.provider} (${definitionFor(sinks, entry).description})`;
  }
}

function describeProcessor(entry: ConfigEntry): string {
  const filter = entry.filter ? `with filter ${JSON.stringify(entry.filter)}` : 'with no filter';
  return `processor ${entryName(entry)} ${destination(entry)}, ${filter}`;
}

function describeMetrics(entry: ConfigEntry): string {
  const auth = entry.auth?.method === 'basic_auth' ? 'basic auth' : 'no auth';
  return `metrics served on ${address(entry)} (/metrics, /stats, /healthz, /readyz), ${auth}`;
}

function describeRouter(entry: ConfigEntry): string {
  const o = readOptions(routerEntryOptions, entry);
  const cas = o.root_cas?.length ? `; also trusts the CAs in ${o.root_cas.join(', ')}` : '';
  return `router holds up to ${o.max_events} events (${o.max_bytes} bytes) for the slowest processor${cas}`;
}

function describeCoordination(entry: ConfigEntry): string {
  const { identity } = coordinatorOptions(readOptions(leaseOptions, entry));
  const options = readOptions(definitionFor(coordinations, entry).options, entry);
  const store =
    entry.provider === 'kubernetes'
      ? `Kubernetes Lease objects in ${options.namespace ? `namespace ${String(options.namespace)}` : "the pod's own namespace"} ${entry.address ? `of the API server ${address(entry)}` : 'of the cluster the pod runs in'}`
      : entry.provider === 'nats'
        ? `the NATS key-value bucket ${String(options.bucket)} on ${address(entry)}`
        : `${entry.provider} at ${address(entry)}`;
  return `coordination through ${store}: the replicas share the streams, this one as "${identity}"`;
}

/** One line per entry of a valid configuration, in the file's kinds order. */
export function describeConfig(config: RouterConfig): string[] {
  return [
    ...config.streams.map(describeStream),
    ...config.processors.map(describeProcessor),
    describeMetrics(config.metrics),
    ...(config.router ? [describeRouter(config.router)] : []),
    ...(config.coordination ? [describeCoordination(config.coordination)] : []),
  ];
}
