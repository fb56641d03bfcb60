/** Users: who acts. A user holds no password; they act through API tokens. */
import { fail } from '../errors/index.ts';
import { checkName } from '../registry/index.ts';
import type { DB } from '../store/index.ts';

export interface User {
  id: number;
  name: string;
  admin: boolean;
  created_at: string;
}

type Row = { id: number; name: string; admin: number; created_at: number };
export const toUser = (r: Row): User => ({ id: r.id, name: r.name, admin: r.admin === 1, created_at: new Date(Number(r.created_at)).toISOString() });

export class Users {
  constructor(private readonly db: DB) {}

  async create(name: string, opts: { admin?: boolean } = {}): Promise<User> {
    checkName('user', name);
    if (await this.db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst()) {
      fail('USER_EXISTS', `user '${name}' already exists`);
    }
    const row = await this.db.insertInto('users').values({ name, admin: opts.admin ? 1 : 0, created_at: Date.now() })
      .returningAll().executeTakeFirstOrThrow();
    return toUser(row);
  }

  async list(): Promise<User[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
  }

  async byName(name: string): Promise<User> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toUser(row) : fail('USER_NOT_FOUND', `user '${name}' not found`);
  }

  async byId(id: number): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async count(): Promise<number> {
    return Number((await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  }
}
