/**
 * The checkpoint of one vCenter stream: the newest event every processor
 * acknowledged, and whose vCenter it belongs to. It is kept in a file
 * (written atomically: temporary file, fsync, rename, so that a crash leaves
 * the old file or the new one, never half of one), or, when replicas share
 * the streams, beside the stream's lease (`CheckpointStore`).
 */
import { open, readFile, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';

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

/** The file for a stream: its name, made safe for a file name. */
export function checkpointFile(dir: string, name: string): string {
  return path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.checkpoint.json`);
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

export class FileCheckpointStore implements CheckpointStore {
  constructor(readonly where: string) {}
  read(): Promise<ReadResult> {
    return readCheckpoint(this.where);
  }
  write(cp: Checkpoint): Promise<void> {
    return writeCheckpoint(this.where, cp);
  }
}

export async function readCheckpoint(file: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing' };
    return { status: 'unusable', reason: `cannot read it (${code ?? (err as Error).message})` };
  }
  return parseCheckpoint(text);
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

export async function writeCheckpoint(file: string, cp: Checkpoint): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(cp) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
