/** Static baselines: values keep their JSON types, CSV cells stay text until the target's kind reads them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asCategoryCounts, asNumbers, staticValues } from './profile.ts';

describe('static baseline values', () => {
  it('a CSV column of 0/1 labels is text: categories "0" and "1", or the numbers 0 and 1 (issue 10)', () => {
    const values = staticValues({ file: { content: 'id,label\n1,0\n2,1\n3,\n4,1\n', column: 'label' } });
    assert.deepEqual(values, ['0', '1', null, '1']);
    assert.deepEqual([...asCategoryCounts(values)], [['0', 1], ['1', 2], [null, 1]]);
    assert.deepEqual([...asNumbers(values)], [0, 1, NaN, 1]);
  });

  it('a values list keeps 0, 0.0, false and "" as they are sent (issue 10)', () => {
    const values = staticValues({ values: [0, 0.0, false, '', null, '0'] });
    assert.deepEqual(values, [0, 0, false, '', null, '0']);
    assert.deepEqual([...asNumbers(values)], [0, 0, 0, NaN, NaN, 0]);
    assert.deepEqual([...asCategoryCounts(values)], [['0', 3], ['false', 1], ['', 1], [null, 1]]);
  });

  it('JSON and JSON Lines files keep their types; a list cell of a CSV is parsed when an element is picked', () => {
    assert.deepEqual(staticValues({ file: { content: '[{"y": "0"}, {"y": 1}]', column: 'y' } }), ['0', 1]);
    assert.deepEqual(staticValues({ file: { content: '{"y": "a"}\n{"y": 0}\n', format: 'jsonl', column: 'y' } }), ['a', 0]);
    assert.deepEqual(staticValues({ file: { content: 'p\n"[0.25, 0.75]"\n', column: 'p', index: 1 } }), [0.75]);
  });
});
