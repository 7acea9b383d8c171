/**
 * What EventBridge does with one PutEvents entry: the event it builds (and
 * matches rules against), and the entry size it counts against the 256 KB
 * limit ("Calculating Amazon EventBridge PutEvents event entry size").
 */
import { randomUUID } from 'node:crypto';

/** The 256 KB limit, per entry and per PutEvents call. */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** At most 10 entries per PutEvents call. */
export const MAX_BATCH_ENTRIES = 10;

export interface PutEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Resources?: string[];
  Time?: Date;
}

/** Entry size as EventBridge computes it: UTF-8 bytes of Source, DetailType, Detail, Resources; Time counts 14. */
export function entrySize(entry: PutEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source, 'utf8');
  size += Buffer.byteLength(entry.DetailType, 'utf8');
  size += Buffer.byteLength(entry.Detail, 'utf8');
  for (const r of entry.Resources ?? []) size += Buffer.byteLength(r, 'utf8');
  return size;
}

/** `2017-10-02T16:24:49Z`: EventBridge's `time`, whole seconds. */
function ebTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The event EventBridge builds from an entry: what a rule's pattern sees. */
export function envelope(
  entry: PutEntry,
  detail: unknown,
  where: { account: string; region: string },
  now: Date = new Date(),
): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: where.account,
    time: ebTime(entry.Time ?? now),
    region: where.region,
    resources: entry.Resources ?? [],
    detail,
  };
}

/** Parts of a rule ARN: `arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME`. */
export function parseRuleArn(
  arn: string,
): { region: string; account: string; bus?: string; name: string } | undefined {
  const m = /^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):rule\/(.+)$/.exec(arn);
  if (!m) return undefined;
  const rest = m[3];
  const slash = rest.lastIndexOf('/');
  return slash < 0
    ? { region: m[1], account: m[2], name: rest }
    : { region: m[1], account: m[2], bus: rest.slice(0, slash), name: rest.slice(slash + 1) };
}
