// Charts on uPlot (a small, fast canvas time-series library): line charts over time with optional
// threshold lines and clickable points, and bar charts for histograms.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const PALETTE = ['#2563eb', '#d97706', '#059669', '#db2777', '#7c3aed', '#0891b2'];

export interface LineSeries { label: string; values: (number | null)[]; color?: string; dash?: boolean }
/** A shaded band between two value lists (a confidence interval), drawn behind the series. */
export interface Band { label: string; lower: (number | null)[]; upper: (number | null)[]; color: string }

/**
 * A uPlot chart made when `shape` changes (series, lines, size) and fed new data in place
 * otherwise, so a refreshing live chart redraws without being rebuilt.
 */
function useChart(make: (el: HTMLDivElement, width: number, data: uPlot.AlignedData) => uPlot, shape: string, data: uPlot.AlignedData) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;
  useEffect(() => {
    const el = ref.current!;
    const c = (chart.current = make(el, el.clientWidth || 480, latest.current));
    const ro = new ResizeObserver(() => c.setSize({ width: el.clientWidth || 480, height: c.height }));
    ro.observe(el);
    return () => { ro.disconnect(); c.destroy(); chart.current = null; };
  }, [shape]);
  useEffect(() => { chart.current?.setData(data); }, [data]);
  return ref;
}

/** A line chart over time; `x` in epoch seconds. `lines`: horizontal reference lines (thresholds). */
export function LineChart({ title, x, series, height = 220, lines = [], bands = [], onPick, yLabel, testId }: {
  title: string; x: number[]; series: LineSeries[]; height?: number; yLabel?: string; testId?: string; bands?: Band[];
  lines?: { label: string; value: number; color: string }[]; onPick?: (index: number) => void;
}) {
  const data = useMemo<uPlot.AlignedData>(() => {
    const xs = x.length ? x : [Date.now() / 1000];
    return [xs, ...series.map((s) => (x.length ? s.values : [null])), ...lines.map((l) => xs.map(() => l.value)),
      ...bands.flatMap((b) => (x.length ? [b.upper, b.lower] : [[null], [null]]))];
  }, [x, series, lines, bands]);
  const shape = JSON.stringify([series.map((s) => s.label), lines, bands.map((b) => b.label), height, x.length < 100]);
  // The band's edges come after the series and lines: uPlot fills between each upper and lower.
  const edge = 1 + series.length + lines.length;
  const ref = useChart((el, width, data) => {
    const opts: uPlot.Options = {
      width, height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      // From zero, with head room; an all-zero series still gets a readable axis.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [{ stroke: '#475569', grid: { stroke: '#e2e8f0' }, space: 90 }, { stroke: '#475569', grid: { stroke: '#e2e8f0' }, label: yLabel, size: 56 }],
      series: [
        {},
        // Points always: sparse data (a window here and there) must show even where no line joins it.
        ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? PALETTE[i % PALETTE.length], width: 2, spanGaps: false, points: { show: true, size: x.length < 100 ? 6 : 4 } })),
        ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, dash: [6, 4], points: { show: false } })),
        ...bands.flatMap((b) => [
          { label: `${b.label} upper`, stroke: `${b.color}66`, width: 1, points: { show: false } },
          { label: `${b.label} lower`, stroke: `${b.color}66`, width: 1, points: { show: false } },
        ]),
      ],
      bands: bands.map((b, i) => ({ series: [edge + 2 * i, edge + 2 * i + 1] as [number, number], fill: `${b.color}22` })),
      hooks: onPick ? {
        ready: [(u: uPlot) => u.over.addEventListener('click', () => { if (u.cursor.idx != null) onPick(u.cursor.idx); })],
      } : {},
    };
    return new uPlot(opts, data, el);
  }, shape, data);
  const latest = series.map((s) => `${s.label} ${s.values.at(-1) ?? 'none'}`).join(', ');
  return (
    <figure class="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={`${title}: ${x.length} points; latest ${latest}`} />
    </figure>
  );
}

/** A histogram: one bar per bin, labelled below. */
export function BarChart({ title, labels, values, color = PALETTE[0], height = 200, max }: { title: string; labels: string[]; values: number[]; color?: string; height?: number; max?: number }) {
  const data = useMemo<uPlot.AlignedData>(() => [labels.map((_, i) => i), values], [labels, values]);
  const ref = useChart((el, width, data) => new uPlot({
    width, height,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (_u, _min, top) => [0, max ?? Math.max(top, 0.01) * 1.1] } },
    axes: [
      { stroke: '#475569', grid: { show: false }, splits: () => labels.map((_, i) => i), values: () => labels, size: 64, rotate: -30, font: '11px system-ui' },
      { stroke: '#475569', grid: { stroke: '#e2e8f0' }, size: 48 },
    ],
    series: [{}, { label: title, fill: `${color}cc`, stroke: color, paths: uPlot.paths.bars!({ size: [0.8, 80] }), points: { show: false } }],
  }, data, el), JSON.stringify([labels, max, title]), data);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={ref} role="img" aria-label={`${title}: ${labels.map((l, i) => `${l} ${values[i].toFixed(3)}`).join('; ')}`} />
    </figure>
  );
}
