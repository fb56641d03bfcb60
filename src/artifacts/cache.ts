/**
 * A shared store (S3, the database) behind a local read-through cache in the data directory:
 * deploys and restarts read each artifact over the network once. (Runtimes take bytes; the
 * sandboxed ones copy them where the sandbox's user can read.) Cached and fetched bytes are
 * checked against their sha256, so a damaged copy is never served.
 */
import { Readable } from 'node:stream';
import { BettongError } from '../errors/index.ts';
import { FileArtifacts } from './files.ts';
import { type ArtifactStore, type RemoteStore, sha256 } from './store.ts';

export class CachedArtifacts implements ArtifactStore {
  private readonly cache: FileArtifacts;

  constructor(private readonly remote: RemoteStore, cacheDir: string) {
    this.cache = new FileArtifacts(cacheDir);
  }

  get location(): string {
    return this.remote.location;
  }

  async put(bytes: Uint8Array): Promise<{ digest: string; created: boolean }> {
    const digest = sha256(bytes);
    const created = await this.remote.put(digest, bytes);
    await this.keep(digest, bytes);
    return { digest, created };
  }

  async remove(digest: string): Promise<void> {
    await this.cache.remove(digest);
  }

  async read(digest: string): Promise<Buffer> {
    const cached = await this.cache.readVerified(digest);
    if (cached) return cached;
    const bytes = await this.remote.read(digest);
    if (sha256(bytes) !== digest) {
      throw new BettongError('STORAGE_UNAVAILABLE', `the artifact store ${this.location} holds damaged content for artifact ${digest} (its sha256 differs)`);
    }
    await this.keep(digest, bytes);
    return bytes;
  }

  async stream(digest: string): Promise<Readable> {
    return Readable.from([await this.read(digest)]);
  }

  /** A cache that cannot be written (a full disk) costs a later network read, never the request. */
  private async keep(digest: string, bytes: Uint8Array): Promise<void> {
    await this.cache.put(bytes, digest).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.remote.close();
  }
}
