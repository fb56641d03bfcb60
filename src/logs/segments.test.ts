/** The columnar log layout round-trips every datatype and layout back to the values the log API shows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rowValues } from '../codecs/records.ts';
import type { Tensor } from '../codecs/tensor.ts';
import type { LogEntry } from './entry.ts';
import { buildSegments, columnBytes, elementOffset, readColumn, rowValue } from './segments.ts';

const model = (name: string) => ({ step: 1, name, version: 1, sha256: '' });

function entry(time: number, tensors: Tensor[], extra: Partial<LogEntry> = {}): LogEntry {
  return {
    workspaceId: 1, pipelineId: 1, pipelineVersion: 1, time, inputs: tensors, outputs: [], trace: [{ models: [model('m')] }],
    anomalies: [], latencyMs: 1, metadata: {}, ...extra,
  };
}

/** What the writer thread stores and a reader gets back, through the blob bytes. */
const stored = (d: ReturnType<typeof buildSegments>[number]) =>
  new Map(d.columns.map((c) => [c.spec.name, readColumn(c.spec, new Uint8Array(columnBytes(c.data)))]));

describe('log segments', () => {
  it('stores every datatype typed and reads rows back as the log shows them', () => {
    const tensors: Tensor[] = [
      { name: 'f32', datatype: 'FP32', shape: [2, 2], data: Float32Array.of(1.5, NaN, 3, 4) },
      { name: 'f16', datatype: 'FP16', shape: [2], data: Uint16Array.of(0x3c00, 0xc000) },
      { name: 'i64', datatype: 'INT64', shape: [2], data: BigInt64Array.of(-3n, 7n) },
      { name: 'b', datatype: 'BOOL', shape: [2, 1], data: Uint8Array.of(1, 0) },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['a', 'b'] },
      { name: 'whole', datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2, 3) }, // not batched along the rows
    ];
    const [seg] = buildSegments([entry(5, tensors)]);
    assert.equal(seg.rows, 2);
    const cols = stored(seg);
    for (const t of tensors) {
      const c = cols.get(`in.${t.name}`)!;
      assert.equal(c.spec.encoding, t.datatype === 'BYTES' || t.name === 'whole' ? 'json' : 'typed', t.name);
      assert.deepEqual([0, 1].map((i) => rowValue(c, i)), rowValues(t, 2), t.name);
    }
    assert.equal(elementOffset(cols.get('in.f32')!, [1]), 1);
    assert.equal(elementOffset(cols.get('in.f32')!, [2]), -1);
  });

  it('groups by pipeline version and layout, sorts by time, and indexes answering arms per row', () => {
    const x = (n: number, v: number) => ({ name: 'x', datatype: 'FP32' as const, shape: [n], data: new Float32Array(n).fill(v) });
    const segs = buildSegments([
      entry(30, [x(2, 3)], { trace: [{ models: [model('a'), model('b')], rowModel: Uint16Array.of(1, 0) }], anomalies: [['big'], []] }),
      entry(10, [x(1, 1)]),
      entry(20, [x(1, 2)], { pipelineVersion: 2 }),
      entry(15, [{ name: 'x', datatype: 'FP64', shape: [1], data: Float64Array.of(9) }]),
    ]);
    assert.equal(segs.length, 3);
    const v1 = segs.find((s) => s.pipelineVersion === 1 && s.rows === 3)!;
    assert.deepEqual([v1.timeMin, v1.timeMax, v1.anomalyRows], [10, 30, 1]);
    assert.deepEqual(v1.requests.map((r) => r[0]), [1, 2]);
    const cols = stored(v1);
    assert.deepEqual([0, 1, 2].map((i) => rowValue(cols.get('in.x')!, i)), [1, 3, 3]);
    // rows: the t=10 request (model m), then the t=30 request's rows answered by b and a
    const idx = cols.get('models')!.typed as Uint16Array;
    assert.deepEqual([...idx].map((k) => (v1.models[k] as { name: string }[])[0].name), ['m', 'b', 'a']);
    assert.deepEqual(cols.get('anomalies')!.values, [[], ['big'], []]);
  });

  it('tells inputs from outputs of the same names and shapes', () => {
    const t = (name: string) => ({ name, datatype: 'FP32' as const, shape: [1], data: Float32Array.of(1) });
    const segs = buildSegments([
      entry(1, [t('a')], { outputs: [t('b'), t('c')] }),
      entry(2, [t('a'), t('b')], { outputs: [t('c')] }),
      entry(3, [t('a')], { outputs: [t('b'), t('c')] }),
    ]);
    assert.deepEqual(segs.map((s) => [s.rows, s.columns.map((c) => c.spec.name).slice(1)]), [[2, ['in.a', 'out.b', 'out.c']], [1, ['in.a', 'in.b', 'out.c']]]);
  });

  it('keeps a failed challenger apart from answered ones', () => {
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1], data: Float32Array.of(1) };
    const segs = buildSegments([
      entry(1, [x], { shadows: [{ step: 1, model: 'c', version: 1, outputs: [{ ...x, name: 'y' }] }] }),
      entry(2, [x], { shadows: [{ step: 1, model: 'c', version: 1, error: 'boom' }] }),
    ]);
    assert.deepEqual(segs.map((s) => s.columns.map((c) => c.spec.name).filter((n) => n.startsWith('shadow.'))), [['shadow.c.y'], ['shadow.c.error']]);
  });

  it('keeps column names unique when a challenger appears in two shadow steps (the last outcome wins)', () => {
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1], data: Float32Array.of(1) };
    const [seg] = buildSegments([entry(1, [x], {
      shadows: [{ step: 1, model: 'c', version: 1, outputs: [{ ...x, name: 'y' }] }, { step: 2, model: 'c', version: 1, error: 'boom' }],
    })]);
    assert.deepEqual(seg.columns.map((c) => c.spec.name).filter((n) => n.startsWith('shadow.')), ['shadow.c.error']);
  });
});
