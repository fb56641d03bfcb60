/** Codec math: half floats, JSON and binary tensor data, OIP bodies. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BettongError } from '../errors/index.ts';
import { float16BitsToNumber, numberToFloat16Bits } from './float16.ts';
import { decodeInferRequest, encodeInferResponse } from './oip.ts';
import { decodeRecords } from './records.ts';
import { DATATYPES, type DataType, fromBytes, fromJsonData, toBytes, toJsonData } from './tensor.ts';

const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => e instanceof BettongError && e.code === code);

describe('float16', () => {
  it('converts exactly representable values both ways', () => {
    for (const [v, bits] of [[0, 0], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [2 ** -24, 1], [Infinity, 0x7c00], [-Infinity, 0xfc00]] as const) {
      assert.equal(numberToFloat16Bits(v), bits, `${v}`);
      assert.equal(float16BitsToNumber(bits), v);
    }
    assert.ok(Number.isNaN(float16BitsToNumber(numberToFloat16Bits(NaN))));
  });

  it('rounds to nearest even and overflows to infinity', () => {
    assert.equal(float16BitsToNumber(numberToFloat16Bits(0.1)), 0.0999755859375);
    assert.equal(numberToFloat16Bits(1 + 2 ** -11), 0x3c00, 'a tie rounds to even');
    assert.equal(numberToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(numberToFloat16Bits(70000), 0x7c00);
    assert.equal(numberToFloat16Bits(2 ** -26), 0, 'below half the smallest subnormal');
  });

  it('round-trips every half value', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exp = (bits >> 10) & 0x1f;
      if (exp === 0x1f && bits & 0x3ff) continue; // NaN payloads
      assert.equal(numberToFloat16Bits(float16BitsToNumber(bits)), bits === 0x8000 ? 0x8000 : bits);
    }
  });
});

describe('tensor data', () => {
  const samples: Record<DataType, unknown[]> = {
    BOOL: [true, false], UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295], UINT64: [0, 2 ** 40],
    INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647], INT64: [-(2 ** 53 - 1), 2 ** 53 - 1],
    FP16: [0.5, -1.25], FP32: [0.5, -1.25], FP64: [1e300, -1e-300], BYTES: ['héllo', ''],
  };
  for (const dt of DATATYPES) {
    it(`${dt}: JSON -> typed -> bytes -> typed -> JSON is lossless`, () => {
      const data = fromJsonData('t', dt, [2], samples[dt]);
      const bytes = toBytes({ name: 't', datatype: dt, shape: [2], data });
      const back = fromBytes('t', dt, [2], bytes);
      assert.deepEqual(toJsonData({ name: 't', datatype: dt, shape: [2], data: back }), samples[dt]);
    });
  }

  it('refuses out-of-range and mistyped values, naming the element', () => {
    throwsCode(() => fromJsonData('x', 'UINT8', [1], [256]), 'INVALID_TENSOR');
    throwsCode(() => fromJsonData('x', 'INT32', [1], [1.5]), 'INVALID_TENSOR');
    throwsCode(() => fromJsonData('x', 'BOOL', [1], ['yes']), 'INVALID_TENSOR');
    throwsCode(() => fromJsonData('x', 'FP32', [2], [1]), 'DATA_LENGTH_MISMATCH');
    throwsCode(() => fromBytes('x', 'FP32', [2], Buffer.alloc(7)), 'DATA_LENGTH_MISMATCH');
    throwsCode(() => fromBytes('x', 'BYTES', [1], Buffer.from([5, 0, 0, 0, 65])), 'DATA_LENGTH_MISMATCH');
  });

  it('writes non-finite floats as JSON null', () => {
    assert.deepEqual(toJsonData({ name: 'x', datatype: 'FP32', shape: [2], data: new Float32Array([NaN, 1]) }), [null, 1]);
  });
});

describe('OIP bodies', () => {
  it('decodes a mixed JSON and binary request and encodes a binary response', () => {
    const raw = Buffer.from(new Int32Array([7, 8]).buffer);
    const header = Buffer.from(JSON.stringify({
      id: 'r1', parameters: { binary_data_output: true, tag: 'x' },
      inputs: [
        { name: 'a', datatype: 'INT32', shape: [2], parameters: { binary_data_size: 8 } },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [[1, 2]] },
      ],
    }));
    // an odd offset for the binary part exercises the aligned copy
    const body = Buffer.concat([Buffer.from(' '), header, raw]).subarray(1);
    const req = decodeInferRequest(body, header.length);
    assert.equal(req.id, 'r1');
    assert.deepEqual(req.parameters, { tag: 'x' });
    assert.equal(req.binaryOutput, true);
    assert.deepEqual(Array.from(req.inputs[0].data as Int32Array), [7, 8]);
    assert.deepEqual(Array.from(req.inputs[1].data as Float32Array), [1, 2]);

    const enc = encodeInferResponse({ model_name: 'm' }, req.inputs, () => true);
    const buf = enc.body as Buffer;
    const head = JSON.parse(buf.subarray(0, enc.headerLength).toString());
    assert.deepEqual(head.outputs.map((o: any) => o.parameters.binary_data_size), [8, 8]);
    assert.equal(buf.length, enc.headerLength! + 16);
  });

  it('refuses binary bytes that no input claims', () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'b', datatype: 'FP32', shape: [1], data: [1] }] }));
    throwsCode(() => decodeInferRequest(Buffer.concat([header, Buffer.alloc(4)]), header.length), 'DATA_LENGTH_MISMATCH');
    throwsCode(() => decodeInferRequest(header, header.length + 10), 'INVALID_REQUEST');
  });
});

describe('records', () => {
  it('shapes a scalar column to the signature row shape', () => {
    const batch = decodeRecords([{ x: 1 }, { x: 2 }], [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }]);
    assert.deepEqual(batch[0].shape, [2, 1]);
  });
});
