/** Choosing the artifact store from the options: the URL forms, the defaults, and refusals that name the option. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DB } from '../store/index.ts';
import { openArtifacts } from './index.ts';
import { parseS3Url } from './s3.ts';

const dataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-artifacts-'));
const db = {} as DB;

describe('openArtifacts', () => {
  it('reads s3://bucket/prefix', () => {
    assert.deepEqual(parseS3Url('s3://models/team/a/'), { bucket: 'models', prefix: 'team/a' });
    assert.deepEqual(parseS3Url('s3://models'), { bucket: 'models', prefix: '' });
    assert.throws(() => parseS3Url('s3:///x'), /--artifacts 's3:\/\/\/x' is not an S3 URL/);
  });

  it('picks the backend: the data directory by default, the database when it is shared, else what the URL says', async () => {
    const dir = dataDir();
    assert.equal((await openArtifacts({ dataDir: dir, db })).location, path.join(dir, 'artifacts'));
    assert.equal((await openArtifacts({ dataDir: dir, db, sharedDatabase: true })).location, 'database');
    assert.equal((await openArtifacts({ dataDir: dir, db, url: 'database' })).location, 'database');
    assert.equal((await openArtifacts({ dataDir: dir, db, url: path.join(dir, 'elsewhere') })).location, path.join(dir, 'elsewhere'));
    const s3 = await openArtifacts({ dataDir: dir, db, url: 's3://models/bettong', endpoint: 'http://127.0.0.1:8333' });
    assert.equal(s3.location, 's3://models/bettong (http://127.0.0.1:8333)');
    await s3.close();
  });

  it('refuses a URL scheme it does not know, naming --artifacts', async () => {
    await assert.rejects(openArtifacts({ dataDir: dataDir(), db, url: 'gs://models/x' }), /--artifacts 'gs:\/\/models\/x' is not supported: use s3:\/\/bucket\/prefix, database, or a directory/);
  });
});
