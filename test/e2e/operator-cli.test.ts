/**
 * The operator's procedure on a local stack, with real executions (the real activities, the container on CPU):
 *   1. a worker under Worker Versioning (deployment + build ID = workflow source hash) is promoted the documented way:
 *      `npm run cli -- replay` (the gate), then `temporal worker deployment set-current-version`;
 *   2. a run whose training fails, then a re-run under the same workflow ID: fresh resources (the failed job stays
 *      Failed, a new job trains), said in its summary; a reviewer rejects it with `npm run cli -- reject`;
 *   3. a long run: `status` shows its steps and the training job's live state from SageMaker, `list` shows both runs
 *      with step, version and approval, `stop` cancels it and reports the stopped job, which local SageMaker stops;
 *   4. `replay` of the cluster's histories passes on this checkout and fails (exit 1, naming the run and the event)
 *      on a bundle with two steps reordered; a bad query and a missing run are clear errors.
 */
import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import '../../testing/quiet-runtime';
import { createActivities } from '../../activities';
import { runResourceNames } from '../../contracts/names';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { LocalHarness } from '../../testing/local-harness';
import { type Spec } from '../../testing/tiny-spec';
import { waitUntil } from '../../local/shared/procs';
import { createAwsClients } from '../../worker/aws-clients';
import { runOperatorCli } from '../../worker/cli';
import { workerDeploymentOptions, workerVersion } from '../../worker/worker-deployment';
import { projectWorkerOptions } from '../../worker/worker-options';
import { workflowSourceHash } from '../../worker/workflow-version';
import { queryStatus } from '../../worker/pipeline-client';
import { TEMPORAL_CLI_PATH } from '../../testing/temporal-test-env';
import { copyWorkflowCode, REORDER_SYNC_BEFORE_PUBLISH } from '../../testing/workflow-copy';

const BIN = path.join(__dirname, '../../container/.venv/bin');
const REAL = ['train', 'serve', 'prepare'].every((e) => fs.existsSync(path.join(BIN, e)));
const suite = REAL ? describe : describe.skip;
jest.setTimeout(600_000);

const TASK_QUEUE = `e2e-operator-${process.pid}`;
const DEPLOYMENT = 'e2e-operator';

let h: LocalHarness;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let cliEnv: Record<string, string>;
let ok = false;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOperatorCli(argv, cliEnv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** One host, tiny model, no tuning, no endpoint, a reviewer decides: the shortest run through every step it takes. */
const short = (patch: (s: Spec) => void = () => undefined): Spec =>
  h.spec((s) => {
    s.tuning.enabled = false;
    s.training.instanceCount = 1;
    s.deployment.enabled = false;
    s.registry.approval = { policy: 'manual' };
    patch(s);
  });

async function trainingState(name: string): Promise<string | undefined> {
  return h.sm
    .send(new DescribeTrainingJobCommand({ TrainingJobName: name }))
    .then((d) => `${d.TrainingJobStatus}/${d.SecondaryStatus}`)
    .catch(() => undefined);
}

suite('operator commands on the local stack', () => {
  const build = workflowSourceHash();

  beforeAll(async () => {
    h = await LocalHarness.start({ prefix: 'operator-e2e' });
    cliEnv = { ...h.env, TEMPORAL_TASK_QUEUE: TASK_QUEUE };
    native = await NativeConnection.connect({ address: h.env.TEMPORAL_ADDRESS });
    const version = workerVersion({ deployment: { name: DEPLOYMENT }, workflowBundlePath: undefined });
    expect(version).toMatchObject({ buildId: build, versioned: true });
    worker = await Worker.create({
      connection: native,
      taskQueue: TASK_QUEUE,
      workerDeploymentOptions: workerDeploymentOptions(version),
      ...projectWorkerOptions(),
      activities: createActivities({ clients: createAwsClients({ region: h.env.AWS_REGION as string }) }),
    });
    running = worker.run();
  });

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => undefined);
    await native?.close();
    await h?.stop(!ok);
  });

  it('promotes the new build after the replay gate, the way docs/versioning.md says', async () => {
    const gate = await cli('replay');
    expect(gate.code).toBe(0);
    expect(gate.out).toMatch(
      new RegExp(`nothing to replay against this checkout's workflow code \\(build ${build}\\)`),
    );
    // The version exists once its worker has polled; promote it as an operator would.
    await waitUntil(
      async () =>
        promisify(execFile)(TEMPORAL_CLI_PATH, [
          'worker',
          'deployment',
          'set-current-version',
          '--deployment-name',
          DEPLOYMENT,
          '--build-id',
          build,
          '--yes',
          '--address',
          h.env.TEMPORAL_ADDRESS as string,
        ]).then(
          () => true,
          () => false,
        ),
      60_000,
      'set-current-version',
    );
  });

  it('re-runs a failed run under the same workflow ID with fresh resources, and a reviewer rejects it', async () => {
    const client = await h.client();
    const id = 'ops-rerun';
    const failed = await client.workflow
      .execute('migrationPipeline', {
        taskQueue: TASK_QUEUE,
        workflowId: id,
        args: [short((s) => (s.training.hyperparameters.n_heads = 3))],
      })
      .catch((e: Error) => e);
    expect(failed).toBeInstanceOf(Error);
    const oldJob = runResourceNames(id).trainingJob;
    expect(await trainingState(oldJob)).toBe('Failed/Failed');

    const handle = await client.workflow.start('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId: id,
      args: [short()],
    });
    await waitUntil(
      async () => (await queryStatus(client, `${id}/registerModel`, 5000))?.awaitingApproval ?? false,
      300_000,
      'the re-run to wait for a reviewer',
    );
    const rejected = await cli('reject', id, '--reviewer', 'ana', '--reason', 'e2e: not this one');
    expect(rejected).toMatchObject({ code: 0 });
    expect(rejected.out).toMatch(
      /^rejected arn:aws:sagemaker:.*model-package\/.* \(ops-rerun\/registerModel\) as ana: now Rejected$/,
    );
    const summary: PipelineSummary = await handle.result();
    expect(summary.outcome).toBe('not-approved');
    expect(summary.rerun?.message).toMatch(
      /^Re-run of ops-rerun: 1 earlier run\(s\), the latest .* FAILED; this run starts fresh resources/,
    );
    const freshJob = runResourceNames(id, handle.firstExecutionRunId).trainingJob;
    expect(freshJob).not.toBe(oldJob);
    expect(summary.training?.jobName).toBe(freshJob);
    expect(await trainingState(freshJob)).toBe('Completed/Completed');
    expect(await trainingState(oldJob)).toBe('Failed/Failed'); // untouched
  });

  it('shows a long run with status and list, and stop cancels it with its cleanup', async () => {
    const client = await h.client();
    const id = 'ops-long';
    const job = runResourceNames(id).trainingJob;
    await client.workflow.start('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId: id,
      args: [short((s) => (s.training.hyperparameters.max_steps = 2000))],
    });
    await waitUntil(async () => (await trainingState(job)) === 'InProgress/Training', 300_000, `${job} training`);
    // The step reports what it last observed at its next poll: wait for that too before reading the status.
    let status = await cli('status', id);
    await waitUntil(
      async () => /^ {2}trainModel +RUNNING +InProgress \/ Training/m.test((status = await cli('status', id)).out),
      120_000,
      'the trainModel step to observe Training',
      2_000,
    );
    expect(status.code).toBe(0);
    expect(status.out).toMatch(new RegExp(`^run ops-long \\(migrationPipeline\\) RUNNING`));
    expect(status.out).toMatch(
      new RegExp(`version ${build} \\(${DEPLOYMENT}:${build}, AutoUpgrade\\); step trainModel`),
    );
    expect(status.out).toMatch(/^ {2}syncData +COMPLETED/m);
    expect(status.out).toMatch(/^ {2}trainModel +RUNNING +InProgress \/ Training/m);
    expect(status.out).toMatch(/^ {2}deployModel +- +not started/m);
    expect(status.out).toMatch(new RegExp(`^ {2}training job +${job} {2}InProgress / Training$`, 'm'));

    const list = await cli('list');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^WORKFLOW ID +TYPE +STATUS +STEP +VERSION +ENDPOINT +APPROVAL +STARTED/);
    expect(list.out).toMatch(new RegExp(`^ops-long +migrationPipeline +RUNNING +trainModel +${build} .*`, 'm'));
    expect(list.out).toMatch(
      new RegExp(`^ops-rerun +migrationPipeline +COMPLETED +done +${build} .* +Rejected +`, 'm'),
    );
    expect(list.out).toMatch(new RegExp(`open runs by version: ${build}: 1$`, 'm'));
    expect((await cli('list', '--status', 'running')).out).not.toMatch(/ops-rerun/);
    // Runs of a build under Worker Versioning, by build ID and by the deployment version the server records.
    for (const version of [build, `${DEPLOYMENT}:${build}`]) {
      const byBuild = await cli('list', '--status', 'running', '--build-id', version);
      expect(byBuild.out).toMatch(/^ops-long +migrationPipeline +RUNNING/m);
    }
    expect((await cli('list', '--build-id', `${DEPLOYMENT}:not-a-build`)).out).toMatch(/^no pipeline runs match/);

    const stop = await cli('stop', id, '--timeout', '5m');
    expect(stop.code).toBe(0);
    expect(stop.out).toMatch(/^stop: cancellation requested for ops-long \(migrationPipeline\)/);
    expect(stop.out).toMatch(
      new RegExp(
        `^stopped ops-long: Cancelled during trainModel; stopped: training job ${job} \\(by trainModel\\)\\.$`,
        'm',
      ),
    );
    await waitUntil(async () => (await trainingState(job))?.startsWith('Stopped') ?? false, 120_000, `${job} stopped`);
    // The stopped run closed Canceled; its summary stays readable (the memo) for stop and status.
    expect(await cli('stop', id)).toMatchObject({
      code: 1,
      err: expect.stringMatching(
        /^stop: ops-long is not running \(CANCELLED at .*: cancelled\. Cancelled during trainModel;/,
      ),
    });
    const closed = await cli('status', id);
    expect(closed.out).toMatch(/^run ops-long \(migrationPipeline\) CANCELLED/);
    expect(closed.out).toMatch(/^ {2}outcome cancelled: Cancelled during trainModel; stopped: training job /m);
  });

  it('replays the cluster: passes on this checkout, fails naming run and event on reordered steps', async () => {
    const good = await cli('replay');
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/^ok {4}ops-rerun \S+ migrationPipeline COMPLETED$/m);
    // A stopped pipeline closes cancelled (its summary in its memo), as does the step it stopped.
    expect(good.out).toMatch(/^ok {4}ops-long \S+ migrationPipeline CANCELLED$/m);
    expect(good.out).toMatch(/^ok {4}ops-long\/trainModel \S+ trainModel CANCELLED$/m);
    expect(good.out).toMatch(/: (\d+) ok, 0 failed$/m);

    const copy = copyWorkflowCode(REORDER_SYNC_BEFORE_PUBLISH);
    const bundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reordered-')), 'workflow-bundle.js');
    try {
      const { code } = await bundleWorkflowCode({
        workflowsPath: copy.source.workflowsPath as string,
        ...(copy.source.bundlerOptions ?? {}),
      });
      fs.writeFileSync(bundle, code);
      const bad = await cli('replay', '--workflow-bundle', bundle);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(
        /^FAIL {2}ops-long \S+ migrationPipeline CANCELLED: \[TMPRL1100\] Nondeterminism error: .*; at history event \d+ EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED \(publishImage ops-long\/publishImage\)$/m,
      );
      expect(bad.out).toMatch(/do not roll out this code/);
    } finally {
      copy.remove();
      fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
    }
  });

  it('says clearly what is wrong with a bad query or a missing run', async () => {
    const badQuery = await cli('replay', '--query', "NoSuchAttribute = 'x'");
    expect(badQuery.code).toBe(2);
    expect(badQuery.err).toMatch(/^replay: the visibility query was refused: .*NoSuchAttribute/);
    expect((await cli('list', '--query', 'WorkflowId ==== 1')).err).toMatch(/^list: the visibility query was refused/);
    expect(await cli('status', 'no-such-run')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^status: no run no-such-run in namespace default$/),
    });
    expect(await cli('stop', 'no-such-run')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^stop: no run no-such-run in namespace default$/),
    });
    ok = true;
  });
});
