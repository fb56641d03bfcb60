/** `bettong pipeline ...`: build, deploy and inspect pipelines. */
import { describeStep } from '../../pipelines/steps.ts';
import type { StepSpec } from '../../sdk/index.ts';
import { table } from '../format.ts';
import type { Command } from 'commander';
import { type Cli, parseSince } from '../context.ts';

/** Step options as given, in order: commander keeps one value per option, so they gather here. */
type RawStep = { model?: string; ab?: string; shadow?: string; key?: string; map?: string; default?: string };
const pending: RawStep[] = [];
const push = (s: RawStep) => { pending.push(s); return undefined; };
const last = (kind: 'ab', field: 'key' | 'map' | 'default', v: string) => {
  const step = pending.at(-1);
  if (!step || !step[kind]) throw new Error(`--${field} belongs right after an --ab step`);
  step[field] = v;
  return undefined;
};

/** "name" or "name:3" */
function ref(s: string): { model: string; version?: number } {
  const [model, v] = s.trim().split(':');
  if (v === undefined) return { model };
  const version = Number(v);
  if (!Number.isInteger(version) || version < 1) throw new Error(`'${s}': the version must be a positive integer`);
  return { model, version };
}

function toSpec(raw: RawStep): StepSpec {
  if (raw.model) return ref(raw.model);
  if (raw.shadow) {
    const [champion, ...challengers] = raw.shadow.split(',').map(ref);
    return { shadow: { champion, challengers } };
  }
  const arms = raw.ab!.split(',').map((a) => {
    const [m, w] = a.split('=');
    return w === undefined ? ref(m) : { ...ref(m), weight: Number(w) };
  });
  const mapping = raw.map ? Object.fromEntries(raw.map.split(',').map((kv) => kv.split('=').map((x) => x.trim()))) : undefined;
  return { ab: { arms, key: raw.key, ...(mapping ? { split: 'key' as const, mapping, default: raw.default } : {}) } };
}

export function pipelineCommands(program: Command, { client, print, int }: Cli): void {
  const pipeline = program.command('pipeline').description('build, deploy and inspect pipelines');
  pipeline.command('create <name>')
    .description('create a pipeline (or a new version of it) from ordered steps')
    .addHelpText('after', `
Steps run in the order the options are given:
  --step digits:2                           a model step (model[:version])
  --ab control=2,challenger:3=1             an A/B step: arms with weights (random split)
     --key metadata.user_id                   ...sticky: a hash of this key picks the arm
     --map us=control,eu=challenger           ...or a key split: key value -> arm (with --key)
     --default control                        ...the arm for other values
  --shadow champion,challenger1,challenger2 a shadow step: only the champion answers
  --validation 'confident=out.probabilities[1] <= 0.95'   a rule good rows satisfy`)
    .option('--step <model[:version]>', 'a model step', (v: string) => push({ model: v }))
    .option('--ab <arm=weight,...>', 'an A/B step', (v: string) => push({ ab: v }))
    .option('--key <metadata.name|in.name>', 'the key of the last --ab step', (v: string) => last('ab', 'key', v))
    .option('--map <value=arm,...>', 'key split mapping of the last --ab step', (v: string) => last('ab', 'map', v))
    .option('--default <arm>', 'default arm of the last --ab key split', (v: string) => last('ab', 'default', v))
    .option('--shadow <champion,challenger,...>', 'a shadow step', (v: string) => push({ shadow: v }))
    .option('--validation <name=expression>', 'a validation rule (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .action(async (name: string, o: { validation?: string[] }) => {
      if (pending.length === 0) throw new Error('give at least one --step, --ab or --shadow');
      const steps = pending.map(toSpec);
      const validations = Object.fromEntries((o.validation ?? []).map((v) => {
        const i = v.indexOf('=');
        if (i < 1) throw new Error(`--validation '${v}' must be name=expression`);
        return [v.slice(0, i).trim(), v.slice(i + 1).trim()];
      }));
      const pv = await client().createPipeline(name, steps, { validations });
      print(pv, () => `${pv.created ? 'created' : 'unchanged'}: pipeline ${pv.pipeline} version ${pv.version}\n` +
        table(pv.steps.map((s, i) => ({ step: i + 1, kind: s.kind, models: describeStep(s), wiring: s.wiring ?? '' }))) +
        (Object.keys(pv.validations).length ? `\n${table(Object.entries(pv.validations).map(([rule, expression]) => ({ rule, expression })))}` : ''));
    });
  pipeline.command('list').description('list pipelines').action(async () => {
    const ps = await client().listPipelines();
    print(ps, () => table(ps as unknown as Record<string, unknown>[]));
  });
  pipeline.command('show <name>').description('a pipeline: latest version, signature and deployment').action(async (name: string) => {
    const p = await client().getPipeline(name);
    print(p, () => [
      `pipeline ${p.name}: ${p.versions} version(s), deployment ${p.deployment.status}${p.deployment.pipeline_version ? ` (version ${p.deployment.pipeline_version})` : ''}`,
      table(p.latest.steps.map((s, i) => ({ step: i + 1, kind: s.kind, models: describeStep(s) }))),
      table([...p.latest.signature.inputs.map((s) => ({ kind: 'input', ...s })), ...p.latest.signature.outputs.map((s) => ({ kind: 'output', ...s }))]),
    ].join('\n'));
  });
  pipeline.command('versions <name>').description('all versions of a pipeline').action(async (name: string) => {
    const vs = await client().pipelineVersions(name);
    print(vs, () => table(vs.map((v) => ({ version: v.version, steps: v.steps.map(describeStep).join(' -> '), created_at: v.created_at }))));
  });
  pipeline.command('deploy <name>').description('deploy a pipeline version (latest by default)')
    .option('--version <n>', 'pipeline version', int('version'))
    .option('--replicas <n>', 'inference worker threads (0: in the server thread)', (v: string) => (v === '0' ? 0 : int('replicas')(v)))
    .option('--threads <n>', 'threads per model instance', int('threads'))
    .option('--step-timeout <ms>', 'longest a JavaScript/Python step may take per call', int('step timeout'))
    .option('--memory <mb>', 'memory of each JavaScript/Python step process, MiB', int('memory'))
    .option('--cpu-seconds <s>', 'CPU time one call to a JavaScript/Python step may use, s (0: no limit)', (v: string) => (v === '0' ? 0 : int('cpu seconds')(v)))
    .option('--max-batch-size <rows>', 'dynamic batching: most rows per coalesced run (1: off)', int('max batch size'))
    .option('--max-delay <ms>', 'dynamic batching: longest wait for company', (v: string) => (v === '0' ? 0 : int('max delay')(v)))
    .action(async (name: string, o: {
      version?: number; replicas?: number; threads?: number; stepTimeout?: number; memory?: number; cpuSeconds?: number; maxBatchSize?: number; maxDelay?: number;
    }) => {
      const { stepTimeout, memory, cpuSeconds, maxBatchSize, maxDelay, ...rest } = o;
      const s = await client().deploy(name, {
        ...rest, step_timeout_ms: stepTimeout, memory_mb: memory, cpu_seconds: cpuSeconds, max_batch_size: maxBatchSize, max_delay_ms: maxDelay,
      });
      print(s, () => `pipeline ${s.pipeline} version ${s.pipeline_version}: ${s.status} (replicas ${s.config?.replicas})`);
    });
  pipeline.command('swap <name>').description('hot swap or promote: replace a step (or one arm of it) in the running pipeline')
    .requiredOption('--step <n>', '1-based step to change', int('step'))
    .requiredOption('--model <model[:version]>', 'the model that takes its place')
    .option('--replace <model>', 'in an A/B or shadow step: the arm, champion or challenger to replace')
    .action(async (name: string, o: { step: number; model: string; replace?: string }) => {
      const s = await client().swap(name, { step: o.step, ...ref(o.model), replace: o.replace });
      print(s, () => `pipeline ${s.pipeline}: now version ${s.pipeline_version} (${s.status}), swapped in ${s.swap_ms} ms`);
    });
  pipeline.command('compare <name>').description('compare arms / model versions from the logs: rows, outputs, latency, validation failures')
    .option('--since <time>', 'start: ISO time, epoch ms, or a duration ago (10m, 2h, 1d)')
    .option('--until <time>', 'end: ISO time or epoch ms')
    .action(async (name: string, o: { since?: string; until?: string }) => {
      const c = await client().compare(name, { start: o.since ? parseSince(o.since) : undefined, end: o.until });
      const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '' : Number(x.toPrecision(4)));
      print(c, () => c.groups.map((g) => [
        `${g.role} ${g.models}: ${g.rows} rows` + (g.latency_ms ? `, latency p50/p95/p99 ${fmt(g.latency_ms.p50)}/${fmt(g.latency_ms.p95)}/${fmt(g.latency_ms.p99)} ms` : '') +
          (g.validation_failure_rate !== null ? `, validation failures ${(g.validation_failure_rate * 100).toFixed(1)}%` : '') + (g.errors ? `, ${g.errors} errors` : ''),
        table(Object.entries(g.outputs).map(([output, s]) => ({ output, mean: fmt(s.mean), std: fmt(s.std), min: fmt(s.min), p50: fmt(s.p50), max: fmt(s.max) }))),
      ].join('\n')).join('\n\n') || '(no logs in range)');
    });
  pipeline.command('undeploy <name>').description('stop serving a pipeline').action(async (name: string) => {
    const s = await client().undeploy(name);
    print(s, () => `pipeline ${s.pipeline}: ${s.status}`);
  });
  pipeline.command('status <name>').description('deployment status of a pipeline and its traffic over the last minute')
    .option('--window <seconds>', 'how far back the traffic figures look (at most 300)', '60')
    .action(async (name: string, o: { window: string }) => {
      const c = client();
      const [s, m] = await Promise.all([c.deploymentStatus(name), c.pipelineMetrics(name, Number(o.window))]);
      const { pipeline: _, ...traffic } = m;
      const ms = (x: number | null) => (x === null ? '-' : `${x} ms`);
      print({ ...s, traffic }, () => [
        table([{ pipeline: s.pipeline, version: s.pipeline_version, status: s.status, replicas: s.config?.replicas, threads: s.config?.threads, error: s.error, updated_at: s.updated_at }]),
        `last ${m.window_s} s: ${m.requests} requests (${m.requests_per_s}/s), error rate ${(m.error_rate * 100).toFixed(1)}%, ` +
          `latency p50 ${ms(m.latency_ms.p50)}, p95 ${ms(m.latency_ms.p95)}, p99 ${ms(m.latency_ms.p99)}`,
      ].join('\n'));
    });
}
