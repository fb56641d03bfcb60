/** For the tests only: the reference vectors (testdata/drift/vectors.json) and a tolerance check. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'testdata/drift/vectors.json'), 'utf8'));

/** |a − b| ≤ atol + rtol·|b|, with a message naming what differs. */
export function close(actual: number, want: number, what: string, rtol = 1e-12, atol = 1e-14): void {
  const ok = actual === want || Math.abs(actual - want) <= atol + rtol * Math.abs(want);
  assert.ok(ok, `${what}: got ${actual}, want ${want} (diff ${Math.abs(actual - want)})`);
}
