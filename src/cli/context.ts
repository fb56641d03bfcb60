/** What every command group gets: the client, output helpers and argument parsers. */
import type { BettongClient } from '../sdk/index.ts';
import { DURATION_HELP, MAX_DURATION, formatDuration, readDuration } from '../time/index.ts';

export interface Cli {
  client: () => BettongClient;
  print: (value: unknown, human: () => string) => void;
  asJson: () => boolean;
  int: (what: string) => (v: string) => number;
}

/** A duration with its unit ("90s", "12h"): bare digits are epoch ms where a time is asked for. */
export const isDuration = (v: string): boolean => /\d\s*(ms|s|m|h|d)\s*$/.test(v);

/** "500ms", "10m", "2h", "1d" before now, or an ISO time / epoch ms as is (the server checks those). */
export function parseSince(v: string): string {
  if (!isDuration(v)) return v;
  const ms = readDuration(v);
  if (ms === undefined) throw new Error(`'${v}' is not a duration: ${DURATION_HELP}, at most ${formatDuration(MAX_DURATION)}`);
  return String(Date.now() - ms);
}
