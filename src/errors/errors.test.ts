/** The one normaliser: framework errors and storage failures land on catalogued codes. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { httpStatus, storageError, toBettongError } from './index.ts';

const fastifyErrors = createRequire(import.meta.url)('fastify/lib/errors.js') as Record<string, unknown>;

describe('toBettongError', () => {
  it("maps every Fastify error a request can raise (its 4xx FST_ERR_*) to a catalogued code with the same class of status", () => {
    for (const [name, Ctor] of Object.entries(fastifyErrors)) {
      if (typeof Ctor !== 'function' || !name.startsWith('FST_ERR_')) continue;
      let err: Error & { statusCode?: number };
      try { err = new (Ctor as new (...a: string[]) => Error & { statusCode?: number })('a', 'b', 'c'); } catch { continue; }
      if (!err.statusCode || err.statusCode >= 500) continue;
      const e = toBettongError(err);
      assert.notEqual(e.code, 'INTERNAL', name);
      assert.equal(Math.floor(httpStatus[e.code] / 100), 4, `${name} -> ${e.code}`);
    }
    assert.equal(toBettongError(new (fastifyErrors.FST_ERR_MAX_PARAM_LENGTH as new (p: string) => Error)('/x')).code, 'INVALID_NAME');
  });

  it('answers a full disk with 507 and a read-only or failing one with 503', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) assert.equal(toBettongError(Object.assign(new Error('full'), { code })).status, 507, code);
    for (const code of ['EROFS', 'EIO', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_IOERR_WRITE', 'SQLITE_BUSY']) {
      const e = toBettongError(Object.assign(new Error('no'), { code }));
      assert.deepEqual([e.code, e.status], ['STORAGE_UNAVAILABLE', 503], code);
    }
    // Text PostgreSQL cannot hold (a NUL character) is the caller's input, not a server fault.
    for (const code of ['22021', '22P05']) assert.deepEqual([toBettongError(Object.assign(new Error('0x00'), { code })).status], [400], code);
    // Codes that do not only mean storage stay what they were.
    assert.equal(toBettongError(Object.assign(new Error('x'), { code: 'ENOENT' })).code, 'INTERNAL');
    assert.equal(toBettongError(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' })).code, 'INTERNAL');
    // Where the write is known to be storage, any failure is.
    assert.equal(storageError(Object.assign(new Error('x'), { code: 'ENOTDIR' }), 'the artifact').code, 'STORAGE_UNAVAILABLE');
    assert.equal(storageError(Object.assign(new Error('x'), { code: 'ENOSPC' }), 'the artifact').code, 'INSUFFICIENT_STORAGE');
  });
});
