/**
 * A stream's checkpoint: the newest event every processor acknowledged, and
 * whose vCenter it belongs to, so that a restarted stream (or the replica
 * that takes it over) resumes right after it. Where it is kept is the
 * store's business: a file, or beside the stream's lease.
 */
export interface Checkpoint {
  version: 1;
  /** The stream's address without credentials, and its name: a checkpoint is never applied to another. */
  source: string;
  name: string;
  /** The vCenter's instanceUuid ("" for an ESXi host). */
  instanceUuid: string;
  /** The newest acknowledged event: key and createdTime. */
  key: number;
  time: string;
  written: string;
}

export type ReadResult =
  { status: 'ok'; checkpoint: Checkpoint } | { status: 'missing' } | { status: 'unusable'; reason: string };

/** Where a stream keeps its checkpoint. */
export interface CheckpointStore {
  /** For log lines: the file, or the lease. */
  readonly where: string;
  read(): Promise<ReadResult>;
  write(cp: Checkpoint): Promise<void>;
}

/** A checkpoint from its JSON text, checked field by field (a tampered or foreign one is unusable). */
export function parseCheckpoint(text: string): ReadResult {
  let v: Partial<Checkpoint>;
  try {
    v = JSON.parse(text) as Partial<Checkpoint>;
  } catch {
    return { status: 'unusable', reason: 'not valid JSON (corrupt)' };
  }
  if (
    !v ||
    v.version !== 1 ||
    typeof v.source !== 'string' ||
    typeof v.name !== 'string' ||
    typeof v.instanceUuid !== 'string' ||
    !Number.isInteger(v.key) ||
    typeof v.time !== 'string' ||
    !Number.isFinite(Date.parse(v.time))
  ) {
    return {
      status: 'unusable',
      reason: 'not a checkpoint of this router (fields missing or of the wrong type)',
    };
  }
  return { status: 'ok', checkpoint: v as Checkpoint };
}
