/**
 * The streams and processors (sinks) `-h` lists: read from the registries, so that the help
 * names exactly the providers a configuration may use.
 */
import type { ComponentDefinition } from '../components/component';
import { processors } from '../processor/registry';
import { streams } from '../stream/registry';

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
      processors as Array<ComponentDefinition<unknown>>,
    ),
  ].join('\n\n');
}
