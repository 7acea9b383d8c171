/** Every stream provider the router knows. */
import type { ComponentDefinition } from '../components/component';
import type { Stream } from './stream';
import { vcenterStream } from './vcenter/definition';
import { webhookStream } from './webhook/definition';

export const streams: ComponentDefinition<Stream>[] = [vcenterStream, webhookStream];
