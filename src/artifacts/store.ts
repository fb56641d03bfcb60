/** What every artifact backend offers: bytes stored and found by their sha256, never half-written. */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { BettongError } from '../errors/index.ts';

export const sha256 = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

export interface ArtifactStore {
  /** Where the artifacts live, for messages: a directory, s3://bucket/prefix, or `database`. */
  readonly location: string;
  /** Stores bytes under their digest (a no-op when already there): the digest, and whether this call stored them. */
  put(bytes: Uint8Array): Promise<{ digest: string; created: boolean }>;
  /**
   * Forgets an artifact nothing refers to any more (one whose registration failed). A store other
   * servers share keeps its copy: another server may be registering the same content right now.
   */
  remove(digest: string): Promise<void>;
  read(digest: string): Promise<Buffer>;
  stream(digest: string): Promise<Readable>;
  close(): Promise<void>;
}

/** A store reached over a network or a database: the local read-through cache sits in front of it. */
export interface RemoteStore {
  readonly location: string;
  put(digest: string, bytes: Uint8Array): Promise<boolean>;
  read(digest: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** A failure reaching the store: 503 STORAGE_UNAVAILABLE naming the store and what was being done. */
export function unavailable(location: string, doing: string, err: unknown): BettongError {
  if (err instanceof BettongError) return err;
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const detail = [e?.name && e.name !== 'Error' ? e.name : undefined, e?.message || e?.cause?.message || e?.code || e?.cause?.code || String(err)]
    .filter(Boolean).join(': ');
  return new BettongError('STORAGE_UNAVAILABLE', `the artifact store ${location} could not ${doing}: ${detail}`);
}
