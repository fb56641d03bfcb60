/** Artifacts as files named by their sha256 in a local directory (the default), written atomically. */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { storageError } from '../errors/index.ts';
import { checkWritableDir } from '../store/datadir.ts';
import { type ArtifactStore, sha256, unavailable } from './store.ts';

export class FileArtifacts implements ArtifactStore {
  constructor(private readonly root: string) {
    checkWritableDir(root, 'artifact directory');
  }

  get location(): string {
    return this.root;
  }

  path(digest: string): string {
    return path.join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  /** A failed write leaves no file and answers INSUFFICIENT_STORAGE or STORAGE_UNAVAILABLE. */
  async put(bytes: Uint8Array, digest = sha256(bytes)): Promise<{ digest: string; created: boolean }> {
    const target = this.path(digest);
    if (fs.existsSync(target)) return { digest, created: false };
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.writeFile(tmp, bytes);
      await fs.promises.rename(tmp, target);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw storageError(e, 'the artifact');
    }
    return { digest, created: true };
  }

  async remove(digest: string): Promise<void> {
    await fs.promises.rm(this.path(digest), { force: true });
  }

  async read(digest: string): Promise<Buffer> {
    return fs.promises.readFile(this.path(digest)).catch((e) => { throw unavailable(this.root, `read artifact ${digest}`, e); });
  }

  /** The bytes when the file is there and matches its digest; a file that does not is removed. */
  async readVerified(digest: string): Promise<Buffer | undefined> {
    const bytes = await fs.promises.readFile(this.path(digest)).catch(() => undefined);
    if (bytes === undefined || sha256(bytes) === digest) return bytes;
    await this.remove(digest).catch(() => undefined);
    return undefined;
  }

  async stream(digest: string): Promise<Readable> {
    const file = this.path(digest);
    await fs.promises.access(file).catch((e) => { throw unavailable(this.root, `find artifact ${digest}`, e); });
    return fs.createReadStream(file);
  }

  async close(): Promise<void> {}
}
