/**
 * A real S3-compatible store for the artifact tests: SeaweedFS (`weed server -s3`, built by
 * scripts/lib.sh) on loopback ports, data in a temp directory, one identity with a key pair.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { eventually, tempDir } from './helpers.ts';
import { goTool } from './go-tools.ts';

export interface SeaweedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** An SDK client signed with the identity's keys, path-style, as the server uses it. */
  client: S3Client;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((res) => srv.close(res));
  return port;
}

export async function startSeaweedFS(): Promise<SeaweedS3> {
  const dir = tempDir();
  const accessKeyId = 'bettong-test';
  const secretAccessKey = 'bettong-test-secret-key-0123456789';
  const config = path.join(dir, 's3.json');
  fs.writeFileSync(config, JSON.stringify({
    identities: [{ name: 'bettong', credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }], actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'] }],
  }));
  // Every port explicit: the gRPC ports would default to HTTP + 10000, which may be taken.
  const ports: Record<string, number> = {};
  for (const p of ['master.port', 'master.port.grpc', 'volume.port', 'volume.port.grpc', 'filer.port', 'filer.port.grpc', 's3.port', 's3.port.grpc', 'debug.port']) ports[p] = await freePort();
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  const args = ['server', '-ip', '127.0.0.1', '-ip.bind', '127.0.0.1', '-dir', data, '-filer', '-s3', '-s3.config', config,
    ...Object.entries(ports).flatMap(([k, v]) => [`-${k}`, String(v)]),
    '-s3.port.iceberg', '0', '-s3.port.lance', '0', '-master.telemetry=false', '-master.volumeSizeLimitMB', '64', '-volume.max', '8', '-volume.preStopSeconds', '0'];
  const log = fs.openSync(path.join(dir, 'weed.log'), 'w');
  const proc: ChildProcess = spawn(goTool('weed'), args, { stdio: ['ignore', log, log] });
  let exited = false;
  proc.once('exit', () => { exited = true; });
  const endpoint = `http://127.0.0.1:${ports['s3.port']}`;
  const client = new S3Client({
    endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const stop = async () => {
    client.destroy();
    if (!exited) {
      const gone = new Promise((res) => proc.once('exit', res));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    fs.closeSync(log);
    fs.rmSync(dir, { recursive: true, force: true });
    // SeaweedFS leaves its local sockets in /tmp, named by port.
    const ours = new Set(Object.values(ports).map(String));
    for (const f of fs.readdirSync(os.tmpdir())) {
      if (/^seaweedfs-.*\.sock$/.test(f) && ours.has(/-(\d+)\.sock$/.exec(f)?.[1] ?? '')) fs.rmSync(path.join(os.tmpdir(), f), { force: true });
    }
  };
  try {
    await eventually(async () => {
      if (exited) throw new Error(`weed exited:\n${fs.readFileSync(path.join(dir, 'weed.log'), 'utf8').slice(-3000)}`);
      return client.send(new ListBucketsCommand({})).then(() => true, () => false);
    }, 'SeaweedFS S3 to answer', 120_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, accessKeyId, secretAccessKey, client, stop };
}

/** Makes a bucket, as an operator would before pointing servers at it. */
export async function createBucket(s3: SeaweedS3, bucket: string): Promise<void> {
  await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
}
