/**
 * The checkpoint file of one vCenter stream: the newest event every processor
 * acknowledged, and whose vCenter it belongs to. Written atomically (temporary
 * file, fsync, rename), so that a crash leaves the old file or the new one,
 * never half of one.
 */
import { open, readFile, rename, mkdir, unlink, type FileHandle } from 'node:fs/promises';
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

export async function readCheckpoint(file: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'missing' };
    return { status: 'unusable', reason: `cannot read it (${code ?? (err as Error).message})` };
  }
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

/**
 * The temporary file, created exclusively (`wx`: never through a symlink
 * planted at its name, never into a file that exists). What is at the name
 * already (a crashed run's leftover of the same pid, or a planted link) is
 * removed first: unlink removes the link, not what it points to.
 */
async function createExclusive(tmp: string): Promise<FileHandle> {
  try {
    return await open(tmp, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await unlink(tmp);
    return open(tmp, 'wx', 0o600);
  }
}

export async function writeCheckpoint(file: string, cp: Checkpoint): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await createExclusive(tmp);
  try {
    try {
      await fh.writeFile(JSON.stringify(cp) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    // A full disk (ENOSPC) or a failed rename leaves no temporary file behind.
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
