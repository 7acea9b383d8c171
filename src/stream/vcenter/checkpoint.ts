/**
 * The checkpoint of one vCenter stream: the newest event every processor
 * acknowledged, and whose vCenter it belongs to. It is kept in a file
 * (written atomically: temporary file, fsync, rename, so that a crash leaves
 * the old file or the new one, never half of one). When replicas share the
 * streams it is kept beside the stream's lease instead (src/coordination/).
 */
import { open, readFile, rename, mkdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  type Checkpoint,
  type CheckpointStore,
  parseCheckpoint,
  type ReadResult,
} from '../../components/checkpoint';

/** The file for a stream: its name, made safe for a file name. */
export function checkpointFile(dir: string, name: string): string {
  return path.join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.checkpoint.json`);
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
