/**
 * The sink contract (test/helpers/sink-contract.ts) for aws_event_bridge,
 * against the local EventBridge endpoint. The rule's pattern matches every
 * contract class, so that the processor's filter alone decides what is kept
 * out. Failures are EventBridge's own, per entry: `ThrottlingException` (a
 * code that a later call may not get) the first time, and
 * `NotAuthorizedForDetailTypeException` (the caller may not put that
 * detail-type) for good; the hanging class is a PutEvents call never answered.
 */
import { CONTRACT_CLASSES, sinkContract } from '../../helpers/sink-contract';
import { entryFor, startEndpoint } from './helpers';

const C = CONTRACT_CLASSES;

sinkContract('aws_event_bridge', async () => {
  const ep = await startEndpoint({ detail: { subject: Object.values(C) } });
  /** Entries of each detail-type in the PutEvents calls the endpoint got (signed), answered or not. */
  const seen = new Map<string, number>();
  const attempts = (subject: string): number => seen.get(subject) ?? 0;
  ep.holdCall = (entries) => {
    for (const e of entries) seen.set(String(e.DetailType), attempts(String(e.DetailType)) + 1);
    return entries.some((e) => e.DetailType === C.hang);
  };
  ep.entryFailure = (e) => {
    if (e.DetailType === C.transient && attempts(C.transient) === 1) return 'ThrottlingException';
    if (e.DetailType === C.permanent) return 'NotAuthorizedForDetailTypeException';
    return undefined;
  };
  return {
    entry: entryFor(ep),
    accepted: (subject) =>
      ep.entries
        .filter((e) => e.DetailType === subject)
        .map((e) => (JSON.parse(e.Detail) as { id: string }).id),
    attempts,
    close: () => ep.close(),
  };
});
