/**
 * Local SageMaker service restart: the service is killed (SIGKILL by default, `--signal SIGTERM` for a clean stop)
 * and started again mid-training and mid-rollout (blue/green update). The pipeline must complete, or fail with a
 * reason that names the restart; nothing may be duplicated (one training job, one UpdateEndpoint) and no host
 * process of the dead incarnation may survive.
 */
import { type Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { runResourceNames } from '../../../contracts/names';
import { sleep } from '../../../local/shared/procs';
import { LocalHarness } from '../../../testing/local-harness';
import { type Spec } from '../../../testing/tiny-spec';
import { writeResult } from '../../lib/results';
import { deployCell, followPhases, outcomeCell, outcomeOf, say, startPipeline } from '../lib/pipeline-watch';
import {
  clean,
  describeLeftovers,
  diff,
  endpoints,
  leftovers,
  ledger,
  ledgerAfter,
  readKind,
} from '../lib/resource-ledger';
import { KillableWorker } from '../lib/worker-pool';

export const about =
  'restart the local SageMaker service mid-training and mid-rollout; the run completes or fails naming the ' +
  'restart, nothing duplicated';

const TAG = 'service-restart';

/** Pids of live host processes (training hosts, endpoint instances) under the service's state dir. */
function hostPids(h: LocalHarness): number[] {
  const root = path.join(h.cfg.stateDir, 'sagemaker');
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/cwd`).startsWith(root);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The campaign's options. */
export function options(cmd: Command): Command {
  return cmd.addOption(
    new Option('--signal <signal>', 'how the service is killed: SIGKILL (a crash) or SIGTERM (a clean stop)')
      .choices(['SIGKILL', 'SIGTERM'])
      .default('SIGKILL'),
  );
}

export async function run(opts: { signal: 'SIGKILL' | 'SIGTERM' }): Promise<void> {
  const signal: NodeJS.Signals = opts.signal;
  const h = await LocalHarness.start({ prefix: 'chaos-restart' });
  let ok = false;
  try {
    const worker = await KillableWorker.start(h, `chaos-restart-${process.pid}`);
    const rows: (string | number)[][] = [];
    const failures: string[] = [];

    /** Runs the pipeline, restarts the service once `when()` holds, and checks the result. */
    const scenario = async (
      name: string,
      patch: (s: Spec) => void,
      when: (id: string) => boolean,
      expect: (id: string, d: ReturnType<typeof diff>) => string[],
    ): Promise<string | undefined> => {
      const workflowId = `chaos-restart-${name}-${Date.now().toString(36)}`;
      const before = ledger(h);
      say(TAG, `${name}: run ${workflowId}`);
      const handle = await startPipeline(h, worker.taskQueue, workflowId, h.spec(patch));
      let finished = false;
      const outcome = outcomeOf(handle).finally(() => (finished = true));
      const phases = followPhases(
        h,
        workflowId,
        () => finished,
        (p) => say(TAG, `${name}: ${p}`),
      );
      let restarted = 'never (the run ended first)';
      let survivors = 0;
      while (!finished) {
        if (when(workflowId)) {
          const old = hostPids(h);
          say(TAG, `${name}: ${signal} the local service (${old.length} host processes running)`);
          await h.restartService(signal);
          // The new incarnation kills the old one's hosts from the pid files before it starts anything.
          await sleep(2_000);
          survivors = old.filter((p) => hostPids(h).includes(p)).length;
          restarted = `${signal}, ${old.length} host process(es) before, ${survivors} survived`;
          say(TAG, `${name}: service back; ${restarted}`);
          break;
        }
        await sleep(300);
      }
      const o = await outcome;
      await phases;
      let left = leftovers(h);
      for (let t = 0; t < 60 && !clean(left); t++) {
        await sleep(1_000);
        left = leftovers(h);
      }
      const d = diff(before, await ledgerAfter(h));
      const problems = [...expect(workflowId, d)];
      if (survivors > 0) problems.push(`${survivors} host process(es) of the dead service survived`);
      if (!clean(left)) problems.push(`left running: ${describeLeftovers(left)}`);
      const job = readKind(h, 'training-jobs').find(
        (j) => j.TrainingJobName === runResourceNames(workflowId).trainingJob,
      );
      const ep = endpoints(h)[0];
      rows.push([
        name,
        restarted,
        deployCell(o),
        `${d.trainingJobs} (${String(job?.TrainingJobStatus ?? '-')}, ${String(job?._attempts ?? '-')} launch(es))`,
        d.packageVersions,
        `${d.endpointConfigs} / ${d.endpointCreates} / ${d.endpointUpdates}`,
        ep ? `${ep.status} on ${ep.config}` : '-',
        describeLeftovers(left),
        Math.round(o.seconds),
        problems.length ? `MISSED: ${problems.join('; ')}` : 'ok',
      ]);
      if (problems.length) failures.push(`${name}: ${problems.join('; ')}`);
      say(TAG, `${name}: ${o.summary?.message ?? outcomeCell(o)}`);
      return o.summary ? `deployed ${o.summary.endpoint?.configName ?? ''}` : o.failure;
    };

    // 1. Mid-training (4 hosts): the job restarts from its checkpoints under the same name; the run deploys.
    let trainingSeen = 0;
    const firstConfig = await scenario(
      'mid-training',
      (s) => {
        s.registry.modelPackageGroup = 'chaos-restart-train';
        s.tuning.enabled = false;
        s.training.hyperparameters = { ...s.training.hyperparameters, max_steps: 60 };
      },
      (id) => {
        const j = readKind(h, 'training-jobs').find((x) => x.TrainingJobName === runResourceNames(id).trainingJob);
        if (j?.SecondaryStatus === 'Training') trainingSeen += 1;
        return trainingSeen >= 10; // about 3 s into training
      },
      (_id, d) => {
        const p: string[] = [];
        if (d.trainingJobs !== 1) p.push(`${d.trainingJobs} training jobs`);
        if (d.packageVersions !== 1) p.push(`${d.packageVersions} package versions`);
        if (d.endpointCreates !== 1) p.push(`${d.endpointCreates} CreateEndpoint`);
        return p;
      },
    );
    const deployedConfig = endpoints(h)[0]?.config;
    let rolloutOutcome: string | undefined;
    if (!deployedConfig) failures.push(`mid-training did not deploy (${firstConfig ?? ''}); mid-rollout skipped`);
    else {
      // 2. Mid-rollout: a blue/green update interrupted; the old config must keep serving, with one UpdateEndpoint.
      let updatingSeen = 0;
      rolloutOutcome = await scenario(
        'mid-rollout',
        (s) => {
          s.registry.modelPackageGroup = 'chaos-restart-rollout';
          s.tuning.enabled = false;
          s.training.instanceCount = 1;
        },
        () => {
          if (endpoints(h)[0]?.status === 'Updating') updatingSeen += 1;
          return updatingSeen >= 10;
        },
        (id, d) => {
          const p: string[] = [];
          const ep = endpoints(h)[0];
          if (d.trainingJobs !== 1) p.push(`${d.trainingJobs} training jobs`);
          if (d.endpointUpdates !== 1) p.push(`${d.endpointUpdates} UpdateEndpoint calls succeeded`);
          if (ep?.status !== 'InService') p.push(`endpoint ${ep?.status}`);
          const cfg = runResourceNames(id).endpointConfig;
          if (ep?.config !== cfg && ep?.config !== deployedConfig) p.push(`endpoint on ${ep?.config}`);
          return p;
        },
      );
      // The rollout case passes when it deployed, or failed naming the restart (checked on the row's outcome).
      if (!rolloutOutcome?.startsWith('deployed') && !/interrupted by a restart/i.test(rolloutOutcome ?? ''))
        failures.push(`mid-rollout failed without naming the restart: ${rolloutOutcome ?? ''}`);
    }
    writeResult({
      name: signal === 'SIGKILL' ? 'chaos-service-restart' : 'chaos-service-restart-sigterm',
      title: `Local SageMaker service restarted (${signal}) mid-training and mid-rollout`,
      command: `npm run chaos -- service-restart${signal !== 'SIGKILL' ? ` --signal ${signal}` : ''}`,
      columns: [
        'scenario',
        'restart',
        'pipeline outcome',
        'training jobs (status, launches)',
        'package versions',
        'endpoint configs / CreateEndpoint / UpdateEndpoint',
        'endpoint afterwards',
        'left running',
        'run seconds',
        'check',
      ],
      rows,
      notes: [
        'mid-training: a 4-host job (60 steps, no tuning) is restarted about 3 s into `Training`; the new ' +
          'service incarnation kills the old hosts from its pid files and launches the same job again ' +
          '(SecondaryStatus back to Starting, resuming from synced checkpoints), so the run must end with one ' +
          'training job launched twice and one CreateEndpoint.',
        'mid-rollout: a second run (1 host, no tuning) updates the endpoint blue/green; the service is ' +
          'restarted about 3 s into `Updating`. The service keeps no blue/green state across a restart: it brings ' +
          'the endpoint back on its previous config with FailureReason "The update to <config> was interrupted by ' +
          'a restart of the local service", the deployModel step reports DeploymentRolledBack with that reason, ' +
          'and the pipeline marks the package version Rejected, as for an alarm rollback (pipeline.ts; not checked ' +
          'by this campaign). Pass: exactly one successful UpdateEndpoint, the endpoint InService, no green fleet ' +
          'left, and either a deploy or a failure naming the restart.',
        '"left running" is checked as in the cancellation campaign (jobs, builds, endpoint updates, processes ' +
          "under the service's state dir, one fleet per endpoint).",
      ],
    });
    if (failures.length) throw new Error(`service-restart missed its target:\n${failures.join('\n')}`);
    ok = true;
  } finally {
    await h.stop(!ok);
  }
}
