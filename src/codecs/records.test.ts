/** Records JSON out: the text written from the tensors is what JSON.stringify writes for the row objects. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecordsJson, rowValues } from './records.ts';
import type { Batch } from './tensor.ts';

/** The row objects, as the records route built them before it wrote text. */
function rowObjects(time: number, inputs: Batch, outputs: Batch, rules: string[], anomalies: string[][]): Record<string, unknown>[] {
  const n = inputs[0].shape[0];
  const rows: Record<string, unknown>[] = Array.from({ length: n }, () => ({ time }));
  for (const [prefix, batch] of [['in.', inputs], ['out.', outputs]] as const) {
    for (const t of batch) rowValues(t, n).forEach((v, i) => { rows[i][prefix + t.name] = v; });
  }
  rows.forEach((row, i) => {
    if (!rules.length) return;
    row['anomaly.count'] = anomalies[i].length;
    for (const name of rules) row[`anomaly.${name}`] = anomalies[i].includes(name);
  });
  return rows;
}

describe('records JSON out', () => {
  const inputs: Batch = [
    { name: 'x', datatype: 'FP32', shape: [3, 2], data: Float32Array.from([0.1, NaN, Infinity, -0, 1e-7, 3.5]) },
    { name: 'cube', datatype: 'INT32', shape: [3, 2, 2], data: Int32Array.from({ length: 12 }, (_, i) => i - 6) },
    { name: 'words', datatype: 'BYTES', shape: [3], data: ['a "quoted" word', 'ü\n', ''] },
    { name: 'half', datatype: 'FP16', shape: [3, 1], data: Uint16Array.from([0x3c00, 0x7e00, 0xc000]) },
  ];
  const outputs: Batch = [
    { name: 'label', datatype: 'INT64', shape: [3], data: BigInt64Array.from([1n, -2n, 9007199254740993n]) },
    { name: 'flag', datatype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    { name: 'p', datatype: 'FP64', shape: [3, 1], data: Float64Array.from([0.25, -1e300, NaN]) },
    { name: 'table', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }, // not batched along the rows
  ];
  const time = 1767225600123;

  it('without validations', () => {
    assert.equal(encodeRecordsJson(time, inputs, outputs).toString(), JSON.stringify(rowObjects(time, inputs, outputs, [], [])));
    assert.equal(encodeRecordsJson(time, inputs, outputs, { rules: [], anomalies: [[], [], []] }).toString(), JSON.stringify(rowObjects(time, inputs, outputs, [], [])));
  });

  it('with validations, a rule named "count" included (its key is written once, where an object keeps it)', () => {
    const rules = ['range', 'count'];
    const anomalies = [[], ['range'], ['range', 'count']];
    const text = encodeRecordsJson(time, inputs, outputs, { rules, anomalies }).toString();
    assert.equal(text, JSON.stringify(rowObjects(time, inputs, outputs, rules, anomalies)));
    assert.deepEqual(JSON.parse(text)[1], JSON.parse(JSON.stringify(rowObjects(time, inputs, outputs, rules, anomalies)[1])));
  });
});
