/** Artifacts in the platform's own database (a blob on SQLite, a bytea on PostgreSQL): shared by every server on it. */
import type { DB } from '../store/index.ts';
import { type RemoteStore, unavailable } from './store.ts';

export class DatabaseArtifacts implements RemoteStore {
  readonly location = 'database';

  constructor(private readonly db: DB) {}

  async put(digest: string, bytes: Uint8Array): Promise<boolean> {
    try {
      const r = await this.db.insertInto('artifacts').values({ sha256: digest, size: bytes.length, bytes, created_at: Date.now() })
        .onConflict((oc) => oc.column('sha256').doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    } catch (e) {
      throw unavailable(this.location, `store artifact ${digest}`, e);
    }
  }

  async read(digest: string): Promise<Buffer> {
    let row: { bytes: Uint8Array } | undefined;
    try {
      row = await this.db.selectFrom('artifacts').select('bytes').where('sha256', '=', digest).executeTakeFirst();
    } catch (e) {
      throw unavailable(this.location, `read artifact ${digest}`, e);
    }
    if (!row) throw unavailable(this.location, `read artifact ${digest}`, new Error('no such artifact'));
    return Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength);
  }

  /** The database is the platform's own: it is closed with the platform. */
  async close(): Promise<void> {}
}
