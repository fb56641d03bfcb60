/** What every command group gets: the client, output helpers and argument parsers. */
import type { BettongClient } from '../sdk/index.ts';

export interface Cli {
  client: () => BettongClient;
  print: (value: unknown, human: () => string) => void;
  asJson: () => boolean;
  int: (what: string) => (v: string) => number;
}

/** "10m", "2h", "1d" before now, or an ISO time / epoch ms as is. */
export function parseSince(v: string): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) return v;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return String(Date.now() - Number(m[1]) * unit);
}
