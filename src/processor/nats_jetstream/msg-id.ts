/**
 * The `Nats-Msg-Id` of an event. CloudEvent ids are unique per source only (a
 * webhook client may send the id of a vCenter event), and JetStream drops a
 * message whose id it already holds within its duplicate window: the id alone
 * would make one source's event the "duplicate" of another's. The SHA-256 of
 * source and id (hex) is unique across sources, the same for every retry of
 * one event, of fixed length whatever the id's, and safe in a header.
 */
import { createHash } from 'node:crypto';
import type { RouterEvent } from '../../events/types';

export function natsMsgId(event: Pick<RouterEvent, 'source' | 'id'>): string {
  return createHash('sha256')
    .update(event.source, 'utf8')
    .update('\0')
    .update(event.id, 'utf8')
    .digest('hex');
}
