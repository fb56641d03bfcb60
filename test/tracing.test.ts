/**
 * Traces: a `bettong serve` process with the standard OTEL_* variables exports spans over
 * OTLP/HTTP (JSON) to a receiver this test runs on loopback; the span tree of a 3-step pipeline
 * request continues the caller's W3C traceparent over REST and over gRPC.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadOipProto } from '../src/server/grpc/index.ts';
import { BettongClient } from '../src/sdk/index.ts';
import { ROOT, eventually, modelBytes, tempDir } from './helpers.ts';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  startNs: bigint;
  endNs: bigint;
}

/** An OTLP/HTTP receiver that decodes the JSON encoding of ExportTraceServiceRequest. */
async function startReceiver(): Promise<{ url: string; spans: Span[]; paths: Set<string>; close(): Promise<void> }> {
  const spans: Span[] = [];
  const paths = new Set<string>();
  const value = (v: Record<string, unknown>) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue ?? v.doubleValue);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      paths.add(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name,
          attributes: Object.fromEntries((s.attributes ?? []).map((a: { key: string; value: Record<string, unknown> }) => [a.key, value(a.value)])),
          startNs: BigInt(s.startTimeUnixNano), endNs: BigInt(s.endTimeUnixNano),
        });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, paths, close: () => new Promise((r) => server.close(() => r())) };
}

async function startServe(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string; grpc: string }> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'bettong.mjs'), 'serve', '--data-dir', tempDir(), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let out = '';
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
    const seen = (d: Buffer) => {
      out += d;
      const found = /listening on (http:\/\/\S+)[\s\S]*OIP gRPC \S+ on (\S+)/.exec(out);
      if (found) { clearTimeout(timer); resolve(found); }
    };
    proc.stdout!.on('data', seen);
    proc.stderr!.on('data', seen);
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  assert.match(out, /tracing on: spans exported over OTLP/);
  return { proc, url: m[1], grpc: m[2] };
}

const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

describe('OpenTelemetry traces', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: Awaited<ReturnType<typeof startServe>>;

  before(async () => {
    receiver = await startReceiver();
    server = await startServe({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'bettong-under-test',
    });
    const client = new BettongClient({ url: server.url });
    await client.uploadModel('add_mul', modelBytes('add_mul'));
    await client.createPipeline('chain', [{ model: 'add_mul' }, { model: 'add_mul' }, { model: 'add_mul' }]);
    await client.deploy('chain', { replicas: 1 });
    await client.createPipeline('shadowed', [{ shadow: { champion: { model: 'add_mul' }, challengers: [{ model: 'add_mul' }] } }]);
    await client.deploy('shadowed', { replicas: 0, max_batch_size: 4, max_delay_ms: 5 });
  });
  after(async () => {
    server?.proc.kill('SIGKILL');
    await receiver?.close();
  });

  /** The spans of one trace once its request span and `want` more have arrived. */
  const traceOf = (traceId: string, want: number) => eventually(async () => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    return spans.length >= want ? spans : undefined;
  }, `spans of trace ${traceId}`, 10_000);

  function assertStepTree(spans: Span[], root: Span): void {
    const engine = spans.find((s) => s.name === 'pipeline chain');
    assert.ok(engine, `an engine span among ${spans.map((s) => s.name)}`);
    assert.equal(engine.parentSpanId, root.spanId, 'the engine span is a child of the request span');
    const steps = spans.filter((s) => s.name.startsWith('step ')).sort((a, b) => Number(a.attributes['bettong.step']) - Number(b.attributes['bettong.step']));
    assert.deepEqual(steps.map((s) => s.name), ['step 1 add_mul', 'step 2 add_mul', 'step 3 add_mul']);
    for (const s of steps) {
      assert.equal(s.parentSpanId, engine.spanId, `${s.name} is a child of the engine span`);
      assert.equal(s.attributes['bettong.model'], 'add_mul');
      assert.equal(s.attributes['bettong.model.version'], 1);
      assert.equal(s.attributes['bettong.rows'], 2);
      assert.ok(s.startNs >= engine.startNs && s.endNs <= engine.endNs + 1_000_000n, `${s.name} lies within the engine span`);
    }
    assert.ok(steps[0].endNs <= steps[1].startNs && steps[1].endNs <= steps[2].startNs, 'the steps ran in order');
    const log = spans.find((s) => s.name === 'log enqueue');
    assert.equal(log?.parentSpanId, root.spanId, 'log enqueue is a child of the request span');
  }

  test('a REST request continues the caller\'s traceparent: request span, engine span, one span per step, log enqueue', async () => {
    const traceId = hex(16);
    const parent = hex(8);
    const res = await fetch(`${server.url}/v1/pipelines/chain/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parent}-01` },
      body: JSON.stringify([{ a: [1, 2, 3], b: [4, 5, 6] }, { a: [0, 0, 0], b: [1, 1, 1] }]),
    });
    assert.equal(res.status, 200);
    const spans = await traceOf(traceId, 6);
    const root = spans.find((s) => s.name === 'POST /v1/pipelines/:name/infer');
    assert.ok(root, `a request span among ${spans.map((s) => s.name)}`);
    assert.equal(root.parentSpanId, parent, 'the request span continues the caller\'s span');
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(root.attributes['bettong.pipeline'], 'chain');
    assertStepTree(spans, root);
    assert.ok([...receiver.paths].some((p) => p.startsWith('POST /v1/traces application/json')), [...receiver.paths].join());
  });

  test('a gRPC ModelInfer continues the traceparent in its metadata the same way', async () => {
    const Service = (loadOipProto().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
    const client = new Service(server.grpc, grpc.credentials.createInsecure());
    const traceId = hex(16);
    const parent = hex(8);
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', `00-${traceId}-${parent}-01`);
    const tensor = (name: string, v: number[]) => ({ name, datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: v } });
    await new Promise((resolve, reject) => client.ModelInfer(
      { model_name: 'chain', inputs: [tensor('a', [1, 2, 3, 4, 5, 6]), tensor('b', [1, 1, 1, 2, 2, 2])] }, metadata,
      (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)),
    ));
    client.close();
    const spans = await traceOf(traceId, 6);
    const root = spans.find((s) => s.name === 'inference.GRPCInferenceService/ModelInfer');
    assert.ok(root, `a gRPC server span among ${spans.map((s) => s.name)}`);
    assert.equal(root.parentSpanId, parent);
    assertStepTree(spans, root);
  });

  test('batching waits and shadow challengers have their own spans; a failed request is marked with its error code', async () => {
    const traceId = hex(16);
    const res = await fetch(`${server.url}/v1/pipelines/shadowed/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${hex(8)}-01` },
      body: JSON.stringify([{ a: [1, 2, 3], b: [4, 5, 6] }]),
    });
    assert.equal(res.status, 200);
    const spans = await traceOf(traceId, 6);
    const engine = spans.find((s) => s.name === 'pipeline shadowed')!;
    assert.equal(spans.find((s) => s.name === 'batch wait')?.parentSpanId, engine.spanId);
    assert.equal(spans.find((s) => s.name === 'step 1 add_mul')?.parentSpanId, engine.spanId);
    const shadow = spans.find((s) => s.name === 'shadow add_mul');
    assert.equal(shadow?.attributes['bettong.shadow'], true);
    const root = spans.find((s) => s.name === 'POST /v1/pipelines/:name/infer')!;
    assert.equal(shadow?.parentSpanId, root.spanId);

    const failed = hex(16);
    const bad = await fetch(`${server.url}/v1/pipelines/chain/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${failed}-${hex(8)}-01` }, body: JSON.stringify([{ a: [1, 2, 3] }]),
    });
    assert.equal(bad.status, 400);
    const [span] = await traceOf(failed, 1);
    assert.equal(span.attributes['bettong.error.code'], ((await bad.json()) as { code: string }).code);
  });

  test('with request logging on, the log lines of a traced request carry its trace id', async () => {
    // The server in this process, so that its request logging can be switched on.
    const code = `
      const { startTracing } = await import(${JSON.stringify(path.join(ROOT, 'src/observability/tracing-sdk.ts'))});
      startTracing();
      const { startServer } = await import(${JSON.stringify(path.join(ROOT, 'src/server/index.ts'))});
      const s = await startServer({ dataDir: process.env.DATA_DIR, port: 0, logLevel: 'info' });
      console.error('URL ' + s.url);`;
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATA_DIR: tempDir(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    });
    try {
      let out = '';
      let err = '';
      proc.stdout!.on('data', (d) => { out += d; });
      const url = await new Promise<string>((resolve, reject) => {
        proc.stderr!.on('data', (d) => {
          err += d;
          const m = /URL (\S+)/.exec(err);
          if (m) resolve(m[1]);
        });
        proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
      });
      const traceId = hex(16);
      const res = await fetch(`${url}/v2/health/live`, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } });
      assert.equal(res.status, 200);
      const line = await eventually(async () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l))
        .find((l) => l.msg === 'request' && l.trace_id === traceId), 'a request line with the trace id');
      assert.match(line.span_id, /^[0-9a-f]{16}$/);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
