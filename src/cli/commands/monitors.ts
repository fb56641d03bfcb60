/** `bettong feedback upload|unmatched` and `bettong monitor ...`: ground truth and performance monitors. */
import fs from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import type { MonitorDefinition, MonitorInfo, PerformanceWindow } from '../../sdk/index.ts';
import { parseSince } from '../context.ts';
import type { Cli } from '../context.ts';
import { table } from '../format.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.csv': 'text/csv', '.parquet': 'application/vnd.apache.parquet', '.arrow': 'application/vnd.apache.arrow.file',
  '.arrows': 'application/vnd.apache.arrow.stream', '.feather': 'application/vnd.apache.arrow.file',
};

interface DefinitionOpts {
  pipeline: string;
  task: 'classification' | 'regression';
  label: string;
  prediction: string;
  index?: string;
  probabilities?: string;
  classes?: string;
  positive?: string;
  key?: string;
  metric?: string;
  width: string;
  interval?: string;
  start?: string;
  warning?: string;
  alert?: string;
  minCoverage?: string;
  maxDelay?: string;
  referenceStart?: string;
  referenceEnd?: string;
  webhook?: string;
  alertOn?: 'alert' | 'warning';
}

const num = (what: string, v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`${what} must be a number, got '${v}'`);
  return n;
};
const time = (v: string) => parseSince(v);
const iso = (t: number) => new Date(t).toISOString();
const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '' : Number(x.toPrecision(4)));

function definitionOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--pipeline <name>', 'the pipeline whose predictions are judged')
    .addOption(new Option('--task <task>', 'classification or regression').choices(['classification', 'regression']).makeOptionMandatory())
    .requiredOption('--label <column>', 'the label column of the uploaded feedback')
    .requiredOption('--prediction <column>', "the logged prediction: 'out.<output>'")
    .option('--index <i>', 'element of a tensor prediction column')
    .option('--probabilities <column>', "the logged class probabilities: 'out.<output>' (ROC AUC, log loss, Brier, CBPE)")
    .option('--classes <list>', 'the classes the probabilities are for, comma-separated (default 0,1,…)')
    .option('--positive <class>', 'the positive class of the binary metrics')
    .option('--key <key>', "how labels find predictions: request_id (default) or metadata.<field>")
    .option('--metric <metric>', 'accuracy (default), precision, recall, f1, *_macro, *_weighted, roc_auc, log_loss, brier; mae, rmse (default), mape, r2')
    .requiredOption('--width <duration>', 'window width: 1h, 24h, 7d')
    .option('--interval <duration>', 'time between window starts (default: the width)')
    .option('--start <time>', 'where window 0 starts')
    .option('--warning <level>', 'warning level of the metric')
    .option('--alert <level>', 'alert level of the metric (scores alert below it, errors at or above it)')
    .option('--min-coverage <share>', 'a window is pending until this share of its predictions has labels (default 0.8)')
    .option('--max-delay <duration>', '… or this long after it ends (default 7d)')
    .option('--reference-start <time>', 'CBPE: start of a labelled reference period')
    .option('--reference-end <time>', 'CBPE: end of the reference period');
}

function definition(o: DefinitionOpts): MonitorDefinition {
  const thresholds = o.warning !== undefined || o.alert !== undefined
    ? { ...(o.warning !== undefined ? { warning: num('--warning', o.warning) } : {}), ...(o.alert !== undefined ? { alert: num('--alert', o.alert) } : {}) } : undefined;
  const coverage = o.minCoverage !== undefined || o.maxDelay !== undefined
    ? { ...(o.minCoverage !== undefined ? { min: num('--min-coverage', o.minCoverage) } : {}), ...(o.maxDelay ? { max_delay: o.maxDelay } : {}) } : undefined;
  if ((o.referenceStart === undefined) !== (o.referenceEnd === undefined)) throw new Error('give both --reference-start and --reference-end');
  return {
    pipeline: o.pipeline, task: o.task, label: o.label,
    prediction: { column: o.prediction, ...(o.index !== undefined ? { index: num('--index', o.index) } : {}) },
    ...(o.probabilities ? { probabilities: { column: o.probabilities } } : {}),
    ...(o.classes ? { classes: o.classes.split(',').map((c) => c.trim()) } : {}),
    ...(o.positive !== undefined ? { positive: o.positive } : {}),
    ...(o.key ? { key: o.key } : {}),
    ...(o.metric ? { metric: o.metric as MonitorDefinition['metric'] } : {}),
    window: { width: o.width, ...(o.interval ? { interval: o.interval } : {}), ...(o.start ? { start: time(o.start) } : {}) },
    ...(thresholds ? { thresholds } : {}),
    ...(coverage ? { coverage } : {}),
    ...(o.referenceStart && o.referenceEnd ? { reference: { start: time(o.referenceStart), end: time(o.referenceEnd) } } : {}),
    ...(o.webhook ? { alert: { webhook: o.webhook, ...(o.alertOn ? { on: o.alertOn } : {}) } } : {}),
  };
}

const windowRows = (ws: PerformanceWindow[]) => ws.map((w) => ({
  window: w.window.index, start: iso(w.window.start), rows: w.count, labelled: w.labelled, coverage: fmt(w.coverage), [w.metric]: fmt(w.value),
  ...(w.estimated ? { estimated: fmt(w.estimated.value), band: w.estimated.value === null ? '' : `${fmt(w.estimated.metrics[w.metric as 'accuracy']?.lower)}–${fmt(w.estimated.metrics[w.metric as 'accuracy']?.upper)}` } : {}),
  state: w.state, status: w.status,
}));

const monitorRow = (m: MonitorInfo) => ({
  name: m.name, pipeline: m.pipeline, task: m.task, metric: m.metric, window: `${m.window.width} every ${m.window.interval}`, state: m.state,
  cbpe: m.calibration ? `${m.calibration.reference_rows} rows` : '', last_status: m.last_result?.status ?? '', last_value: fmt(m.last_result?.value),
});

export function monitorCommands(program: Command, { client, print, int }: Cli): void {
  const feedback = program.command('feedback').description('ground truth: labels for logged predictions');
  feedback.command('upload <pipeline> <file>').description('upload labels from a CSV, JSON (records), Arrow or Parquet file')
    .option('--key <key>', "request_id (default; columns request_id and row) or metadata.<field> (column <field>)")
    .option('--label <columns>', 'label columns, comma-separated (default: every column but the key)')
    .action(async (pipeline: string, file: string, o: { key?: string; label?: string }) => {
      const ext = path.extname(file).toLowerCase();
      const opts = { key: o.key, label: o.label?.split(',').map((s) => s.trim()) };
      const bytes = fs.readFileSync(file);
      const r = ext === '.json'
        ? await client().addFeedback(pipeline, JSON.parse(bytes.toString('utf8')), opts)
        : await client().addFeedback(pipeline, bytes, { ...opts, contentType: CONTENT_TYPES[ext] ?? 'text/csv' });
      print(r, () => `${r.received} label(s) for ${r.pipeline} (${r.labels.join(', ')}; key ${r.key}): ${r.matched} matched, ${r.unmatched} unmatched, ${r.replaced} replaced an earlier label`);
    });
  feedback.command('unmatched <pipeline>').description('labels no logged prediction has the key of')
    .option('--limit <n>', 'labels to list', int('limit'), 100)
    .action(async (pipeline: string, o: { limit: number }) => {
      const u = await client().unmatchedFeedback(pipeline, o.limit);
      print(u, () => [`${u.count} unmatched label(s)`, table(u.labels.map((l) => ({ key: l.key, labels: l.labels, received_at: l.received_at })))].join('\n'));
    });

  const monitor = program.command('monitor').description('performance monitors: realised metrics from ground truth, estimated (CBPE) before it comes');
  definitionOptions(monitor.command('preview').description('run a monitor definition over past windows without saving it'))
    .option('--from <time>', 'first window start (default: the first log)')
    .option('--to <time>', 'end of the last window (default: the last log)')
    .action(async (o: DefinitionOpts & { from?: string; to?: string }) => {
      const p = await client().previewMonitor({ ...definition(o), ...(o.from ? { start: time(o.from) } : {}), ...(o.to ? { end: time(o.to) } : {}) });
      print(p, () => [`${p.definition.metric} of ${p.pipeline}: ${p.windows.length} window(s)${p.calibration ? `, CBPE calibrated on ${p.calibration.reference_rows} rows` : ''}`, table(windowRows(p.windows))].join('\n'));
    });
  definitionOptions(monitor.command('create <name>').description('save a monitor: each window is computed when it ends and finalised when its labels have come'))
    .option('--webhook <url>', 'POST a JSON alert here when a window is in alert (estimated or realised)')
    .addOption(new Option('--alert-on <status>', 'alert on "alert" only (default) or on "warning" too').choices(['alert', 'warning']))
    .action(async (name: string, o: DefinitionOpts) => {
      const m = await client().createMonitor(name, definition(o));
      print(m, () => `created monitor ${m.name}: ${m.metric} of ${m.pipeline}, windows of ${m.window.width}; first window ends ${iso(m.next_window.end)}`);
    });
  monitor.command('list').description('list performance monitors').action(async () => {
    const all = await client().listMonitors();
    print(all, () => table(all.map(monitorRow)));
  });
  monitor.command('show <name>').description('a performance monitor').action(async (name: string) => {
    const m = await client().getMonitor(name);
    print(m, () => [table([monitorRow(m)]), `thresholds: ${JSON.stringify(m.definition.thresholds)}${m.definition.alert ? `; alerts to ${m.definition.alert.webhook}` : ''}`].join('\n'));
  });
  monitor.command('results <name>').description("a monitor's windows: realised and estimated")
    .option('--since <time>', 'windows starting at or after')
    .option('--until <time>', 'windows starting before')
    .option('--limit <n>', 'results to read', int('limit'), 1000)
    .action(async (name: string, o: { since?: string; until?: string; limit: number }) => {
      const r = await client().monitorResults(name, { start: o.since ? time(o.since) : undefined, end: o.until ? time(o.until) : undefined, limit: o.limit });
      print(r, () => table(windowRows(r)));
    });
  monitor.command('alerts <name>').description("a monitor's alert deliveries").action(async (name: string) => {
    const alerts = await client().monitorAlerts(name) as Record<string, unknown>[];
    print(alerts, () => table(alerts.map(({ payload: _p, ...a }) => a)));
  });
  for (const verb of ['pause', 'resume'] as const) {
    monitor.command(`${verb} <name>`).description(`${verb} a monitor`).action(async (name: string) => {
      const m = verb === 'pause' ? await client().pauseMonitor(name) : await client().resumeMonitor(name);
      print(m, () => `monitor ${m.name} is ${m.state}`);
    });
  }
  monitor.command('delete <name>').description('delete a monitor with its results').action(async (name: string) => {
    const r = await client().deleteMonitor(name);
    print(r, () => `deleted monitor ${r.deleted}`);
  });
}
