/**
 * CPU time used by a worker process and everything it started (bubblewrap, its init, the step
 * and any process the step forked, running or already reaped), read from /proc: what the
 * per-call CPU-time limit measures.
 */
import fs from 'node:fs';

/** Linux reports times in USER_HZ ticks, 100 per second on every architecture it runs on. */
const TICKS_PER_SECOND = 100;

/** Seconds of user + system time of `pid` and its descendants (0 where /proc cannot be read). */
export function processTreeCpuSeconds(pid: number): number {
  let ticks = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
      // Fields after the command name (which may hold spaces): state is field 3; utime, stime, cutime, cstime are 14-17.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      for (const task of fs.readdirSync(`/proc/${p}/task`)) {
        const children = fs.readFileSync(`/proc/${p}/task/${task}/children`, 'latin1').trim();
        if (children) queue.push(...children.split(' ').map(Number));
      }
    } catch {
      // The process (or thread) ended while being read: its time is in its parent's cutime once reaped.
    }
  }
  return ticks / TICKS_PER_SECOND;
}
