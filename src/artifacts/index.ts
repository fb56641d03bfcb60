/**
 * Content-addressed artifact storage (sha256) with three backends: a local directory (the
 * default), an S3-compatible bucket, or the database. The shared ones sit behind a local
 * read-through cache in the data directory.
 */
import path from 'node:path';
import type { DB } from '../store/index.ts';
import { CachedArtifacts } from './cache.ts';
import { DatabaseArtifacts } from './database.ts';
import { FileArtifacts } from './files.ts';
import type { ArtifactStore } from './store.ts';

export { sha256, type ArtifactStore } from './store.ts';

export interface ArtifactOptions {
  /** `s3://bucket/prefix`, `database`, or a directory (--artifacts, BETTONG_ARTIFACTS). */
  url?: string;
  /** The S3 endpoint of an S3-compatible server (--artifacts-endpoint; else AWS_ENDPOINT_URL). */
  endpoint?: string;
}

/**
 * The artifact store the options ask for. Without a URL: the directory `<dataDir>/artifacts`, or
 * the database when that is shared by several servers (`sharedDatabase`: PostgreSQL).
 */
export async function openArtifacts(o: ArtifactOptions & { dataDir: string; db: DB; sharedDatabase?: boolean }): Promise<ArtifactStore> {
  const url = o.url?.trim() || (o.sharedDatabase ? 'database' : path.join(o.dataDir, 'artifacts'));
  const cacheDir = path.join(o.dataDir, 'artifact-cache');
  if (url.startsWith('s3://')) {
    // The AWS SDK takes about a second to load: only servers that use a bucket pay for it.
    const { S3Artifacts } = await import('./s3.ts');
    return new CachedArtifacts(new S3Artifacts(url, o.endpoint || undefined), cacheDir);
  }
  if (url === 'database') return new CachedArtifacts(new DatabaseArtifacts(o.db), cacheDir);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new Error(`--artifacts '${url}' is not supported: use s3://bucket/prefix, database, or a directory`);
  return new FileArtifacts(path.resolve(url));
}
