/** Content-addressed artifact storage: files named by their sha256, written atomically. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { storageError } from '../errors/index.ts';
import { checkWritableDir } from '../store/datadir.ts';

export const sha256 = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

export class ArtifactStore {
  constructor(private readonly root: string) {
    checkWritableDir(root, 'artifact directory');
  }

  path(digest: string): string {
    return path.join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  /**
   * Stores bytes under their digest (a no-op when already there): the digest, and whether this
   * call wrote the file. A failed write leaves no file and answers INSUFFICIENT_STORAGE or STORAGE_UNAVAILABLE.
   */
  put(bytes: Uint8Array): { digest: string; created: boolean } {
    const digest = sha256(bytes);
    const target = this.path(digest);
    if (fs.existsSync(target)) return { digest, created: false };
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(tmp, bytes);
      fs.renameSync(tmp, target);
    } catch (e) {
      try { fs.rmSync(tmp, { force: true }); } catch { /* there is no file where there is no directory */ }
      throw storageError(e, 'the artifact');
    }
    return { digest, created: true };
  }

  /** Removes an artifact nothing refers to any more (one whose registration failed). */
  remove(digest: string): void {
    fs.rmSync(this.path(digest), { force: true });
  }

  read(digest: string): Buffer {
    return fs.readFileSync(this.path(digest));
  }

  stream(digest: string): fs.ReadStream {
    return fs.createReadStream(this.path(digest));
  }
}
