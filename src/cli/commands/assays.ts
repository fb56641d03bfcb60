/** `bettong assay ...`: drift monitoring: preview, save, list, results, alerts, pause, resume, delete. */
import fs from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import type { AssayDefinition, AssayInfo, WindowResult } from '../../sdk/index.ts';
import { parseSince } from '../context.ts';
import type { Cli } from '../context.ts';
import { table } from '../format.ts';

interface DefinitionOpts {
  pipeline: string;
  column: string;
  index?: string;
  kind?: 'numeric' | 'categorical';
  baselineStart?: string;
  baselineEnd?: string;
  baselineValues?: string;
  baselineFile?: string;
  baselineColumn?: string;
  baselineIndex?: string;
  width: string;
  interval?: string;
  start?: string;
  bins?: string;
  mode?: 'quantile' | 'equal_width' | 'provided';
  edges?: string;
  metric?: AssayDefinition['metric'];
  warning?: string;
  alert?: string;
  epsilon?: string;
  webhook?: string;
  alertOn?: 'alert' | 'warning';
}

const num = (what: string, v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${what} must be a number, got '${v}'`);
  return n;
};
const list = (what: string, v: string) => v.split(',').map((x) => num(what, x));
/** Times as the server takes them; "1h" and the like mean that long ago. */
const time = (v: string) => parseSince(v);

function definitionOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--pipeline <name>', 'the pipeline whose inference logs are assayed')
    .requiredOption('--column <column>', "target: 'in.<input>' or 'out.<output>'")
    .option('--index <i>', 'element of a tensor column (i, or i,j for deeper rows)')
    .addOption(new Option('--kind <kind>', 'numeric (default) or categorical').choices(['numeric', 'categorical']))
    .option('--baseline-start <time>', "baseline from the pipeline's logs: start (ISO time, epoch ms, or a duration ago: 2h)")
    .option('--baseline-end <time>', "baseline from the pipeline's logs: end")
    .option('--baseline-values <list>', 'static baseline: comma-separated numbers')
    .option('--baseline-file <file>', 'static baseline: a CSV, JSON or JSON Lines file')
    .option('--baseline-column <name>', 'the column of --baseline-file')
    .option('--baseline-index <i>', 'element of a list-valued --baseline-column')
    .requiredOption('--width <duration>', 'window width: 10s, 5m, 1h, 24h, 7d')
    .option('--interval <duration>', 'time between window starts (default: the width)')
    .option('--start <time>', 'where window 0 starts')
    .option('--bins <n>', 'number of bins (default 5), plus a left and a right outlier bin')
    .addOption(new Option('--mode <mode>', 'binning mode').choices(['quantile', 'equal_width', 'provided']))
    .option('--edges <list>', 'comma-separated bin edges (mode provided)')
    .addOption(new Option('--metric <metric>', 'the metric thresholds apply to (default psi)').choices(['psi', 'maxdiff', 'sumdiff', 'jensenshannon', 'chisquare', 'ks', 'wasserstein']))
    .option('--warning <level>', 'warning threshold')
    .option('--alert <level>', 'alert threshold')
    .option('--epsilon <e>', 'proportion for empty bins in PSI (default 1e-4)');
}

function definition(o: DefinitionOpts): AssayDefinition {
  let baseline: AssayDefinition['baseline'];
  if (o.baselineFile) {
    if (!o.baselineColumn) throw new Error('--baseline-file needs --baseline-column');
    const ext = path.extname(o.baselineFile).toLowerCase();
    const format = ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : ext === '.json' ? 'json' : undefined;
    baseline = {
      file: {
        content: fs.readFileSync(o.baselineFile, 'utf8'), column: o.baselineColumn, ...(format ? { format } : {}),
        ...(o.baselineIndex !== undefined ? { index: num('--baseline-index', o.baselineIndex) } : {}),
      },
    };
  } else if (o.baselineValues) {
    baseline = { values: o.baselineValues.split(',').map((x) => (x.trim() === '' || x.trim().toLowerCase() === 'nan' ? null : num('--baseline-values', x))) };
  } else if (o.baselineStart && o.baselineEnd) {
    baseline = { start: time(o.baselineStart), end: time(o.baselineEnd) };
  } else {
    throw new Error('give a baseline: --baseline-start and --baseline-end, --baseline-values, or --baseline-file with --baseline-column');
  }
  const index = o.index === undefined ? undefined : o.index.includes(',') ? list('--index', o.index) : num('--index', o.index);
  const thresholds = o.warning !== undefined || o.alert !== undefined
    ? { ...(o.warning !== undefined ? { warning: num('--warning', o.warning) } : {}), ...(o.alert !== undefined ? { alert: num('--alert', o.alert) } : {}) }
    : undefined;
  const binning = o.bins !== undefined || o.mode || o.edges
    ? { ...(o.mode ? { mode: o.mode } : {}), ...(o.bins !== undefined ? { bins: num('--bins', o.bins) } : {}), ...(o.edges ? { edges: list('--edges', o.edges) } : {}) }
    : undefined;
  return {
    pipeline: o.pipeline,
    target: { column: o.column, ...(index !== undefined ? { index } : {}), ...(o.kind ? { kind: o.kind } : {}) },
    baseline,
    window: { width: o.width, ...(o.interval ? { interval: o.interval } : {}), ...(o.start ? { start: time(o.start) } : {}) },
    ...(binning ? { binning } : {}),
    ...(o.metric ? { metric: o.metric } : {}),
    ...(thresholds ? { thresholds } : {}),
    ...(o.epsilon !== undefined ? { epsilon: num('--epsilon', o.epsilon) } : {}),
    ...(o.webhook ? { alert: { webhook: o.webhook, ...(o.alertOn ? { on: o.alertOn } : {}) } } : {}),
  };
}

const iso = (t: number) => new Date(t).toISOString();
const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '' : Number(x.toPrecision(4)));

const windowRows = (ws: WindowResult[]) => ws.map((w) => ({
  window: w.window.index, start: iso(w.window.start), end: iso(w.window.end), rows: w.count, [w.metric]: fmt(w.score),
  ...(w.pvalue !== undefined ? { pvalue: fmt(w.pvalue) } : {}), status: w.status,
}));

const assayRow = (a: AssayInfo) => ({
  name: a.name, pipeline: a.pipeline, target: a.target, metric: a.metric, window: `${a.window.width} every ${a.window.interval}`, state: a.state,
  next_window: iso(a.next_window.start), last_status: a.last_result?.status ?? '', last_score: fmt(a.last_result?.score),
});

export function assayCommands(program: Command, { client, print, int }: Cli): void {
  const assay = program.command('assay').description('drift monitoring: compare a baseline with windows of logged inputs or outputs');

  definitionOptions(assay.command('preview').description('run an assay definition over past windows without saving it'))
    .option('--from <time>', 'first window start (default: the first log)')
    .option('--to <time>', 'end of the last window (default: the last log)')
    .action(async (o: DefinitionOpts & { from?: string; to?: string }) => {
      const p = await client().previewAssay({ ...definition(o), ...(o.from ? { start: time(o.from) } : {}), ...(o.to ? { end: time(o.to) } : {}) });
      print(p, () => [
        `assay preview of ${p.pipeline} ${p.target}: ${p.windows.length} window(s), metric ${p.definition.metric}`,
        `baseline (${p.baseline.source}): ${p.baseline.labels.map((l, i) => `${l} ${fmt(p.baseline.proportions[i])}`).join('  ')}`,
        ...(p.baseline.note ? [`note: ${p.baseline.note}`] : []),
        table(windowRows(p.windows)),
      ].join('\n'));
    });

  definitionOptions(assay.command('create <name>').description('save an assay: it runs by itself at each interval over the newest complete window'))
    .option('--webhook <url>', 'POST a JSON alert here when a window is in alert')
    .addOption(new Option('--alert-on <status>', 'alert on "alert" only (default) or on "warning" too').choices(['alert', 'warning']))
    .action(async (name: string, o: DefinitionOpts) => {
      const a = await client().createAssay(name, definition(o));
      print(a, () => `created assay ${a.name}: ${a.target} of ${a.pipeline}, ${a.metric}, windows of ${a.window.width} every ${a.window.interval}; first window ends ${iso(a.next_window.end)}`);
    });

  assay.command('list').description('list saved assays').action(async () => {
    const all = await client().listAssays();
    print(all, () => table(all.map(assayRow)));
  });

  assay.command('show <name>').description('a saved assay: definition, baseline profile, state').action(async (name: string) => {
    const a = await client().getAssay(name);
    print(a, () => [table([assayRow(a)]), `baseline (${a.baseline.source}): ${a.baseline.labels.map((l, i) => `${l} ${fmt(a.baseline.proportions[i])}`).join('  ')}`,
      `thresholds: ${JSON.stringify(a.definition.thresholds)}${a.definition.alert ? `; alerts to ${a.definition.alert.webhook}` : ''}`].join('\n'));
  });

  assay.command('results <name>').description("a saved assay's window results, chronological")
    .option('--since <time>', 'windows starting at or after: ISO time, epoch ms, or a duration ago (1h, 2d)')
    .option('--until <time>', 'windows starting before')
    .option('--limit <n>', 'results to read', int('limit'), 1000)
    .action(async (name: string, o: { since?: string; until?: string; limit: number }) => {
      const results = await client().assayResults(name, { start: o.since ? time(o.since) : undefined, end: o.until ? time(o.until) : undefined, limit: o.limit });
      print(results, () => table(windowRows(results)));
    });

  assay.command('alerts <name>').description("a saved assay's alert deliveries").action(async (name: string) => {
    const alerts = await client().assayAlerts(name);
    print(alerts, () => table(alerts.map(({ payload: _p, ...a }) => a as unknown as Record<string, unknown>)));
  });

  for (const [verb, what] of [['pause', 'pause a saved assay'], ['resume', 'resume a paused assay (from the first window ending after now)']] as const) {
    assay.command(`${verb} <name>`).description(what).action(async (name: string) => {
      const a = verb === 'pause' ? await client().pauseAssay(name) : await client().resumeAssay(name);
      print(a, () => `assay ${a.name} is ${a.state}${a.state === 'active' ? `; next window ends ${iso(a.next_window.end)}` : ''}`);
    });
  }

  assay.command('delete <name>').description('delete a saved assay with its results').action(async (name: string) => {
    const r = await client().deleteAssay(name);
    print(r, () => `deleted assay ${r.deleted}`);
  });
}
