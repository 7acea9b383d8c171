/**
 * The options of the optional `router` entry: the router-wide settings, which
 * are the limits of the event log between the streams and the processors, and
 * the root CAs every TLS client trusts. Without the entry the defaults apply.
 */
import { fileListOption, intOption, readOptions, type OptionsOf } from './options';
import { loadRootCAs, type RootCAs } from '../util/tls';
import type { RouterConfig } from './types';

export const routerEntryOptions = {
  max_events: intOption('Events held for the slowest processor before the streams wait', 1, 10_000),
  max_bytes: intOption(
    'Bytes of CloudEvent JSON held for the slowest processor before the streams wait',
    65_536,
    32 * 1024 * 1024,
  ),
  root_cas: fileListOption(
    'PEM files of CAs trusted, besides the public CAs, for the TLS of every vCenter and every processor (a vCenter or sink behind an internal CA, verified without insecure)',
  ),
};

export type RouterEntryOptions = OptionsOf<typeof routerEntryOptions>;

/** The root CA files a configuration names (the router entry's `root_cas`). */
export function rootCAFiles(config: RouterConfig): string[] {
  return config.router ? readOptions(routerEntryOptions, config.router).root_cas : [];
}

/** Read the root CAs a configuration names; undefined when it names none. */
export function rootCAsOf(config: RouterConfig): RootCAs | undefined {
  const files = rootCAFiles(config);
  return files.length ? loadRootCAs(files) : undefined;
}
