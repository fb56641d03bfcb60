/**
 * Checks a directory the platform keeps its data in before anything is opened there: it must be
 * a directory this process can create files in. A read-only or misplaced data directory is
 * refused at start with one clear line, not found out at the first upload.
 */
import fs from 'node:fs';
import path from 'node:path';

const reason = (e: unknown) => (e as Error)?.message ?? String(e);

/** Makes `dir` when missing and writes and removes a probe file in it; throws an Error naming `what` and `dir` otherwise. */
export function checkWritableDir(dir: string, what: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    // missing: made below
  }
  if (stat && !stat.isDirectory()) throw new Error(`${what} ${dir} is not a directory`);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`${what} ${dir} cannot be created: ${reason(e)}`);
  }
  // Permission bits say nothing to root (and a read-only mount or an immutable directory stops root too): try a write.
  const probe = path.join(dir, `.write-check-${process.pid}`);
  try {
    fs.writeFileSync(probe, '');
  } catch (e) {
    throw new Error(`${what} ${dir} is not writable: ${reason(e)}`);
  } finally {
    fs.rmSync(probe, { force: true });
  }
}
