/**
 * `bettong serve` that cannot start: it exits non-zero with the reason in one line, and leaves
 * nothing running (model workers, timers, the database) that would keep the process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, deployPipeline, tempDir, testServer } from './helpers.ts';

const BIN = path.join(ROOT, 'bin', 'bettong.mjs');
/** Far longer than a failed start takes; a hang (the defect) runs into it and is killed. */
const HANG_MS = 60_000;

/** Runs `bettong serve` to its end (or kills it after HANG_MS): exit code, signal, stderr. */
export function serveOnce(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let hung = false;
    proc.stderr!.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => { hung = true; proc.kill('SIGKILL'); }, HANG_MS);
    proc.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stderr, hung }); });
  });
}

describe('a start that fails', () => {
  let dataDir: string;
  let busy: net.Server;
  let port: number;
  before(async () => {
    // A data directory with a running deployment: its restore starts a model worker before the ports are bound.
    dataDir = tempDir();
    const s = await testServer({ dataDir });
    await deployPipeline(s, 'digits', ['digits_mlp']);
    await s.close();
    busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    port = (busy.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => busy.close(() => r())));

  it('exits non-zero, saying so, when the HTTP port is in use (issue 10.6)', async () => {
    const r = await serveOnce(['--data-dir', dataDir, '--port', String(port), '--grpc-port', '0']);
    assert.equal(r.hung, false, `still running after ${HANG_MS} ms; stderr: ${r.stderr}`);
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), `error: cannot listen for HTTP on 127.0.0.1:${port}: the port is in use (EADDRINUSE)`);
  });

  it('exits non-zero, saying so, when the gRPC port is in use', async () => {
    const r = await serveOnce(['--data-dir', dataDir, '--port', '0', '--grpc-port', String(port)]);
    assert.equal(r.hung, false, `still running after ${HANG_MS} ms; stderr: ${r.stderr}`);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: cannot listen for gRPC on 127\\.0\\.0\\.1:${port}: the port is in use \\(EADDRINUSE\\)$`, 'm'));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a known cause');
  });

  it('exits non-zero, saying so, on a port that is not a port', async () => {
    for (const args of [['--port', 'abc'], ['--port', '99999'], ['--port', '0', '--grpc-port', '-1']]) {
      const r = await serveOnce(['--data-dir', dataDir, ...args]);
      assert.equal(r.hung, false, `still running after ${HANG_MS} ms; stderr: ${r.stderr}`);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr.trim(), new RegExp(`^error: --(grpc-)?port must be a port number \\(0 to 65535; 0 picks a free one\\), got '${args.at(-1)}'$`));
    }
  });
});
