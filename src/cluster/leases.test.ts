/** Leases between two servers (two Leases over one store, on SQLite or the run's PostgreSQL): taken once, renewed, run out, released. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DB, openStore } from '../store/index.ts';
import { tempDir, testDatabase } from '../../test/helpers.ts';
import { Leases } from './leases.ts';

describe('leases', () => {
  let db: DB;
  let now = 1_000_000;
  const clock = () => now;

  before(async () => {
    const dir = tempDir();
    db = await openStore(dir, await testDatabase(dir));
  });
  after(() => db.destroy());

  it('gives a lease to one server until it runs out, then to another', async () => {
    const a = new Leases(db, clock);
    const b = new Leases(db, clock);
    assert.deepEqual(await a.claim('assay:1', 1000), { won: true });
    assert.deepEqual(await b.claim('assay:1', 1000), { won: false, expiresAt: now + 1000 });
    now += 500;
    assert.deepEqual(await a.claim('assay:1', 1000), { won: true }, 'its holder renews it');
    now += 900;
    assert.equal((await b.claim('assay:1', 1000)).won, false, 'renewed: not run out yet');
    now += 100;
    assert.deepEqual(await b.claim('assay:1', 1000), { won: true }, 'run out: the other takes it');
    assert.equal((await a.claim('assay:1', 1000)).won, false);
  });

  it('frees a released lease at once; a release by a server that does not hold it does nothing', async () => {
    const a = new Leases(db, clock);
    const b = new Leases(db, clock);
    assert.equal((await a.claim('alert:7', 60_000)).won, true);
    await b.release('alert:7');
    assert.equal((await b.claim('alert:7', 60_000)).won, false);
    await a.release('alert:7');
    assert.equal((await b.claim('alert:7', 60_000)).won, true);
  });

  it('runs work under a lease only where it was won', async () => {
    const a = new Leases(db, clock);
    const b = new Leases(db, clock);
    let inside: { ran: boolean } | undefined;
    const held = await a.hold('assay:9', 1000, async () => {
      inside = await b.hold('assay:9', 1000, async () => 'b');
      return 'a';
    });
    assert.deepEqual(held, { ran: true, value: 'a' });
    assert.equal(inside?.ran, false);
    assert.deepEqual(await b.hold('assay:9', 1000, async () => 'b'), { ran: true, value: 'b' }, 'released when the work ended');
  });
});
