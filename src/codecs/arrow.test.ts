/** Arrow IPC codec: Batch -> table -> IPC bytes -> Batch is lossless for every datatype and shape. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Field, Float64, Int64, List, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { BettongError } from '../errors/index.ts';
import type { TensorSpec } from '../runtimes/runtime.ts';
import {
  answerFormat, batchToTable, decodeArrow, resultToTable, tableToBatch, writeArrow,
} from './arrow.ts';
import { DATATYPES, type DataType, type Tensor, fromJsonData, toJsonData } from './tensor.ts';

const throwsCode = (fn: () => unknown, code: string, text?: string) =>
  assert.throws(fn, (e: unknown) => e instanceof BettongError && e.code === code && (!text || e.message.includes(text)));

const samples: Record<DataType, unknown[]> = {
  BOOL: [true, false, false, true, true, false], UINT8: [0, 255, 1, 2, 3, 4], UINT16: [0, 65535, 1, 2, 3, 4],
  UINT32: [0, 4294967295, 1, 2, 3, 4], UINT64: ['0', '18446744073709551615', '1', '2', '3', '4'],
  INT8: [-128, 127, 0, 1, 2, 3], INT16: [-32768, 32767, 0, 1, 2, 3], INT32: [-2147483648, 2147483647, 0, 1, 2, 3],
  INT64: ['-9223372036854775808', '9223372036854775807', '0', '1', '2', '3'],
  FP16: [0.5, -1.25, 0, 65504, 0.0999755859375, -2], FP32: [0.5, -1.25, 0, 3.4e38, 0.1, -1e-7],
  FP64: [0.5, -1.25, 0, 1e300, 0.1, -1e-300], BYTES: ['a', 'héllo', '', 'with space', '日本', 'z'],
};

const tensor = (name: string, dt: DataType, shape: number[]): Tensor =>
  ({ name, datatype: dt, shape, data: fromJsonData(name, dt, shape, samples[dt]) });

const exact = (t: Tensor) => (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array ? Array.from(t.data, String) : toJsonData(t));

const specOf = (t: Tensor, dynamic = true): TensorSpec => ({ name: t.name, datatype: t.datatype, shape: dynamic ? [-1, ...t.shape.slice(1)] : t.shape });

describe('Arrow codec round trip', () => {
  for (const shape of [[6], [3, 2], [1, 3, 2]]) {
    for (const format of ['stream', 'file'] as const) {
      it(`every datatype, shape [${shape}], ${format}`, () => {
        const batch = DATATYPES.map((dt) => tensor(`t_${dt}`, dt, shape));
        const bytes = writeArrow(batchToTable(batch), format);
        // an odd offset in the body exercises unaligned buffers
        const body = Buffer.concat([Buffer.from([0]), bytes]).subarray(1);
        const back = decodeArrow(body, batch.map((t) => specOf(t)));
        for (const [i, t] of batch.entries()) {
          assert.equal(back[i].datatype, t.datatype, t.name);
          assert.deepEqual(back[i].shape, t.shape, t.name);
          assert.deepEqual(exact(back[i]), exact(t), t.name);
        }
      });
    }
  }

  it('uses the column buffer in place for a single-chunk column of the input type', () => {
    const t = tensor('x', 'FP32', [3, 2]);
    const table = batchToTable([t]);
    const [back] = tableToBatch(table, [specOf(t)]);
    const leaf = table.getChild('x')!.data[0].children[0].values as Float32Array;
    assert.equal((back.data as Float32Array).buffer, leaf.buffer);
  });

  it('reads several record batches, List columns and the signature row shape', () => {
    const list = new List(new Field('item', new Float64(), true));
    const part = (rows: number[][]) => new Table({ x: vectorFromArray(rows, list) });
    const table = part([[1, 2, 3, 4]]).concat(part([[5, 6, 7, 8], [9, 10, 11, 12]]));
    assert.equal(table.batches.length, 2);
    const [t] = tableToBatch(table, [{ name: 'x', datatype: 'FP32', shape: [-1, 2, 2] }]);
    assert.deepEqual(t.shape, [3, 2, 2]);
    assert.ok(t.data instanceof Float32Array);
    assert.deepEqual(Array.from(t.data as Float32Array), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('stacks scalar feature columns into a single tensor input, casting float64 to FP32', () => {
    const table = new Table({
      a: vectorFromArray([1.5, 2.5]), b: vectorFromArray([3n, 4n], new Int64()), __index_level_0__: vectorFromArray([7, 8]),
    });
    const [t] = decodeArrow(tableToIPC(table), [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }]);
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual(Array.from(t.data as Float32Array), [1.5, 3, 2.5, 4]);
    throwsCode(() => decodeArrow(tableToIPC(table), [{ name: 'input', datatype: 'FP32', shape: [-1, 3] }]), 'MISSING_INPUT', "no column 'input'");
  });

  it('refuses what cannot be a tensor, naming the column', () => {
    const spec: TensorSpec[] = [{ name: 'x', datatype: 'INT32', shape: [-1] }, { name: 'y', datatype: 'FP32', shape: [-1] }];
    const ok = { x: vectorFromArray([1, 2]), y: vectorFromArray([1, 2]) };
    throwsCode(() => decodeArrow(tableToIPC(new Table({ ...ok, x: vectorFromArray([1, null]) })), spec), 'INVALID_TENSOR', "column 'x' has null");
    throwsCode(() => decodeArrow(tableToIPC(new Table({ ...ok, x: vectorFromArray([1.5, 2]) })), spec), 'INVALID_TENSOR', "'x'");
    throwsCode(() => decodeArrow(tableToIPC(new Table({ ...ok, x: vectorFromArray(['a', 'b'], new Utf8()) })), spec), 'DATATYPE_MISMATCH', "column 'x' holds strings");
    throwsCode(() => decodeArrow(tableToIPC(new Table({ ...ok, z: vectorFromArray([1, 2]) })), spec), 'UNKNOWN_INPUT', "'z'");
    throwsCode(() => decodeArrow(tableToIPC(new Table({ x: ok.x })), spec), 'MISSING_INPUT', "'y'");
    const ragged = vectorFromArray([[1], [2, 3]], new List(new Field('item', new Float64(), true)));
    throwsCode(() => decodeArrow(tableToIPC(new Table({ ...ok, y: ragged })), spec), 'SHAPE_MISMATCH', "column 'y'");
    throwsCode(() => decodeArrow(Buffer.from('{"not": "arrow"}'), spec), 'INVALID_REQUEST', 'Arrow');
    throwsCode(() => decodeArrow(tableToIPC(new Table({ x: vectorFromArray([] as number[]) })), spec), 'INVALID_REQUEST', 'no rows');
  });
});

describe('Arrow answers', () => {
  it('writes time, in.*, out.* and anomaly columns, one row per input row', () => {
    const inputs = [tensor('input', 'FP32', [3, 2])];
    const outputs = [tensor('label', 'INT32', [3, 2])];
    const table = tableFromIPC(writeArrow(resultToTable({
      time: 1700000000000, inputs, outputs, validations: { rules: ['high'], anomalies: [[], ['high'], []] },
    }), 'stream'));
    assert.deepEqual(table.schema.fields.map((f) => f.name), ['time', 'in.input', 'out.label', 'anomaly.count', 'anomaly.high']);
    assert.equal(table.numRows, 3);
    assert.equal(table.getChild('time')!.get(0), 1700000000000);
    assert.deepEqual(Array.from(table.getChild('in.input')!.get(1)), [0, 3.4e38].map(Math.fround));
    assert.deepEqual(Array.from(table.getChild('anomaly.count')!), [0, 1, 0]);
    assert.deepEqual(Array.from(table.getChild('anomaly.high')!), [false, true, false]);
  });

  it('answers in the Accept header\'s format, else JSON when asked, else the request\'s', () => {
    const stream = 'application/vnd.apache.arrow.stream';
    const file = 'application/vnd.apache.arrow.file';
    assert.equal(answerFormat(stream, undefined), 'stream');
    assert.equal(answerFormat(stream, '*/*'), 'stream');
    assert.equal(answerFormat(file, `${stream}, */*`), 'stream');
    assert.equal(answerFormat('application/json', file), 'file');
    assert.equal(answerFormat(stream, 'application/json'), undefined);
    assert.equal(answerFormat('application/json', undefined), undefined);
  });
});
