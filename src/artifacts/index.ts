/** Content-addressed artifact storage: files named by their sha256, written atomically. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const sha256 = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

export class ArtifactStore {
  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  path(digest: string): string {
    return path.join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  /** Stores bytes under their digest (a no-op when already there) and returns the digest. */
  put(bytes: Uint8Array): string {
    const digest = sha256(bytes);
    const target = this.path(digest);
    if (!fs.existsSync(target)) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
      fs.writeFileSync(tmp, bytes);
      fs.renameSync(tmp, target);
    }
    return digest;
  }

  read(digest: string): Buffer {
    return fs.readFileSync(this.path(digest));
  }

  stream(digest: string): fs.ReadStream {
    return fs.createReadStream(this.path(digest));
  }
}
