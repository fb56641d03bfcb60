/**
 * Progress for long CLI work (log export, large uploads) as one line on stderr (cli-progress),
 * only when stderr is a terminal and never with --json: pipes, files and scripts see nothing.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/** `format` uses cli-progress tokens: {bar} {percentage} {value} {total} and payload keys. */
export function progress(json: boolean, format: string, total = 0, payload: Record<string, unknown> = {}): Progress {
  if (json || !process.stderr.isTTY) return NONE;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr, format, hideCursor: true, clearOnComplete: true, fps: 10, barsize: 30,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, payload);
  return { update: (v, payload) => bar.update(v, payload ?? {}), stop: () => bar.stop() };
}

export const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);
