/**
 * Frames on the channel between the server and a custom-code worker process (a socket on the
 * worker's fd 3): a 9-byte header (payload length u32 LE, call id u32 LE, kind u8) and the
 * payload. Batches travel as Arrow IPC streams; the hello and errors as JSON. The Python
 * worker (src/runtimes/python/worker.py) speaks the same frames.
 */
export const FrameKind = {
  /** server -> worker: an Arrow IPC stream of the step's inputs */
  PREDICT: 1,
  /** worker -> server, id 0: JSON `{ signature }` once the step has loaded */
  READY: 2,
  /** worker -> server: an Arrow IPC stream of the step's outputs */
  RESULT: 3,
  /** worker -> server: JSON `{ code, message }`; id 0 before READY means the step failed to load */
  ERROR: 4,
} as const;

export interface Frame {
  id: number;
  kind: number;
  payload: Uint8Array;
}

const HEADER = 9;

export function encodeFrame(id: number, kind: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(id, 4);
  out.writeUInt8(kind, 8);
  out.set(payload, HEADER);
  return out;
}

/** Reassembles frames from stream chunks; refuses a frame longer than `maxBytes`. */
export class FrameReader {
  private buffered: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Frame[] {
    this.buffered.push(chunk);
    this.size += chunk.length;
    const frames: Frame[] = [];
    while (this.size >= HEADER) {
      let head = this.buffered[0];
      if (head.length < HEADER) head = this.join();
      const length = head.readUInt32LE(0);
      if (length > this.maxBytes) throw new Error(`a frame of ${length} bytes exceeds the ${this.maxBytes}-byte limit`);
      if (this.size < HEADER + length) break;
      if (head.length < HEADER + length) head = this.join();
      frames.push({ id: head.readUInt32LE(4), kind: head.readUInt8(8), payload: head.subarray(HEADER, HEADER + length) });
      const rest = head.subarray(HEADER + length);
      this.buffered[0] = rest;
      this.size -= HEADER + length;
      if (rest.length === 0) this.buffered.shift();
    }
    return frames;
  }

  private join(): Buffer {
    const all = Buffer.concat(this.buffered);
    this.buffered = [all];
    return all;
  }
}
