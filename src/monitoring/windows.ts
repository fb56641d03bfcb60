/**
 * Window arithmetic. Window i of an assay covers [start + i·interval, start + i·interval + width):
 * windows may overlap (interval < width) or leave gaps (interval > width).
 */
export interface WindowGrid {
  width: number;
  interval: number;
  /** epoch ms where window 0 starts */
  start: number;
}

export interface Window {
  index: number;
  start: number;
  end: number;
}

export const windowAt = (g: WindowGrid, index: number): Window => {
  const start = g.start + index * g.interval;
  return { index, start, end: start + g.width };
};

/** The newest window that has ended by `now` (at or before it); −1 when none has. */
export const newestComplete = (g: WindowGrid, now: number): number => Math.floor((now - g.start - g.width) / g.interval);

/** The first window that ends after `now`: where a resumed assay picks up. */
export const firstEndingAfter = (g: WindowGrid, now: number): number => Math.max(0, newestComplete(g, now) + 1);

/** The windows of the grid lying wholly inside [from, to). */
export function windowsIn(g: WindowGrid, from: number, to: number): Window[] {
  const first = Math.max(0, Math.ceil((from - g.start) / g.interval));
  const last = Math.floor((to - g.start - g.width) / g.interval);
  const out: Window[] = [];
  for (let i = first; i <= last; i++) out.push(windowAt(g, i));
  return out;
}
