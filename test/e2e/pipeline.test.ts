/**
 * The whole pipeline end to end on the local stack (own ports, own state dir), with the real container on CPU:
 *   1. migrationPipeline with examples/pipeline.local.json (tiny hyperparameters): one 4-host training job,
 *      4 tuning trials, one Approved model package version, an endpoint InService that answers InvokeEndpoint;
 *   2. a second run: a blue/green update of that endpoint (manual approval, approved through the update);
 *   3. a deliberately bad model (its code/inference.py fails every request) rolled back automatically by the
 *      5xx alarm during the canary, while the previous model keeps answering;
 *   4. the worker killed (SIGKILL) mid-training and restarted: the run finishes with a single training job.
 * Runs 1-3 use a worker in this process; run 4 runs workers as child processes on their own task queue.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  ListTrainingJobsCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  SageMakerClient,
  type TrainingJobSummary,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../activities';
import { runResourceNames, sanitize } from '../../contracts/names';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { REPO_ROOT, type StackConfig, workerEnv } from '../../local/stack/config';
import { isAlive, sleep, waitUntil } from '../../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { writeBadModelProgram } from '../fixtures/bad-model';
import { isolatedStackConfig } from '../helpers/local-stack';
import { down, up } from '../../local/stack/launcher';
import { createAwsClients } from '../../worker/aws-clients';
import { projectWorkerOptions } from '../../worker/worker-options';
import { approveWhenWaiting, queryStatus } from '../../worker/pipeline-client';

const BIN = path.join(REPO_ROOT, 'container/.venv/bin');
const REAL =
  fs.existsSync(path.join(BIN, 'train')) &&
  fs.existsSync(path.join(BIN, 'serve')) &&
  fs.existsSync(path.join(BIN, 'prepare'));
const suite = REAL ? describe : describe.skip;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!REAL) console.warn(`pipeline e2e skipped: ${BIN}/{train,serve,prepare} missing (run scripts/bootstrap.sh)`);

jest.setTimeout(300_000);

/** A small model so a 4-host job and 4 trials take seconds on 2 cores (batch 8 divides over 4 hosts). */
const TINY = {
  n_layers: 1,
  d_model: 64,
  n_heads: 2,
  seq_len: 64,
  batch_size: 8,
  warmup_steps: 5,
  eval_batches: 2,
  max_steps: 30,
  eval_every: 10,
  checkpoint_every: 10,
};
const TASK_QUEUE = `e2e-pipeline-${process.pid}`;

type Spec = Record<string, any>;

let cfg: StackConfig;
let env: Record<string, string>;
let stackUp = false;
let nativeConnection: NativeConnection | undefined;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let connection: Connection | undefined;
let client: Client;
let sm: SageMakerClient;
let runtime: SageMakerRuntimeClient;
const children: ChildProcess[] = [];
const baseSpec: Spec = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples/pipeline.local.json'), 'utf8'));
let counter = 0;
/** Tests that ran to their end; afterAll keeps the state dir unless all of them did. */
let passed = 0;
const TESTS = 4;
const newId = (what: string): string => `e2e-${what}-${Date.now().toString(36)}-${++counter}`;

function spec(patch: (s: Spec) => void = () => undefined): Spec {
  const s: Spec = structuredClone(baseSpec);
  delete s.$schema;
  s.data.source = { localPath: path.join(cfg.stateDir, 'dataset') };
  s.pollIntervalSeconds = 1;
  s.training.hyperparameters = { ...TINY };
  s.deployment.rollback = { max5xxErrors: 0, periodSeconds: 10 };
  patch(s);
  return s;
}

suite('migrationPipeline on the local stack', () => {
  beforeAll(async () => {
    cfg = await isolatedStackConfig('pipeline-e2e', BIN);
    const stateDir = cfg.stateDir;
    env = workerEnv(cfg);
    // The AWS SDK reads AWS_ENDPOINT_URL_* itself: set them before any client is created.
    Object.assign(process.env, env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    await up(cfg);
    stackUp = true;

    // The test sets up and observes as the account's administrator; the worker's calls are held to its policy.
    const s3 = new S3Client({ region: env.AWS_REGION, forcePathStyle: true, credentials: ADMIN_CREDENTIALS });
    await s3.send(new CreateBucketCommand({ Bucket: baseSpec.bucket }));
    const out = path.join(stateDir, 'prepare', 'processing', 'output');
    execFileSync(path.join(BIN, 'prepare'), ['--source', 'builtin', '--output', out], {
      env: { ...process.env, SAGEMAKER_BASE_DIR: path.join(stateDir, 'prepare') },
      stdio: 'ignore',
    });
    fs.renameSync(out, path.join(stateDir, 'dataset'));

    sm = new SageMakerClient({ region: env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
    runtime = new SageMakerRuntimeClient({ region: env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
    nativeConnection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: TASK_QUEUE,
      ...projectWorkerOptions(),
      activities: createActivities({ clients: createAwsClients({ region: env.AWS_REGION as string }) }),
    });
    workerRun = worker.run();
    connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    client = new Client({ connection });
  });

  afterAll(async () => {
    for (const c of children) if (c.pid !== undefined && isAlive(c.pid)) killTree(c, 'SIGKILL');
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun?.catch(() => undefined);
    await connection?.close();
    await nativeConnection?.close();
    if (stackUp) await down(cfg);
    // Keep the state (job, endpoint, service and worker logs) when a test failed, to read what happened.
    if (cfg && passed === TESTS && process.env.E2E_KEEP_STATE !== '1')
      fs.rmSync(cfg.stateDir, { recursive: true, force: true });
    else if (cfg) console.warn(`pipeline e2e: state and logs kept in ${cfg.stateDir}`);
  });

  /** Training jobs of one run; trials of its tuning job are listed apart. */
  async function trainingJobs(
    workflowId: string,
  ): Promise<{ own: TrainingJobSummary[]; trials: TrainingJobSummary[] }> {
    const all: TrainingJobSummary[] = [];
    let NextToken: string | undefined;
    do {
      const page = await sm.send(new ListTrainingJobsCommand({ MaxResults: 100, NextToken }));
      all.push(...(page.TrainingJobSummaries ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const prefix = sanitize(workflowId);
    const tuning = runResourceNames(workflowId).tuningJob;
    const mine = all.filter((j) => j.TrainingJobName?.startsWith(prefix));
    return {
      own: mine.filter((j) => !j.TrainingJobName?.startsWith(tuning)),
      trials: mine.filter((j) => j.TrainingJobName?.startsWith(tuning)),
    };
  }

  async function invoke(endpointName: string): Promise<{ variant?: string; text: string }> {
    const res = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: endpointName,
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: 'The assert statement', parameters: { max_new_tokens: 40 } }),
      }),
    );
    const body = JSON.parse(Buffer.from(res.Body).toString('utf8')) as { generated_text: string };
    return { variant: res.InvokedProductionVariant, text: body.generated_text };
  }

  let firstEndpointConfig = '';
  let secondEndpointConfig = '';

  test('run 1: build, sync, 4-host training, 4 tuning trials, approval, endpoint InService and answering', async () => {
    const s = spec();
    const workflowId = newId('run1');
    const summary: PipelineSummary = await client.workflow.execute('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [s],
    });
    expect(summary.outcome).toBe('deployed');
    expect(summary.endpoint?.action).toBe('created');

    const { own, trials } = await trainingJobs(workflowId);
    expect(own).toHaveLength(1);
    const job = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: own[0]?.TrainingJobName }));
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(job.ResourceConfig?.InstanceCount).toBe(4);
    expect(job.FinalMetricDataList?.find((m) => m.MetricName === 'val_loss')?.Value).toBeGreaterThan(0);

    const tuningJobName = summary.tuning?.jobName as string;
    const tuning = await sm.send(
      new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: tuningJobName }),
    );
    expect(tuning.HyperParameterTuningJobStatus).toBe('Completed');
    expect(tuning.TrainingJobStatusCounters?.Completed).toBe(4);
    const listed = await sm.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({
        HyperParameterTuningJobName: tuningJobName,
        MaxResults: 100,
      }),
    );
    expect(listed.TrainingJobSummaries).toHaveLength(4);
    expect(trials).toHaveLength(4);
    expect(new Set(listed.TrainingJobSummaries?.map((t) => t.TunedHyperParameters?.learning_rate)).size).toBe(4);

    const packages = await sm.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: s.registry.modelPackageGroup }),
    );
    expect(packages.ModelPackageSummaryList?.map((p) => p.ModelApprovalStatus)).toEqual(['Approved']);
    expect(summary.registry?.approvalStatus).toBe('Approved');

    const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: s.deployment.endpointName }));
    expect(ep.EndpointStatus).toBe('InService');
    firstEndpointConfig = ep.EndpointConfigName as string;
    expect(firstEndpointConfig).toBe(summary.endpoint?.configName);
    const answer = await invoke(s.deployment.endpointName);
    expect(answer.text.length).toBeGreaterThan(0);
    passed += 1;
  });

  test('run 2: a blue/green update of the endpoint, approved by a reviewer through the update', async () => {
    expect(firstEndpointConfig).not.toBe('');
    // Same data and hyperparameters train the same model, which auto approval would hold for review: approve it.
    const s = spec((x) => {
      x.tuning.enabled = false;
      x.registry.approval = { policy: 'manual' };
    });
    const workflowId = newId('run2');
    const handle = await client.workflow.start('migrationPipeline', { taskQueue: TASK_QUEUE, workflowId, args: [s] });
    let done = false;
    const approved = approveWhenWaiting(
      client,
      workflowId,
      { reviewer: 'e2e', reason: 'blue/green update test' },
      { stop: () => done },
    );
    const summary: PipelineSummary = await handle.result().finally(() => (done = true));
    expect(await approved).toBe(true);
    expect(summary.outcome).toBe('deployed');
    expect(summary.image?.reused).toBe(true);
    expect(summary.endpoint?.action).toBe('updated');

    const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: s.deployment.endpointName }));
    expect(ep.EndpointStatus).toBe('InService');
    secondEndpointConfig = ep.EndpointConfigName as string;
    expect(secondEndpointConfig).toBe(summary.endpoint?.configName);
    expect(secondEndpointConfig).not.toBe(firstEndpointConfig);
    const packages = await sm.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: s.registry.modelPackageGroup }),
    );
    expect(packages.ModelPackageSummaryList?.map((p) => p.ModelApprovalStatus)).toEqual(['Approved', 'Approved']);
    expect((await invoke(s.deployment.endpointName)).text.length).toBeGreaterThan(0);
    passed += 1;
  });

  test('run 3: a model whose handler fails every request is rolled back by the 5xx alarm; the old model keeps answering', async () => {
    expect(secondEndpointConfig).not.toBe('');
    const badProgram = writeBadModelProgram(path.join(cfg.stateDir, 'bad-model-code'));
    const s = spec((x) => {
      x.tuning.enabled = false;
      x.training.instanceCount = 1;
      x.training.hyperparameters = badProgram;
    });
    const workflowId = newId('bad');
    const handle = await client.workflow.start('migrationPipeline', { taskQueue: TASK_QUEUE, workflowId, args: [s] });

    // Traffic during the deployment, so the canary's errors reach its alarm; count what the callers saw.
    let closed = false;
    const seen = { ok: 0, failed: 0 };
    const traffic = (async () => {
      while (!closed) {
        if ((await queryStatus(client, workflowId))?.pipelinePhase === 'deployModel') {
          try {
            await invoke(s.deployment.endpointName);
            seen.ok += 1;
          } catch {
            seen.failed += 1;
          }
        }
        await sleep(200);
      }
    })();
    const outcome = await handle.result().then(
      (summary: PipelineSummary) => ({ summary, error: undefined }),
      (error: unknown) => ({ summary: undefined, error }),
    );
    closed = true;
    await traffic;

    expect(outcome.summary).toBeUndefined();
    expect(outcome.error).toBeInstanceOf(WorkflowFailedError);
    expect(failureText(outcome.error)).toMatch(/roll(ed)?[ -]?back/i);
    expect(seen.failed).toBeGreaterThan(0);
    expect(seen.ok).toBeGreaterThan(0);

    const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: s.deployment.endpointName }));
    expect(ep.EndpointStatus).toBe('InService');
    expect(ep.EndpointConfigName).toBe(secondEndpointConfig);
    for (let i = 0; i < 5; i++) expect((await invoke(s.deployment.endpointName)).text.length).toBeGreaterThan(0);
    passed += 1;
  });

  test('run 4: the worker killed mid-training and restarted finishes the run with a single training job', async () => {
    const queue = `${TASK_QUEUE}-kill`;
    const s = spec((x) => {
      x.tuning.enabled = false;
      x.training.instanceCount = 2;
      x.training.hyperparameters = { ...TINY, max_steps: 300, eval_every: 50, checkpoint_every: 50 };
      x.registry.modelPackageGroup = 'e2e-kill-lm';
      x.deployment.enabled = false;
    });
    const workflowId = newId('kill');
    const first = startWorkerProcess(queue, 'worker-1');
    const handle = await client.workflow.start('migrationPipeline', { taskQueue: queue, workflowId, args: [s] });
    const jobName = runResourceNames(workflowId).trainingJob;
    await waitUntil(
      async () => {
        try {
          return (
            (await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: jobName }))).SecondaryStatus === 'Training'
          );
        } catch {
          return false;
        }
      },
      120_000,
      `training job ${jobName} training`,
      500,
    );
    killTree(first, 'SIGKILL');
    await waitUntil(() => first.exitCode !== null || first.signalCode !== null, 10_000, 'worker-1 exit');
    await sleep(2_000);
    startWorkerProcess(queue, 'worker-2');

    const summary: PipelineSummary = await handle.result();
    expect(summary.training?.jobName).toBe(jobName);
    expect(summary.registry?.approvalStatus).toBe('Approved');
    const { own } = await trainingJobs(workflowId);
    expect(own.map((j) => [j.TrainingJobName, j.TrainingJobStatus])).toEqual([[jobName, 'Completed']]);
    passed += 1;
  });

  /** A worker as a child process (its own process group) on `queue`, logging to the state dir. */
  function startWorkerProcess(queue: string, name: string): ChildProcess {
    const log = fs.openSync(path.join(cfg.stateDir, 'logs', `${name}.log`), 'a');
    const child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), [path.join(REPO_ROOT, 'worker/main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, TEMPORAL_TASK_QUEUE: queue },
      detached: true,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    children.push(child);
    return child;
  }
});

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone */
  }
}

/** Every message in a failure's cause chain. */
function failureText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e instanceof Error) {
    parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' <- ');
}
