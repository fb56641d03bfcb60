/** `bettong pipeline ...`: build, deploy and inspect pipelines. */
import type { StepRef } from '../../sdk/index.ts';
import { table } from '../format.ts';
import type { Command } from 'commander';
import type { Cli } from '../context.ts';

export function pipelineCommands(program: Command, { client, print, int }: Cli): void {
  const pipeline = program.command('pipeline').description('build, deploy and inspect pipelines');
  pipeline.command('create <name>').description('create a pipeline (or a new version of it) from ordered steps')
    .requiredOption('--step <model[:version]>', 'a model step, in order (repeat the option)', (v: string, acc: string[]) => [...acc, v], [])
    .action(async (name: string, o: { step: string[] }) => {
      const steps: StepRef[] = o.step.map((s) => {
        const [m, v] = s.split(':');
        return v === undefined ? { model: m } : { model: m, version: int('step version')(v) };
      });
      const pv = await client().createPipeline(name, steps);
      print(pv, () => `${pv.created ? 'created' : 'unchanged'}: pipeline ${pv.pipeline} version ${pv.version}\n` +
        table(pv.steps.map((s, i) => ({ step: i + 1, model: s.model, version: s.model_version, wiring: s.wiring ?? '' }))));
    });
  pipeline.command('list').description('list pipelines').action(async () => {
    const ps = await client().listPipelines();
    print(ps, () => table(ps as unknown as Record<string, unknown>[]));
  });
  pipeline.command('show <name>').description('a pipeline: latest version, signature and deployment').action(async (name: string) => {
    const p = await client().getPipeline(name);
    print(p, () => [
      `pipeline ${p.name}: ${p.versions} version(s), deployment ${p.deployment.status}${p.deployment.pipeline_version ? ` (version ${p.deployment.pipeline_version})` : ''}`,
      table(p.latest.steps.map((s, i) => ({ step: i + 1, model: s.model, version: s.model_version }))),
      table([...p.latest.signature.inputs.map((s) => ({ kind: 'input', ...s })), ...p.latest.signature.outputs.map((s) => ({ kind: 'output', ...s }))]),
    ].join('\n'));
  });
  pipeline.command('versions <name>').description('all versions of a pipeline').action(async (name: string) => {
    const vs = await client().pipelineVersions(name);
    print(vs, () => table(vs.map((v) => ({ version: v.version, steps: v.steps.map((s) => `${s.model}:${s.model_version}`).join(' -> '), created_at: v.created_at }))));
  });
  pipeline.command('deploy <name>').description('deploy a pipeline version (latest by default)')
    .option('--version <n>', 'pipeline version', int('version'))
    .option('--replicas <n>', 'model instances per step', int('replicas'))
    .option('--threads <n>', 'threads per model instance', int('threads'))
    .action(async (name: string, o: { version?: number; replicas?: number; threads?: number }) => {
      const s = await client().deploy(name, o);
      print(s, () => `pipeline ${s.pipeline} version ${s.pipeline_version}: ${s.status} (replicas ${s.config?.replicas})`);
    });
  pipeline.command('undeploy <name>').description('stop serving a pipeline').action(async (name: string) => {
    const s = await client().undeploy(name);
    print(s, () => `pipeline ${s.pipeline}: ${s.status}`);
  });
  pipeline.command('status <name>').description('deployment status of a pipeline').action(async (name: string) => {
    const s = await client().deploymentStatus(name);
    print(s, () => table([{ pipeline: s.pipeline, version: s.pipeline_version, status: s.status, replicas: s.config?.replicas, threads: s.config?.threads, error: s.error, updated_at: s.updated_at }]));
  });
}
