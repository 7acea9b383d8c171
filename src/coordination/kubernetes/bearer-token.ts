/**
 * The bearer token sent to the Kubernetes API server: a fixed one, or one read
 * from a file. A bound service account token is rewritten by the kubelet
 * before it expires, so the file is read again whenever its modification time
 * changes, and once more when the API server rejects the token (the file may
 * have been rewritten within the same mtime tick). The token is held as a
 * secret while in use: peer text that echoes it is withheld from messages.
 */
import { readFile, stat } from 'node:fs/promises';
import { holdSecret } from '../../log/logger';
import { LeaseStoreError } from '../lease-store';

export type TokenSource = { token: string } | { tokenFile: string } | undefined;

export class BearerToken {
  private value: string | undefined;
  private mtimeMs = -1;
  private release: () => void = () => undefined;

  constructor(private readonly source: TokenSource) {}

  /** Where the token comes from, for messages (never its value). */
  get origin(): string {
    if (!this.source) return 'no bearer token (none is configured)';
    return 'token' in this.source
      ? 'the configured token'
      : `the token in token_file ${this.source.tokenFile}`;
  }

  get fromFile(): boolean {
    return this.source !== undefined && 'tokenFile' in this.source;
  }

  /** The token to send now: the file is read again when it changed since the last read. */
  async current(): Promise<string | undefined> {
    if (this.source && 'token' in this.source) this.set(this.source.token);
    else if (this.source && 'tokenFile' in this.source) {
      const mtimeMs = await this.fileMtime(this.source.tokenFile);
      if (mtimeMs !== this.mtimeMs || this.value === undefined)
        await this.readFile(this.source.tokenFile, mtimeMs);
    }
    return this.value;
  }

  /** Read the file whatever its mtime; true when it holds another token than the one sent. */
  async reread(): Promise<boolean> {
    if (!this.source || !('tokenFile' in this.source)) return false;
    const before = this.value;
    await this.readFile(this.source.tokenFile, await this.fileMtime(this.source.tokenFile));
    return this.value !== before;
  }

  /** Stop treating the token as a secret in use (the store is closed; opening it again holds it again). */
  close(): void {
    this.release();
    this.release = () => undefined;
    this.value = undefined;
    this.mtimeMs = -1;
  }

  private async fileMtime(file: string): Promise<number> {
    try {
      return (await stat(file)).mtimeMs;
    } catch (err) {
      throw this.unreadable(file, err);
    }
  }

  private async readFile(file: string, mtimeMs: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw this.unreadable(file, err);
    }
    const token = text.trim();
    if (token === '') throw new LeaseStoreError(`the Kubernetes token_file ${file} is empty`, true);
    this.set(token);
    this.mtimeMs = mtimeMs;
  }

  private set(token: string): void {
    if (token === this.value) return;
    const releaseOld = this.release;
    this.release = holdSecret(token);
    releaseOld();
    this.value = token;
  }

  private unreadable(file: string, err: unknown): LeaseStoreError {
    const code = (err as NodeJS.ErrnoException).code;
    return new LeaseStoreError(
      code === 'ENOENT'
        ? `the Kubernetes token_file ${file} does not exist (in a pod: is the service account token mounted?)`
        : `the Kubernetes token_file ${file} cannot be read (${code ?? (err as Error).message})`,
      true,
    );
  }
}
