/** Every processor the router knows. Adding a sink: a folder with a definition, and one line here. */
import type { ComponentDefinition } from '../components/component';
import type { Sink } from '../delivery/sink';
import { eventBridgeProcessor } from './aws_event_bridge/definition';
import { eventStreamProcessor } from './event_stream/definition';
import { knativeProcessor } from './knative/definition';
import { natsJetStreamProcessor } from './nats_jetstream/definition';
import { openfaasProcessor } from './openfaas/definition';
import { stdoutProcessor } from './stdout/definition';

export const processors: ComponentDefinition<Sink>[] = [
  openfaasProcessor,
  eventBridgeProcessor,
  knativeProcessor,
  stdoutProcessor,
  eventStreamProcessor,
  natsJetStreamProcessor,
];
