/**
 * The checkpoint's temporary file is created exclusively: a symlink planted
 * at its name is never followed (the file it points to is left alone), and a
 * write that fails leaves no temporary file behind.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Checkpoint } from '../../../src/components/checkpoint';
import { writeCheckpoint } from '../../../src/stream/vcenter/checkpoint';

const cp: Checkpoint = {
  version: 1,
  source: 'https://vc.example.com/sdk',
  name: 'vc',
  instanceUuid: 'uuid',
  key: 42,
  time: '2026-01-01T00:00:00Z',
  written: '2026-01-01T00:00:01Z',
};

test('a symlink planted at the temporary name is not followed', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-link-'));
  const victim = path.join(dir, 'victim.txt');
  writeFileSync(victim, 'precious\n');
  const file = path.join(dir, 'vc.checkpoint.json');
  symlinkSync(victim, `${file}.${process.pid}.tmp`);
  await writeCheckpoint(file, cp);
  expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(cp);
  expect(readdirSync(dir).sort()).toEqual(['vc.checkpoint.json', 'victim.txt']);
});

test('a failed write leaves no temporary file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cp-fail-'));
  const file = path.join(dir, 'vc.checkpoint.json');
  // A directory in the checkpoint's place: the rename fails.
  mkdirSync(file);
  writeFileSync(path.join(file, 'x'), '');
  await expect(writeCheckpoint(file, cp)).rejects.toThrow();
  expect(readdirSync(dir)).toEqual(['vc.checkpoint.json']);
});
