/**
 * Artifacts in an S3-compatible bucket (AWS S3, SeaweedFS, Ceph, R2, ...) through the AWS SDK v3:
 * one object per artifact under `<prefix>/sha256/<digest>`. Credentials and region come from the
 * usual AWS_* variables; a custom endpoint (--artifacts-endpoint, AWS_ENDPOINT_URL) is addressed
 * path-style, as S3-compatible servers expect. A PUT is atomic: a failed upload leaves no object.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type RemoteStore, unavailable } from './store.ts';

export interface S3Location { bucket: string; prefix: string }

/** `s3://bucket/some/prefix` -> bucket and prefix (without slashes at either end). */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new Error(`--artifacts '${url}' is not an S3 URL: use s3://bucket/prefix`);
  return { bucket: m[1], prefix: m[2].replace(/^\/+|\/+$/g, '') };
}

export class S3Artifacts implements RemoteStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(url: string, endpoint?: string) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
    endpoint ??= process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}${endpoint ? ` (${endpoint})` : ''}`;
    this.client = new S3Client({
      region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      // S3-compatible servers do not all know the SDK's default CRC checksums: send them only where S3 requires one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // An unreachable store fails the request in seconds rather than holding it.
      requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000 },
    });
  }

  key(digest: string): string {
    return `${this.prefix ? `${this.prefix}/` : ''}sha256/${digest}`;
  }

  async put(digest: string, bytes: Uint8Array): Promise<boolean> {
    const Key = this.key(digest);
    try {
      if (await this.exists(Key)) return false;
      await this.client.send(new PutObjectCommand({
        Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.length, ContentType: 'application/octet-stream', Metadata: { sha256: digest },
      }));
      return true;
    } catch (e) {
      throw unavailable(this.location, `store artifact ${digest}`, e);
    }
  }

  private async exists(Key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return true;
    } catch (e) {
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 && (e as Error).name !== 'NoSuchBucket') return false;
      throw e;
    }
  }

  async read(digest: string): Promise<Buffer> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (e) {
      throw unavailable(this.location, `read artifact ${digest}`, e);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
