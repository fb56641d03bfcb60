/**
 * `bettong workspace|user|member|token|audit ...`: who may do what, where. Commands act in the
 * current workspace: --workspace (BETTONG_WORKSPACE), else the server's default.
 */
import type { Command } from 'commander';
import type { Role } from '../../sdk/index.ts';
import { type Cli, isDuration, parseSince } from '../context.ts';
import { table } from '../format.ts';

export function accessCommands(program: Command, { client, print, int }: Cli): void {
  const workspace = program.command('workspace').description('create, list, rename and archive workspaces');
  workspace.command('create <name>').description('create a workspace; you become its owner').action(async (name: string) => {
    const w = await client().createWorkspace(name);
    print(w, () => `created workspace ${w.name}; act in it with --workspace ${w.name} (or BETTONG_WORKSPACE=${w.name})`);
  });
  workspace.command('list').description('the workspaces you can act in, with your role').action(async () => {
    const ws = await client().listWorkspaces();
    print(ws, () => table(ws.map((w) => ({ name: w.name, role: w.role, archived: w.archived ? 'yes' : '', created_at: w.created_at }))));
  });
  workspace.command('rename <name> <new-name>').description('rename a workspace (owners)').action(async (name: string, to: string) => {
    const w = await client().renameWorkspace(name, to);
    print(w, () => `renamed workspace ${name} to ${w.name}`);
  });
  workspace.command('archive <name>').description('archive a workspace (owners): its pipelines are undeployed, it stays readable')
    .option('--undo', 'bring an archived workspace back')
    .action(async (name: string, o: { undo?: boolean }) => {
      const w = o.undo ? await client().unarchiveWorkspace(name) : await client().archiveWorkspace(name);
      print(w, () => `${o.undo ? 'unarchived' : 'archived'} workspace ${w.name}`);
    });

  const user = program.command('user').description('create and list users (platform admins)');
  user.command('create <name>').description('create a user; then give them a token: bettong token create NAME --user USER')
    .option('--admin', 'a platform admin: owner rights in every workspace, manages users')
    .action(async (name: string, o: { admin?: boolean }) => {
      const u = await client().createUser(name, { admin: o.admin });
      print(u, () => `created user ${u.name}${u.admin ? ' (admin)' : ''}`);
    });
  user.command('list').description('list users').action(async () => {
    const users = await client().listUsers();
    print(users, () => table(users as unknown as Record<string, unknown>[], ['name', 'admin', 'created_at']));
  });

  const member = program.command('member').description('members of the current workspace and their roles');
  member.command('add <user>').description('add a user to the current workspace, or change their role (owners)')
    .requiredOption('--role <role>', 'owner, editor or viewer')
    .action(async (name: string, o: { role: Role }) => {
      const m = await client().addMember(name, o.role);
      print(m, () => (m.previous ? `${m.user}: ${m.previous} -> ${m.role}` : `added ${m.user} as ${m.role}`));
    });
  member.command('remove <user>').description('remove a member from the current workspace (owners)').action(async (name: string) => {
    const r = await client().removeMember(name);
    print(r, () => `removed ${r.removed} (${r.role})`);
  });
  member.command('list').description('members of the current workspace').action(async () => {
    const ms = await client().listMembers();
    print(ms, () => table(ms as unknown as Record<string, unknown>[]));
  });

  const token = program.command('token').description('API tokens: create (the secret is shown once), list, revoke');
  token.command('create <name>').description('create an API token and print its secret, once')
    .option('--scope <workspace>', 'limit the token to this one workspace')
    .option('--inference-only', 'the token can call inference endpoints and nothing else (for applications)')
    .option('--expires <when>', 'a duration from now ("12h", "30d") or an ISO 8601 time')
    .option('--user <user>', 'make the token for another user (platform admins)')
    .action(async (name: string, o: { scope?: string; inferenceOnly?: boolean; expires?: string; user?: string }) => {
      const duration = o.expires !== undefined && isDuration(o.expires);
      const t = await client().createToken(name, {
        workspace: o.scope, inferenceOnly: o.inferenceOnly, user: o.user,
        ...(o.expires === undefined ? {} : duration ? { expiresIn: o.expires } : { expiresAt: o.expires }),
      });
      print(t, () => `created token ${t.token.name} for ${t.token.user}` +
        `${t.token.workspace ? ` (workspace ${t.token.workspace})` : ''}${t.token.inference_only ? ' (inference only)' : ''}` +
        `${t.token.expires_at ? `, expires ${t.token.expires_at}` : ''}\n` +
        `secret (shown once, stored only as a hash):\n  ${t.secret}`);
    });
  token.command('list').description('your active tokens (never their secrets)')
    .option('--user <user>', "another user's tokens, or '*' for everyone's (platform admins)")
    .action(async (o: { user?: string }) => {
      const ts = await client().listTokens({ user: o.user });
      print(ts, () => table(ts as unknown as Record<string, unknown>[], ['name', 'user', 'workspace', 'inference_only', 'expires_at', 'last_used_at', 'created_at']));
    });
  token.command('revoke <name>').description('revoke a token: refused from the next request on')
    .option('--user <user>', "revoke another user's token (platform admins)")
    .action(async (name: string, o: { user?: string }) => {
      const r = await client().revokeToken(name, { user: o.user });
      print(r, () => `revoked token ${r.revoked} of ${r.user}`);
    });

  program.command('audit').description("the current workspace's audit log, newest first (owners)")
    .option('--since <when>', 'from this time: "1h", "2d" ago, or an ISO time')
    .option('--until <when>', 'up to this time')
    .option('--action <action>', "one action ('pipeline.deploy') or a prefix ending in '.' ('token.')")
    .option('--limit <n>', 'at most this many records', '100')
    .option('--platform', 'platform events (users, unscoped tokens) instead (platform admins)')
    .action(async (o: { since?: string; until?: string; action?: string; limit: string; platform?: boolean }) => {
      const page = await client().audit({
        start: o.since && parseSince(o.since), end: o.until && parseSince(o.until), action: o.action, limit: int('limit')(o.limit), platform: o.platform,
      });
      print(page, () => table(page.records.map((r) => ({
        time: r.time, user: r.user, token: r.token ?? '(local)', action: r.action, target: r.target,
        outcome: r.outcome === 'ok' ? 'ok' : `${r.outcome} ${r.error ?? r.status}`, detail: Object.keys(r.detail).length ? r.detail : '',
      }))));
    });
}
