/**
 * The streams, processors (sinks) and coordination stores `-h` lists: read from the catalogue, so that the help
 * names exactly the providers a configuration may use.
 */
import type { ComponentDefinition } from '../components/component';
import { coordinations, sinks, streams } from '../catalogue';

function section(title: string, list: Array<ComponentDefinition<unknown>>): string {
  const width = Math.max(...list.map((d) => d.provider.length));
  return [`${title}:`, ...list.map((d) => `  ${d.provider.padEnd(width)}  ${d.description}`)].join('\n');
}

export function componentsHelp(): string {
  return [
    section(
      'Streams (entries {"type": "stream", "provider": …})',
      streams as Array<ComponentDefinition<unknown>>,
    ),
    section(
      'Processors (entries {"type": "processor", "provider": …})',
      sinks as Array<ComponentDefinition<unknown>>,
    ),
    section(
      'Coordination of several replicas (an entry {"type": "coordination", "provider": …})',
      coordinations as Array<ComponentDefinition<unknown>>,
    ),
  ].join('\n\n');
}
