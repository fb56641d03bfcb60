/**
 * Shared artifact stores (issue #14): an S3-compatible bucket (a real SeaweedFS on loopback) and
 * the database. A model uploaded through one server is stored there, deployed and served; a
 * second server with its own data directory reads it from the store through its local cache.
 * (Servers share their other state through PostgreSQL; here the second server starts on a copy
 * of the first one's SQLite file, which holds the same rows.)
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { assertClose, call, expected, modelBytes, oipRequest, tempDir, type TestServer, testServer } from './helpers.ts';
import { createBucket, type SeaweedS3, startSeaweedFS } from './seaweedfs.ts';
import type { ArtifactOptions } from '../src/artifacts/index.ts';

const FIXTURE = 'breast_cancer_logreg';
const digestOf = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const files = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name) : [];

async function inferOk(s: TestServer, pipeline: string): Promise<void> {
  const e = expected(FIXTURE);
  const r = await call(s, 'POST', `/v2/models/${pipeline}/infer`, oipRequest(e));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const label = r.json.outputs.find((o: { name: string }) => o.name === 'label');
  assertClose(label.data, e.outputs.label.data);
}

/** Uploads the fixture and deploys it as `pipeline`: the digest of what was stored. */
async function uploadAndDeploy(s: TestServer, pipeline: string): Promise<string> {
  const bytes = modelBytes(FIXTURE);
  const up = await call(s, 'POST', `/v1/models/${FIXTURE}`, bytes, { 'content-type': 'application/octet-stream' });
  assert.equal(up.status, 201, JSON.stringify(up.json));
  await s.client.createPipeline(pipeline, [{ model: FIXTURE }]);
  await s.client.deploy(pipeline);
  return up.json.sha256;
}

/**
 * A second server with its own data directory over the first one's state (a copy of its stopped
 * database: what PostgreSQL shares) and the same artifact store; nothing of the first's artifacts.
 */
async function secondServer(first: TestServer, artifacts: ArtifactOptions): Promise<TestServer> {
  await first.close();
  const dataDir = tempDir();
  fs.copyFileSync(path.join(first.dataDir, 'bettong.sqlite'), path.join(dataDir, 'bettong.sqlite'));
  return testServer({ dataDir, artifacts });
}

/** The second server lists the model, has restored its deployment from the store, serves it and hands out the same bytes. */
async function servesFromStore(s: TestServer, pipeline: string, digest: string): Promise<void> {
  assert.ok((await s.client.listModels()).some((m) => m.name === FIXTURE), 'the model is listed');
  await inferOk(s, pipeline);
  const download = await call(s, 'GET', `/v1/models/${FIXTURE}/versions/1/artifact`);
  assert.equal(download.status, 200);
  assert.equal(digestOf(download.body), digest);
  assert.deepEqual(files(path.join(s.dataDir, 'artifact-cache')), [digest], 'read through the local cache');
}

describe('artifacts in an S3-compatible bucket (SeaweedFS on loopback)', () => {
  let s3: SeaweedS3;
  let artifacts: ArtifactOptions;
  const servers: TestServer[] = [];
  const start = async (opts: Parameters<typeof testServer>[0]) => { const s = await testServer(opts); servers.push(s); return s; };

  before(async () => {
    s3 = await startSeaweedFS();
    // The server's SDK reads the usual AWS variables.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: 'us-east-1' });
    await createBucket(s3, 'bettong');
    artifacts = { url: 's3://bettong/models', endpoint: s3.endpoint };
  });
  after(async () => {
    for (const s of servers) await s.close();
    await s3?.stop();
  });

  let first: TestServer;
  let digest: string;

  it('stores an upload as an object in the bucket, and deploys and infers from it', async () => {
    first = await start({ artifacts });
    digest = await uploadAndDeploy(first, 'cancer');
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'bettong', Prefix: 'models/' }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [[`models/sha256/${digest}`, modelBytes(FIXTURE).length]]);
    assert.deepEqual(files(path.join(first.dataDir, 'artifacts')), [], 'nothing in the default directory');
    await inferOk(first, 'cancer');
  });

  it('serves the model from a second server with its own data directory', async () => {
    const second = await secondServer(first, artifacts);
    servers.push(second);
    await servesFromStore(second, 'cancer', digest);
  });

  it('refuses an object whose content no longer matches its digest', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: 'bettong', Key: `models/sha256/${digest}`, Body: modelBytes('digits_mlp') }));
    // A server without a cached copy finds the damage when it loads the model, and says so.
    const third = await secondServer(first, artifacts);
    servers.push(third);
    const r = await call(third, 'POST', '/v1/pipelines/cancer/deploy', {});
    assert.equal(r.status, 503);
    assert.equal(r.json.code, 'STORAGE_UNAVAILABLE');
    assert.match(r.json.error, /holds damaged content for artifact/);
    assert.deepEqual(files(path.join(third.dataDir, 'artifact-cache')), [], 'nothing damaged is cached');
    // The second server's verified copy keeps serving.
    await inferOk(servers[1], 'cancer');
  });

  it('answers 503 STORAGE_UNAVAILABLE naming the store when it cannot be reached, records nothing and keeps serving', async () => {
    const s = await start({ artifacts: { url: 's3://bettong/models', endpoint: 'http://127.0.0.1:9' } });
    const r = await call(s, 'POST', '/v1/models/unreachable', modelBytes(FIXTURE), { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 503);
    assert.equal(r.json.code, 'STORAGE_UNAVAILABLE');
    assert.match(r.json.error, /artifact store s3:\/\/bettong\/models \(http:\/\/127\.0\.0\.1:9\) could not store artifact/);
    assert.equal((await call(s, 'GET', '/v1/models/unreachable')).json.code, 'MODEL_NOT_FOUND');
    assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
  });
});

describe('artifacts in the database', () => {
  let first: TestServer;
  let second: TestServer | undefined;
  after(async () => {
    await first?.close();
    await second?.close();
  });

  it('keeps an upload as a row, deploys and infers from it, and stores identical content once', async () => {
    first = await testServer({ artifacts: { url: 'database' } });
    const digest = await uploadAndDeploy(first, 'cancer');
    await first.client.uploadModel('copy', modelBytes(FIXTURE));
    const rows = await first.platform.db.selectFrom('artifacts').select(['sha256', 'size', 'bytes']).execute();
    assert.deepEqual(rows.map((r) => [r.sha256, Number(r.size), digestOf(r.bytes)]), [[digest, modelBytes(FIXTURE).length, digest]]);
    assert.deepEqual(files(path.join(first.dataDir, 'artifacts')), [], 'nothing in the default directory');
    await inferOk(first, 'cancer');
  });

  it('serves the model from a second server with its own data directory', async () => {
    const digest = digestOf(modelBytes(FIXTURE));
    second = await secondServer(first, { url: 'database' });
    await servesFromStore(second, 'cancer', digest);
  });
});
