/**
 * `npm run histories:record`: runs the pipeline for real in local mode (its own stack: Temporal dev server, moto, the
 * local SageMaker service running the container on CPU; the real activities) and adds the event history of every run
 * and of each of its step workflows to test/histories/<build ID>/, as a new version whose entry is that folder's
 * version.json (manifest.json, which lists v1-v3, is never edited).
 * Histories of earlier versions are never touched: a build ID that is already recorded is refused.
 *
 * Runs: a first deployment (migrationPipeline, with the optional prepareData and evaluateModel steps: a Processing
 * job and a Batch Transform job), a scheduled retrain (retrainPipeline, with both optional steps: warm-started tuning,
 * a manual approval sent through the approveModel update, a blue/green update), a bad model rolled back by its 5xx
 * alarm, a re-run under the workflow ID of a failed run (fresh resources), and a pipeline terminated during training
 * (its step cancels and stops the job). Tiny hyperparameters keep each run to a few minutes on 2 cores.
 */
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { childWorkflowId, PIPELINE_STEPS, runResourceNames } from '../contracts';
import type { PipelineSummary } from '../contracts/pipeline-plan';
import { sleep, waitUntil } from '../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../local/shared/credentials';
import { LocalHarness } from '../testing/local-harness';
import { type Spec, withOptionalSteps } from '../testing/tiny-spec';
import { writeBadModelProgram } from '../testing/bad-model';
import { HISTORIES_DIR, readManifest, type HistoryVersion, VERSION_FILE } from '../testing/history-sets';
import { TEMPORAL_CLI_PATH } from '../testing/temporal-test-env';
import { approveIfWaiting, failureChain, queryStatus } from '../worker/pipeline-client';
import { workflowSourceHash } from '../worker/workflow-version';

const TASK_QUEUE = 'record-histories';

interface Run {
  id: string;
  type: 'migrationPipeline' | 'retrainPipeline';
  spec: (h: LocalHarness) => Spec;
  /** What the run must end with: a summary outcome, or a failure whose message matches. */
  expect: { outcome: string } | { failure: RegExp };
  /** Send invocations while the deployModel step runs (the rollback alarm needs traffic). */
  traffic?: boolean;
  /** A run under this run's workflow ID before it, which must end as expected (the re-run case). */
  before?: Omit<Run, 'id' | 'before' | 'terminateDuringTraining'>;
  /** Terminate the pipeline once its training job trains; the step must cancel and stop the job. */
  terminateDuringTraining?: boolean;
}

/** A short run: one host, no tuning, no deployment. */
const short = (s: Spec): void => {
  s.tuning.enabled = false;
  s.training.instanceCount = 1;
  s.deployment.enabled = false;
  s.registry.approval = { policy: 'manual' };
};

const RUNS: Run[] = [
  {
    id: 'record-migration',
    type: 'migrationPipeline',
    spec: (h) => h.spec(withOptionalSteps),
    expect: { outcome: 'deployed' },
  },
  {
    id: 'record-retrain',
    type: 'retrainPipeline',
    // The same data trains the same model, which auto approval would hold: a reviewer approves it through the update.
    spec: (h) => h.spec((s) => (withOptionalSteps(s), (s.registry.approval = { policy: 'manual' }))),
    expect: { outcome: 'deployed' },
  },
  {
    id: 'record-rollback',
    type: 'migrationPipeline',
    spec: (h) =>
      h.spec((s) => {
        s.tuning.enabled = false;
        s.training.instanceCount = 1;
        s.training.hyperparameters = writeBadModelProgram(join(h.cfg.stateDir, 'bad-model-code'));
      }),
    expect: { failure: /roll(ed)?[ -]?back/i },
    traffic: true,
  },
  {
    id: 'record-rerun',
    type: 'migrationPipeline',
    before: {
      type: 'migrationPipeline',
      // d_model 64 is not divisible by 3 heads: the trainer refuses the hyperparameters and the job fails.
      spec: (h) => h.spec((s) => (short(s), (s.training.hyperparameters.n_heads = 3))),
      expect: { failure: /n_heads/ },
    },
    spec: (h) => h.spec(short),
    expect: { outcome: 'not-deployed' },
  },
  {
    id: 'record-terminate',
    type: 'migrationPipeline',
    spec: (h) => h.spec((s) => (short(s), (s.training.hyperparameters.max_steps = 400))),
    expect: { failure: /terminate during training/ },
    terminateDuringTraining: true,
  },
];

const say = (msg: string): void => console.log(`[record] ${msg}`);

/** While the run is open: approve a version waiting for review, and send traffic during deployModel when asked. */
async function drive(client: Client, id: string, run: Omit<Run, 'id'>, spec: Spec, done: () => boolean): Promise<void> {
  const runtime = new SageMakerRuntimeClient({ region: process.env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
  let approved = false;
  while (!done()) {
    const phase = (await queryStatus(client, id))?.pipelinePhase;
    if (!approved && phase === 'registerModel') {
      approved = await approveIfWaiting(client, id, { reviewer: 'histories-recorder', reason: 'recorded run' });
      if (approved) say(`${id}: approved through the approveModel update`);
    }
    if (run.traffic && phase === 'deployModel') {
      const body = JSON.stringify({ inputs: 'The assert statement', parameters: { max_new_tokens: 4 } });
      await runtime
        .send(
          new InvokeEndpointCommand({
            EndpointName: spec.deployment.endpointName,
            ContentType: 'application/json',
            Body: body,
          }),
        )
        .catch(() => undefined);
    }
    await sleep(300);
  }
}

async function trainingStatus(h: LocalHarness, name: string): Promise<string | undefined> {
  try {
    const d = await h.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    return `${d.TrainingJobStatus}/${d.SecondaryStatus}`;
  } catch {
    return undefined;
  }
}

/** Terminates the pipeline once its training job trains, then waits for the job to be Stopped by the step's cleanup. */
async function terminateDuringTraining(h: LocalHarness, client: Client, id: string): Promise<void> {
  const job = runResourceNames(id).trainingJob;
  await waitUntil(async () => (await trainingStatus(h, job)) === 'InProgress/Training', 600_000, `${job} training`);
  await client.workflow.getHandle(id).terminate('histories recorder: terminate during training');
  say(`${id}: terminated while ${job} trains`);
  await waitUntil(
    async () => (await trainingStatus(h, job))?.startsWith('Stopped') ?? false,
    300_000,
    `${job} stopped`,
  );
  const stepHandle = client.workflow.getHandle(childWorkflowId(id, 'trainModel'));
  // The job stops while the step is still finishing its cleanup (reporting what it stopped): wait for it to close.
  await waitUntil(
    async () => (await stepHandle.describe()).status.name !== 'RUNNING',
    300_000,
    `${id}/trainModel close`,
  );
  const step = await stepHandle.describe();
  if (step.status.name !== 'CANCELLED') throw new Error(`${id}/trainModel ended ${step.status.name}, not CANCELLED`);
  say(`${id}: trainModel cancelled and ${job} is Stopped (REQUEST_CANCEL reached the step)`);
}

/** Runs one execution to its end and checks it ended as expected. */
async function execute(
  h: LocalHarness,
  client: Client,
  id: string,
  run: Omit<Run, 'id'>,
): Promise<PipelineSummary | undefined> {
  const spec = run.spec(h);
  const started = Date.now();
  say(`${id}: ${run.type} on the local stack`);
  const handle = await client.workflow.start(run.type, { taskQueue: TASK_QUEUE, workflowId: id, args: [spec] });
  let closed = false;
  const driver = drive(client, id, run, spec, () => closed);
  const killer = (run as Run).terminateDuringTraining ? terminateDuringTraining(h, client, id) : Promise.resolve();
  const result = await handle.result().then(
    (summary: PipelineSummary) => ({ summary, error: undefined }),
    (error: Error) => ({ summary: undefined, error }),
  );
  closed = true;
  await driver;
  await killer;
  const got = result.summary ? `outcome ${result.summary.outcome}` : `failed: ${failureChain(result.error)}`;
  const ok =
    'outcome' in run.expect
      ? result.summary?.outcome === run.expect.outcome
      : run.expect.failure.test(failureChain(result.error));
  if (!ok) throw new Error(`${id} ended unexpectedly (${got}); logs in ${h.cfg.stateDir}/logs`);
  say(`${id}: ${got} in ${Math.round((Date.now() - started) / 1000)} s`);
  return result.summary;
}

/** A run, preceded by the failed run it re-runs when it has one. */
async function record(h: LocalHarness, client: Client, run: Run): Promise<void> {
  if (run.before) await execute(h, client, run.id, run.before);
  const summary = await execute(h, client, run.id, run);
  if (run.before) {
    if (!summary?.rerun) throw new Error(`${run.id}: the re-run did not say it started fresh resources`);
    const fresh = runResourceNames(run.id, summary.rerun.runKey).trainingJob;
    const old = runResourceNames(run.id).trainingJob;
    say(`${run.id}: ${summary.rerun.message}`);
    say(
      `${run.id}: earlier job ${old} ${await trainingStatus(h, old)}, fresh job ${fresh} ${await trainingStatus(h, fresh)}`,
    );
  }
}

/** Writes the proto3 JSON form (what historyFromJSON reads) of the run and of every step workflow it started. */
function writeHistories(h: LocalHarness, runId: string, dir: string): Record<string, string> {
  const written: Record<string, string> = {};
  for (const id of [runId, ...PIPELINE_STEPS.map((s) => childWorkflowId(runId, s))]) {
    let json: string;
    try {
      json = execFileSync(
        TEMPORAL_CLI_PATH,
        ['workflow', 'show', '--workflow-id', id, '--address', h.env.TEMPORAL_ADDRESS as string, '--output', 'json'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch {
      continue; // a step the run never reached (the rollback run has no tuning step)
    }
    const file = `${id.replace('/', '.')}.json`;
    writeFileSync(join(dir, file), json.endsWith('\n') ? json : `${json}\n`);
    written[file] = id;
    say(`wrote ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
  }
  return written;
}

function gitRevision(): string {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain') ? '+dirty' : ''}`;
}

async function main(notes: string): Promise<void> {
  const manifest = readManifest();
  const buildId = workflowSourceHash();
  const existing = manifest.versions.find((v) => v.buildId === buildId);
  if (existing)
    throw new Error(
      `build ${buildId} (today's workflow code) is already recorded as ${existing.version} in test/histories/${existing.dir}; kept histories are never re-recorded. Record after a change to workflows/ or contracts/.`,
    );
  const target = join(HISTORIES_DIR, buildId);
  if (existsSync(target)) throw new Error(`${target} exists but the manifest does not list it: remove it or list it`);
  const version = `v${manifest.versions.length + 1}`;
  const recordedFrom = gitRevision(); // the code the runs use is the code at the start
  say(`recording ${version} (build ${buildId}) into test/histories/${buildId}/`);

  const h = await LocalHarness.start({ prefix: 'record-histories' });
  let ok = false;
  const staging = mkdtempSync(join(HISTORIES_DIR, `.recording-${buildId}-`));
  try {
    const worker = await h.inProcessWorker(TASK_QUEUE);
    const client = await h.client();
    await worker.runUntil(async () => {
      for (const run of RUNS) await record(h, client, run);
    });
    const histories: Record<string, string> = {};
    for (const run of RUNS) Object.assign(histories, writeHistories(h, run.id, staging));
    const entry: HistoryVersion = {
      version,
      buildId,
      dir: buildId,
      recordedAt: new Date().toISOString().slice(0, 10),
      recordedFrom,
      notes,
      histories,
    };
    // The files and their entry (version.json) land in one rename; no existing file is edited.
    writeFileSync(join(staging, VERSION_FILE), `${JSON.stringify(entry, null, 2)}\n`);
    mkdirSync(HISTORIES_DIR, { recursive: true });
    renameSync(staging, target);
    say(
      `${version}: ${Object.keys(histories).length} histories in test/histories/${buildId}/, listed in its ${VERSION_FILE}`,
    );
    ok = true;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    await h.stop(!ok);
  }
}

const program = new Command('histories:record')
  .description(
    'Run the pipeline for real in local mode and add its histories as a new version under test/histories/ (about 15 minutes)',
  )
  .requiredOption('--notes <text>', 'what changed in this version of the workflow code (goes into its version.json)')
  .showHelpAfterError()
  .action(async (opts: { notes: string }) => main(opts.notes));

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`[record] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
