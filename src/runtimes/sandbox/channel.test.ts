/** Frames on the worker channel: reassembled across any chunking, oversized ones refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameKind, FrameReader, encodeFrame } from './channel.ts';

describe('worker channel frames', () => {
  const frames = [
    encodeFrame(1, FrameKind.PREDICT, Buffer.from('hello')),
    encodeFrame(2, FrameKind.RESULT, new Uint8Array(0)),
    encodeFrame(4_000_000_000, FrameKind.ERROR, Buffer.alloc(70_000, 7)),
  ];
  const all = Buffer.concat(frames);

  it('reads the same frames however the stream is cut', () => {
    for (const size of [1, 2, 5, 9, 10, 4096, all.length]) {
      const reader = new FrameReader(1 << 20);
      const got = [];
      for (let at = 0; at < all.length; at += size) got.push(...reader.push(all.subarray(at, at + size)));
      assert.deepEqual(got.map((f) => [f.id, f.kind, f.payload.length]), [[1, 1, 5], [2, 3, 0], [4_000_000_000, 4, 70_000]], `chunks of ${size}`);
      assert.equal(Buffer.from(got[0].payload).toString(), 'hello');
      assert.ok(got[2].payload.every((b) => b === 7));
    }
  });

  it('refuses a frame longer than its limit before buffering it', () => {
    const reader = new FrameReader(1000);
    assert.throws(() => reader.push(encodeFrame(1, FrameKind.RESULT, Buffer.alloc(1001)).subarray(0, 9)), /1001 bytes exceeds the 1000-byte limit/);
  });
});
