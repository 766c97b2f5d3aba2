/**
 * Cancellation at every step: one pipeline run per step (build, publish, sync, train, tune, register, deploy),
 * cancelled while that step works. Afterwards nothing may be left running or billing in the local service
 * (training and tuning jobs Stopped, builds stopped, no green fleet, the old endpoint config serving, no host
 * processes left), and the pipeline's result must say what it stopped.
 */
import type { Command } from 'commander';
import { runResourceNames } from '../../../contracts/names';
import type { PipelineStepName } from '../../../contracts/pipeline-plan';
import { sleep } from '../../../local/shared/procs';
import { cancelAndReport, queryStatus, registerModelId } from '../../../worker/pipeline-client';
import { LocalHarness } from '../../../testing/local-harness';
import { type Spec } from '../../../testing/tiny-spec';
import { writeResult } from '../../lib/results';
import { childPhase, outcomeCell, outcomeOf, reportedOutcome, say, startPipeline } from '../lib/pipeline-watch';
import { clean, describeLeftovers, endpoints, leftovers, readKind } from '../lib/resource-ledger';
import { KillableWorker } from '../lib/worker-pool';

export const about =
  'cancel a pipeline run during each of its 7 steps; nothing left running, the old endpoint config serving, the ' +
  'result lists what was stopped';

const TAG = 'cancellation';

/**
 * One cancellation case: the step, how to shape the run, when the step is busy enough to cancel, what must be stopped.
 */
interface Case {
  step: PipelineStepName;
  patch?: (s: Spec) => void;
  /** True once the step has something running worth stopping (polled every 300 ms while the step shows). */
  busy: (h: LocalHarness, workflowId: string) => Promise<boolean> | boolean;
  /** Text the result's `stopped` list must contain ('' when the step runs nothing that bills). */
  mustStop: string;
  /** A step short enough to slip between two status queries. */
  quick?: boolean;
}

const NEVER = 'never (the run ended first)';
/** How long a cancelled run may take to stop its steps and report (the workflow's own limit is 30 minutes). */
const CANCEL_DEADLINE_MS = 30 * 60_000;
/** Runs per case before a step that keeps ending before the cancel counts as missed. */
const ATTEMPTS = 3;

const small = (s: Spec): void => {
  s.tuning.enabled = false;
  s.training.instanceCount = 1;
};

const CASES: Case[] = [
  {
    step: 'buildImage',
    busy: (h) => readKind(h, 'codebuild-builds').some((b) => b.buildStatus === 'IN_PROGRESS'),
    mustStop: 'CodeBuild build',
  },
  { step: 'publishImage', busy: () => true, mustStop: '', quick: true },
  { step: 'syncData', busy: () => true, mustStop: '', quick: true },
  {
    step: 'trainModel',
    busy: (h, id) =>
      readKind(h, 'training-jobs').some(
        (j) => j.TrainingJobName === runResourceNames(id).trainingJob && j.SecondaryStatus === 'Training',
      ),
    mustStop: 'training job',
  },
  {
    step: 'tuneModel',
    busy: (h, id) =>
      readKind(h, 'training-jobs').some(
        (j) => String(j.TrainingJobName).startsWith(runResourceNames(id).tuningJob) && j.SecondaryStatus === 'Training',
      ),
    mustStop: 'tuning job',
  },
  {
    // Manual approval: the step waits for a reviewer, which is when an operator would cancel it.
    step: 'registerModel',
    patch: (s) => {
      small(s);
      s.registry.approval = { policy: 'manual' };
    },
    busy: async (h, id) => (await queryStatus(await h.client(), registerModelId(id)))?.awaitingApproval === true,
    mustStop: '',
  },
  {
    step: 'deployModel',
    patch: small,
    busy: (h) => readKind(h, 'endpoints').some((e) => e.EndpointStatus === 'Updating'),
    mustStop: 'endpoint update',
  },
];

/** The campaign's arguments: the steps to cancel in (all seven when none). */
export function options(cmd: Command): Command {
  return cmd.argument('[steps...]', `steps to cancel a run in (default all: ${CASES.map((c) => c.step).join(', ')})`);
}

export async function run(_opts: object, steps: string[]): Promise<void> {
  const unknown = steps.filter((s) => !CASES.some((c) => c.step === s));
  if (unknown.length)
    throw new Error(`unknown step(s) ${unknown.join(', ')}: choose from ${CASES.map((c) => c.step).join(', ')}`);
  const only = steps;
  const cases = only.length ? CASES.filter((c) => only.includes(c.step)) : CASES;
  const h = await LocalHarness.start({ prefix: 'chaos-cancel' });
  let ok = false;
  try {
    const worker = await KillableWorker.start(h, `chaos-cancel-${process.pid}`);
    const rows: (string | number)[][] = [];
    const failures: string[] = [];
    let blueConfig: string | undefined;
    for (const c of cases) {
      if (c.step === 'deployModel' && !blueConfig) {
        // An endpoint to update: a run that deploys (its own package group, so auto approval approves it).
        const id = `chaos-cancel-setup-${Date.now().toString(36)}`;
        say(TAG, `setup run ${id}: deploy the endpoint the deployModel case will update`);
        const o = await outcomeOf(
          await startPipeline(
            h,
            worker.taskQueue,
            id,
            h.spec((s) => {
              small(s);
              s.registry.modelPackageGroup = 'chaos-cancel-setup';
            }),
          ),
        );
        blueConfig = o.summary?.endpoint?.configName;
        say(TAG, `setup run: ${outcomeCell(o)} (${blueConfig ?? 'no endpoint'})`);
        if (!blueConfig) {
          failures.push(`setup run for deployModel did not deploy: ${outcomeCell(o)}`);
          continue;
        }
      }
      const spec = h.spec((s) => {
        s.registry.modelPackageGroup = `chaos-cancel-${c.step}`;
        c.patch?.(s);
      });
      let workflowId = '';
      let cancelledIn = NEVER;
      let o: Awaited<ReturnType<typeof outcomeOf>> | undefined;
      // A step can be over in a fraction of a second (publish, sync, a build whose context is cached): each is watched
      // through its child workflow's own state (a server call, no worker task), and a run it slipped through is tried
      // again.
      for (let attempt = 1; attempt <= ATTEMPTS && cancelledIn === NEVER; attempt++) {
        workflowId = `chaos-cancel-${c.step}-${Date.now().toString(36)}`;
        say(
          TAG,
          `${c.step}: run ${workflowId}` +
            `${attempt > 1 ? ` (attempt ${attempt}: the step was over before the cancel)` : ''}`,
        );
        const handle = await startPipeline(h, worker.taskQueue, workflowId, spec);
        const started = Date.now();
        let finished = false;
        const outcome = outcomeOf(handle, started).finally(() => (finished = true));
        o = undefined;
        for (;;) {
          if (finished) break;
          const p = await childPhase(h, workflowId, c.step);
          if (p === c.step && (await c.busy(h, workflowId))) {
            cancelledIn = attempt > 1 ? `${p} (attempt ${attempt})` : p;
            say(TAG, `${c.step}: cancel requested`);
            o = reportedOutcome(await cancelAndReport(await h.client(), workflowId, CANCEL_DEADLINE_MS), started);
            break;
          }
          await sleep(c.quick ? 10 : 100);
        }
        o ??= await outcome;
      }
      if (!o) throw new Error(`${c.step}: no run`);
      // Stopped jobs take their SIGTERM grace to exit: wait for the service to settle, up to 3 minutes.
      const settleStart = Date.now();
      let left = leftovers(h);
      while (!clean(left) && Date.now() - settleStart < 180_000) {
        await sleep(1_000);
        left = leftovers(h);
      }
      const settled = (Date.now() - settleStart) / 1000;
      const stopped = o.summary?.stopped ?? [];
      const checks: string[] = [];
      if (o.summary?.outcome !== 'cancelled') checks.push(`outcome ${outcomeCell(o)}`);
      if (c.mustStop && !stopped.some((s) => s.includes(c.mustStop)))
        checks.push(`result does not list a stopped ${c.mustStop}`);
      if (!clean(left)) checks.push(`left running: ${describeLeftovers(left)}`);
      const names = runResourceNames(workflowId);
      const job = readKind(h, 'training-jobs').find((j) => j.TrainingJobName === names.trainingJob);
      const tuning = readKind(h, 'tuning-jobs').find((j) => j.HyperParameterTuningJobName === names.tuningJob);
      if (c.step === 'trainModel' && job?.TrainingJobStatus !== 'Stopped')
        checks.push(`training job ${String(job?.TrainingJobStatus)}`);
      if (c.step === 'tuneModel' && tuning?.HyperParameterTuningJobStatus !== 'Stopped')
        checks.push(`tuning job ${String(tuning?.HyperParameterTuningJobStatus)}`);
      let endpointCell = '-';
      if (blueConfig) {
        const ep = endpoints(h).find((e) => e.name === spec.deployment.endpointName);
        const fleets = left.fleets.filter((f) => f.startsWith(`${spec.deployment.endpointName}/`)).length;
        endpointCell =
          `${ep?.status ?? 'none'} on ${ep?.config === blueConfig ? 'the old config' : (ep?.config ?? '-')}, ` +
          `${fleets} fleet(s)`;
        if (ep?.status !== 'InService' || ep.config !== blueConfig || fleets !== 1)
          checks.push(`endpoint ${endpointCell}`);
      }
      if (checks.length) failures.push(`${c.step}: ${checks.join('; ')}`);
      rows.push([
        c.step,
        cancelledIn,
        o.summary ? o.summary.outcome : outcomeCell(o),
        stopped.length ? stopped.join('; ') : 'nothing (no job was running)',
        job ? String(job.TrainingJobStatus) : '-',
        tuning ? `${String(tuning.HyperParameterTuningJobStatus)}` : '-',
        endpointCell,
        describeLeftovers(left),
        Math.round(settled),
        checks.length ? `MISSED: ${checks.join('; ')}` : 'ok',
      ]);
      say(
        TAG,
        `${c.step}: ${o.summary?.message ?? outcomeCell(o)}; left: ${describeLeftovers(left)} after ` +
          `${settled.toFixed(0)} s`,
      );
    }
    writeResult({
      name: 'chaos-cancellation',
      title:
        `Cancellation at every step: ${rows.filter((r) => r[9] === 'ok').length}/${rows.length} ` +
        `left nothing running`,
      command: `npm run chaos -- cancellation${only.length ? ` ${only.join(' ')}` : ''}`,
      columns: [
        'cancelled step',
        'cancel sent during',
        'pipeline result',
        'result lists as stopped',
        'training job',
        'tuning job',
        'endpoint afterwards',
        'left running',
        'seconds to settle',
        'check',
      ],
      rows,
      notes: [
        "One run per step on one local stack, cancelled (`WorkflowHandle.cancel`) once the step's child " +
          'workflow runs and has work in flight: a CodeBuild build IN_PROGRESS, a training job or a trial in ' +
          '`Training`, the registration waiting for a reviewer (manual approval), a blue/green update `Updating`. ' +
          'Publish and sync are cancelled as soon as their child workflow runs. Steps are watched through their ' +
          "child workflow's state (DescribeWorkflowExecution, no worker task needed); a run a step slipped through " +
          '(over before the cancel) is tried again, up to 3 times, and the row says which attempt.',
        '"left running" reads the local service\'s state (training and tuning jobs InProgress/Stopping, builds ' +
          'IN_PROGRESS, endpoints not InService) and the processes whose working directory is in its state dir ' +
          '(hosts, builds; endpoint instances are counted per fleet), after waiting up to 3 minutes for stopped ' +
          'jobs to exit; "seconds to settle" is that wait.',
        'The register and deploy cases run without tuning and with 1 training host to keep the campaign short; ' +
          'the deploy case updates an endpoint a setup run deployed first ("the old config" is that run\'s ' +
          'config), so the check is: old config InService, one fleet, no green left.',
      ],
    });
    if (failures.length) throw new Error(`cancellation missed its target:\n${failures.join('\n')}`);
    ok = true;
  } finally {
    await h.stop(!ok);
  }
}
