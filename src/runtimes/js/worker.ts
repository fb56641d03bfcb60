/**
 * The JavaScript step worker: runs inside the sandbox as its own process (bundled with its
 * imports into one file, so the sandbox needs no node_modules). Loads the step module given as
 * argv[2], says hello with its signature, then answers calls on the channel (fd 3): Arrow IPC
 * inputs -> the step's columns (one value per row) -> predict -> checked output tensors -> Arrow IPC.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { batchToTable, tableToBatch } from '../../codecs/arrow.ts';
import { columnToTensor, rowCount, rowValues } from '../../codecs/records.ts';
import type { TensorSpec } from '../runtime.ts';
import { FrameKind, FrameReader, encodeFrame } from '../sandbox/channel.ts';

type Signature = { inputs: TensorSpec[]; outputs: TensorSpec[] };

const channel = new net.Socket({ fd: 3, readable: true, writable: true });
const send = (id: number, kind: number, payload: Uint8Array) => channel.write(encodeFrame(id, kind, payload));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const messageOf = (e: unknown) => (e as Error)?.message ?? String(e);
/** V8 reports a failed large allocation as a RangeError the step may see; it is the memory limit. */
const outOfMemory = (e: unknown) => e instanceof RangeError && /allocation failed/i.test(e.message);

let signature: Signature;
let predict: (columns: Record<string, unknown[]>, state: unknown) => unknown;
let state: unknown;
try {
  const mod = await import(pathToFileURL(process.argv[2]).href);
  predict = mod.predict ?? mod.default;
  if (typeof predict !== 'function') throw new Error('the module exports no predict function: export function predict(columns) { ... }');
  if (typeof mod.load === 'function') state = await mod.load();
  signature = mod.signature;
  send(0, FrameKind.READY, json({ signature }));
} catch (e) {
  send(0, FrameKind.ERROR, json({ code: 'STEP_FAILED', message: messageOf(e) }));
  channel.end();
}

/** The step's answer as output tensors: one value per row for each output, typed as its spec says. */
function outputsOf(out: unknown, rows: number) {
  return signature.outputs.map((spec) => {
    const values = out && typeof out === 'object' ? (out as Record<string, unknown>)[spec.name] : undefined;
    if (!Array.isArray(values)) throw new Error(`returned a malformed batch: output '${spec.name}' must be an array with one value per row`);
    if (values.length !== rows) throw new Error(`returned a malformed batch: output '${spec.name}' has ${values.length} rows, expected ${rows}`);
    try {
      return columnToTensor(spec, values);
    } catch (e) {
      throw new Error(`returned a malformed batch: ${messageOf(e)}`);
    }
  });
}

async function answer(id: number, payload: Uint8Array): Promise<void> {
  const inputs = tableToBatch(tableFromIPC(payload), signature.inputs);
  const rows = rowCount(inputs);
  const columns = Object.fromEntries(inputs.map((t) => [t.name, rowValues(t, rows)]));
  let out: unknown;
  try {
    out = await predict(columns, state);
  } catch (e) {
    const code = outOfMemory(e) ? 'STEP_OUT_OF_MEMORY' : 'STEP_FAILED';
    send(id, FrameKind.ERROR, json({ code, message: code === 'STEP_OUT_OF_MEMORY' ? `ran out of memory: ${messageOf(e)}` : `threw: ${messageOf(e)}` }));
    return;
  }
  send(id, FrameKind.RESULT, tableToIPC(batchToTable(outputsOf(out, rows)), 'stream'));
}

const reader = new FrameReader(1024 * 1024 * 1024);
channel.on('data', (chunk: Buffer) => {
  for (const f of reader.push(chunk)) {
    if (f.kind !== FrameKind.PREDICT) continue;
    answer(f.id, f.payload).catch((e) => send(f.id, FrameKind.ERROR, json({ code: 'STEP_FAILED', message: messageOf(e) })));
  }
});
// The server closing the channel is the signal to go.
channel.on('end', () => process.exit(0));
