/**
 * A codec thread: parses and decodes large records bodies, and writes large records answers,
 * with the same functions the server thread uses for small ones (codecs/threads.ts says why).
 */
import { parentPort } from 'node:worker_threads';
import { BettongError } from '../errors/index.ts';
import { parseRecordsBody } from './records-body.ts';
import { decodeRecords, encodeRecordsJson } from './records.ts';
import { transferables } from './tensor.ts';
import type { ToCodecThread } from './threads.ts';

const port = parentPort!;

port.on('message', (m: ToCodecThread) => {
  try {
    if (m.type === 'decode') {
      // A Buffer arrives as a plain Uint8Array.
      const { rows, metadata } = parseRecordsBody(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength));
      const inputs = decodeRecords(rows, m.specs);
      port.postMessage({ id: m.id, result: { inputs, metadata } }, transferables(inputs));
    } else {
      const bytes = encodeRecordsJson(m.time, m.inputs, m.outputs, m.validations);
      port.postMessage({ id: m.id, result: bytes }, [bytes.buffer as ArrayBuffer]);
    }
  } catch (e) {
    const error = e instanceof BettongError ? { code: e.code, message: e.message } : { message: (e as Error).message ?? String(e) };
    port.postMessage({ id: m.id, error });
  }
});
