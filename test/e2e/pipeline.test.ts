/**
 * The whole pipeline end to end on the local stack (own ports, own state dir), with the real container on CPU:
 *   1. migrationPipeline with examples/pipeline.local.json (tiny hyperparameters): one 4-host training job,
 *      4 tuning trials, one Approved model package version, an endpoint InService that answers InvokeEndpoint;
 *   2. a second run: a blue/green update of that endpoint (manual approval, approved through the update);
 *   3. a deliberately bad model (its code/inference.py fails every request) rolled back automatically by the
 *      5xx alarm during the canary, while the previous model keeps answering;
 *   4. the worker killed (SIGKILL) mid-training and restarted: the run finishes with a single training job;
 *   5. every AWS request the workers sent in runs 1-4 (recorded with LOCAL_AWS_REQUEST_AUDIT) is valid against
 *      AWS's published models.
 * Runs 1-3 use a worker in this process; run 4 runs workers as child processes on their own task queue.
 */
import {
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeTrainingJobCommand,
  ListModelPackagesCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { runResourceNames } from '../../contracts/names';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { sleep, waitUntil } from '../../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { writeBadModelProgram } from '../../testing/bad-model';
import { LocalHarness, missingEntrypoints } from '../../testing/local-harness';
import { TINY_HYPERPARAMETERS } from '../../testing/tiny-spec';
import { checkAuditFile, formatAuditReport } from '../../local/service/core/aws-models/audit-check';
import { approveWhenWaiting, failureChain, queryStatus } from '../../worker/pipeline-client';
import { runOperatorCli } from '../../worker/cli';

const missing = missingEntrypoints();
const suite = missing.length ? describe.skip : describe;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (missing.length) console.warn(`pipeline e2e skipped: ${missing.join(', ')} missing (run scripts/bootstrap.sh)`);

// Generous: a hung run still fails, and a loaded machine (CI neighbours, parallel work) does not fail a healthy one.
jest.setTimeout(900_000);

const TASK_QUEUE = `e2e-pipeline-${process.pid}`;

let h: LocalHarness;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let client: Client;
let sm: SageMakerClient;
let runtime: SageMakerRuntimeClient;
let counter = 0;
/** Tests that ran to their end; afterAll keeps the state dir unless all of them did. */
let passed = 0;
const TESTS = 5;
/** Every AWS request the workers send (worker/request-audit.ts), checked by the last test. */
let auditFile = '';
const newId = (what: string): string => `e2e-${what}-${Date.now().toString(36)}-${++counter}`;

suite('migrationPipeline on the local stack', () => {
  beforeAll(async () => {
    h = await LocalHarness.start({ prefix: 'pipeline-e2e', log: () => undefined });
    sm = h.sm;
    // The test observes as the account's administrator; the worker's calls are held to its policy.
    runtime = new SageMakerRuntimeClient({ region: h.env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
    // Every request the workers send is recorded: this worker's clients and the child workers of the crash test
    // (they inherit the environment).
    auditFile = path.join(h.cfg.stateDir, 'aws-requests.jsonl');
    process.env.LOCAL_AWS_REQUEST_AUDIT = auditFile;
    worker = await h.inProcessWorker(TASK_QUEUE);
    workerRun = worker.run();
    client = await h.client();
  });

  afterAll(async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun?.catch(() => undefined);
    delete process.env.LOCAL_AWS_REQUEST_AUDIT;
    // Keep the state (job, endpoint, service and worker logs) when a test failed, to read what happened.
    const keep = passed !== TESTS || process.env.E2E_KEEP_STATE === '1';
    if (!h) return;
    if (keep) console.warn(`pipeline e2e: state and logs kept in ${h.cfg.stateDir}`);
    await h.stop(keep);
  });

  /** Training jobs of one run; trials of its tuning job are listed apart. */
  async function trainingJobs(workflowId: string) {
    const audit = await h.audit(workflowId);
    return { own: audit.trainingJobs, trials: audit.trials };
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
    const s = h.spec();
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
    await checkReport(workflowId, summary, [
      own[0]?.TrainingJobName as string,
      ...trials.map((t) => t.TrainingJobName as string),
    ]);
    passed += 1;
  });

  /**
   * The run's report: the pipeline wrote it to S3 (linked from its result), and `cli report` writes the same page from
   * the history and the jobs. Headless Chromium renders it; the page shows one curve per training job (the trainModel
   * job and each trial) and the sweep with its best trial. The screenshot is kept in .test-results/run-report/.
   */
  async function checkReport(workflowId: string, summary: PipelineSummary, jobs: string[]): Promise<void> {
    const uri = summary.report?.s3Uri ?? '';
    expect(uri).toMatch(new RegExp(`^s3://${h.baseSpec.bucket}/pipelines/.+/reports/${workflowId}/report\\.html$`));
    const stored = await h.s3.send(
      new GetObjectCommand({ Bucket: h.baseSpec.bucket, Key: uri.replace(/^s3:\/\/[^/]+\//, '') }),
    );
    expect(await stored.Body?.transformToString()).toContain('data-chart="curves"');
    expect(summary.report?.actualSpendUsd).toBeGreaterThan(0);

    const dir = path.resolve('.test-results', 'run-report');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'report.html');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(await runOperatorCli(['report', workflowId, '--out', file], h.env, io)).toBe(0);
    expect(lines[0]).toBe(`report of ${workflowId}: ${file}`);

    const chromium = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `file://${file}`];
    const dom = execFileSync('chromium', ['--dump-dom', ...chromium], { encoding: 'utf8', timeout: 120_000 });
    const curves = dom.slice(
      dom.indexOf('data-chart="curves"'),
      dom.indexOf('</svg>', dom.indexOf('data-chart="curves"')),
    );
    // Two panels (train_loss and the objective val_loss), one line per job in each.
    expect(curves.match(/aria-roledescription="line mark"/g)).toHaveLength(2 * jobs.length);
    for (const job of jobs) expect(curves).toContain(job);
    const sweep = dom.slice(
      dom.indexOf('data-chart="sweep"'),
      dom.indexOf('</svg>', dom.indexOf('data-chart="sweep"')),
    );
    expect(sweep.match(/aria-roledescription="point"/g)?.length).toBeGreaterThanOrEqual(jobs.length - 1);
    expect(sweep).toContain('best trial');
    execFileSync('chromium', [`--screenshot=${path.join(dir, 'report.png')}`, '--window-size=1100,2600', ...chromium], {
      timeout: 120_000,
      stdio: 'ignore',
    });
    expect(statSync(path.join(dir, 'report.png')).size).toBeGreaterThan(10_000);
  }

  test('run 2: a blue/green update of the endpoint, approved by a reviewer through the update', async () => {
    expect(firstEndpointConfig).not.toBe('');
    // Same data and hyperparameters train the same model, which auto approval would hold for review: approve it.
    const s = h.spec((x) => {
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

  test(
    'run 3: a model whose handler fails every request is rolled back by the 5xx alarm; the old model keeps ' +
      'answering',
    async () => {
      expect(secondEndpointConfig).not.toBe('');
      const badProgram = writeBadModelProgram(path.join(h.cfg.stateDir, 'bad-model-code'));
      const s = h.spec((x) => {
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
      expect(failureChain(outcome.error)).toMatch(/roll(ed)?[ -]?back/i);
      expect(seen.failed).toBeGreaterThan(0);
      expect(seen.ok).toBeGreaterThan(0);

      const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: s.deployment.endpointName }));
      expect(ep.EndpointStatus).toBe('InService');
      expect(ep.EndpointConfigName).toBe(secondEndpointConfig);
      for (let i = 0; i < 5; i++) expect((await invoke(s.deployment.endpointName)).text.length).toBeGreaterThan(0);
      passed += 1;
    },
  );

  test('run 4: the worker killed mid-training and restarted finishes the run with a single training job', async () => {
    const queue = `${TASK_QUEUE}-kill`;
    const s = h.spec((x) => {
      x.tuning.enabled = false;
      x.training.instanceCount = 2;
      x.training.hyperparameters = { ...TINY_HYPERPARAMETERS, max_steps: 300, eval_every: 50, checkpoint_every: 50 };
      x.registry.modelPackageGroup = 'e2e-kill-lm';
      x.deployment.enabled = false;
    });
    const workflowId = newId('kill');
    const first = h.startWorker(queue, 'worker-1').child;
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
    await h.killWorker(first);
    await sleep(2_000);
    h.startWorker(queue, 'worker-2');

    const summary: PipelineSummary = await handle.result();
    expect(summary.training?.jobName).toBe(jobName);
    expect(summary.registry?.approvalStatus).toBe('Approved');
    const { own } = await trainingJobs(workflowId);
    expect(own.map((j) => [j.TrainingJobName, j.TrainingJobStatus])).toEqual([[jobName, 'Completed']]);
    passed += 1;
  });

  test('every request the workers sent is valid against AWS’s published models', () => {
    const report = checkAuditFile(auditFile);
    if (report.invalid.length) console.error(formatAuditReport(report));
    else console.log(formatAuditReport(report));
    expect(report.requests).toBeGreaterThan(100);
    expect(report.invalid.map((f) => `#${f.line} ${f.service}.${f.operation}: ${f.problems.join(' | ')}`)).toEqual([]);
    expect(report.uncheckedPatterns).toEqual([]);
    passed += 1;
  });
});
