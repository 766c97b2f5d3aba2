/**
 * The team's own code through the whole pipeline on the local stack (own ports, own state dir), with the real
 * container on CPU: examples/pipeline.user-code.local.json, whose `train.py` is an ordinary JAX script and whose
 * `inference.py` has the four handler functions (examples/user-code/).
 *   1. a first run: the code packed into sourcedir.tar.gz, the dataset prepared from the synced raw text by the
 *      image's `prepare` as a Processing job, a 4-host training job of train.py (one JAX job over the 4 hosts) on
 *      its `train`/`val` outputs, 2 tuning trials, the champion scored over the `eval` records by a Batch Transform
 *      job through inference.py, repacked with inference.py and registered with those scores as ModelMetrics, an
 *      endpoint answering through inference.py;
 *   2. a second run: the unchanged code found in S3 (not uploaded again), and a blue/green update of the endpoint.
 * The image build itself is covered by pipeline.test.ts: here the process image is recorded without building its
 * venv again (LOCAL_CODEBUILD_INSTALL=skip), and jobs run the container's venv.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  DescribeHyperParameterTuningJobCommand,
  DescribeModelPackageCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { runResourceNames } from '../../contracts/names';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { REPO_ROOT } from '../../local/stack/config';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { readSpecFile } from '../../worker/spec-file';
import { LocalHarness } from '../../testing/local-harness';
import { withOptionalSteps } from '../../testing/tiny-spec';
import { approveWhenWaiting } from '../../worker/pipeline-client';

const BIN = path.join(REPO_ROOT, 'container/.venv/bin');
const REAL = ['train', 'serve', 'prepare'].every((e) => fs.existsSync(path.join(BIN, e)));
const suite = REAL ? describe : describe.skip;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!REAL) console.warn(`user-code e2e skipped: ${BIN}/{train,serve,prepare} missing (run scripts/bootstrap.sh)`);

jest.setTimeout(600_000);

const TASK_QUEUE = `e2e-user-code-${process.pid}`;
const SPEC_FILE = path.join(REPO_ROOT, 'examples/pipeline.user-code.local.json');
type Spec = Record<string, any>;

let h: LocalHarness | undefined;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let client: Client;
let sm: SageMakerClient;
let s3: S3Client;
let runtime: SageMakerRuntimeClient;
let passed = 0;
let firstSummary: PipelineSummary | undefined;

/** The example spec as `npm run cli` reads it (code paths resolved against examples/). */
function readSpec(): Spec {
  const read = readSpecFile(SPEC_FILE);
  if (!read.ok) throw new Error(read.message);
  return read.raw as Spec;
}

/** The example spec on this test's stack, sized for CI. */
function spec(patch: (s: Spec) => void = () => undefined): Spec {
  const s = readSpec();
  delete s.$schema;
  // The harness's prepared corpora are the raw text here: run 1's prepareData splits them again in a Processing job.
  s.data = { source: { localPath: (h as LocalHarness).datasetDir } };
  s.prepareData = { enabled: false };
  s.evaluation = { enabled: false };
  s.pollIntervalSeconds = 1;
  s.training.hyperparameters = { steps: 30, 'eval-every': 10, 'batch-size': 32 };
  s.tuning.maxJobs = 2;
  s.deployment.rollback = { max5xxErrors: 0, periodSeconds: 60 };
  patch(s);
  return s;
}

async function invoke(endpointName: string): Promise<{ generated_text: string; model: string }> {
  const res = await runtime.send(
    new InvokeEndpointCommand({
      EndpointName: endpointName,
      ContentType: 'application/json',
      Body: JSON.stringify({ inputs: 'The assert statement', max_new_tokens: 16 }),
    }),
  );
  return JSON.parse(Buffer.from(res.Body).toString('utf8')) as { generated_text: string; model: string };
}

suite("the team's own train.py and inference.py through the pipeline on the local stack", () => {
  beforeAll(async () => {
    process.env.LOCAL_CODEBUILD_INSTALL = 'skip';
    h = await LocalHarness.start({ prefix: 'user-code-e2e', log: () => undefined });
    ({ sm, s3 } = h);
    // The test observes as the account's administrator; the worker's calls are held to its policy.
    runtime = new SageMakerRuntimeClient({ region: h.env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
    worker = await h.inProcessWorker(TASK_QUEUE);
    workerRun = worker.run();
    client = await h.client();
  });

  afterAll(async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun?.catch(() => undefined);
    delete process.env.LOCAL_CODEBUILD_INSTALL;
    await h?.stop(passed !== 2 || process.env.E2E_KEEP_STATE === '1');
  });

  test('run 1: prepare as Processing, train.py on 4 hosts, 2 trials, Transform evaluation, registered with metrics, serving', async () => {
    const s = spec(withOptionalSteps);
    const workflowId = `e2e-user-code-1-${Date.now().toString(36)}`;
    const summary: PipelineSummary = await client.workflow.execute('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [s],
    });
    expect(summary.outcome).toBe('deployed');
    firstSummary = summary;

    // prepareData: the image's `prepare` ran as a Processing job on the synced data; training read its outputs.
    const processing = await sm.send(
      new DescribeProcessingJobCommand({ ProcessingJobName: summary.prepared?.processingJob as string }),
    );
    expect(processing.ProcessingJobStatus).toBe('Completed');
    expect(processing.AppSpecification?.ContainerEntrypoint?.[0]).toBe('prepare');
    expect(Object.keys(summary.prepared?.channels ?? {}).sort()).toEqual(['train', 'val']);
    const trainingCode = summary.code?.training?.s3Uri as string;
    expect(trainingCode).toMatch(
      /^s3:\/\/acme-ml-pipelines\/pipelines\/user-code\/code\/[a-f0-9]{64}\/sourcedir\.tar\.gz$/,
    );

    // The SDK's script-mode hyperparameters, JSON-encoded, with the user's own.
    const job = await sm.send(
      new DescribeTrainingJobCommand({ TrainingJobName: runResourceNames(workflowId).trainingJob }),
    );
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(job.ResourceConfig?.InstanceCount).toBe(4);
    expect(job.HyperParameters).toMatchObject({
      sagemaker_program: '"train.py"',
      sagemaker_submit_directory: JSON.stringify(trainingCode),
      steps: '30',
    });
    // The toolkit downloaded the code with the role's session, and the 4 hosts formed one JAX job.
    const log = fs.readFileSync(
      path.join((h as LocalHarness).cfg.stateDir, 'sagemaker', 'logs', 'training-jobs', `${job.TrainingJobName}.log`),
      'utf8',
    );
    expect(log).toContain('[algo-1] processes=4 devices=4');
    expect(job.FinalMetricDataList?.find((m) => m.MetricName === 'val_loss')?.Value).toBeGreaterThan(0);
    expect(job.InputDataConfig?.find((c) => c.ChannelName === 'train')?.DataSource?.S3DataSource?.S3Uri).toBe(
      summary.prepared?.channels.train,
    );

    const tuningJobName = summary.tuning?.jobName as string;
    const tuning = await sm.send(
      new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: tuningJobName }),
    );
    expect(tuning.TrainingJobStatusCounters?.Completed).toBe(2);
    const trials = await sm.send(
      new ListTrainingJobsForHyperParameterTuningJobCommand({ HyperParameterTuningJobName: tuningJobName }),
    );
    const trial = await sm.send(
      new DescribeTrainingJobCommand({ TrainingJobName: trials.TrainingJobSummaries?.[0]?.TrainingJobName }),
    );
    expect(trial.HyperParameters?.sagemaker_program).toBe('"train.py"');
    expect(Number(trial.HyperParameters?.['learning-rate'])).toBeGreaterThanOrEqual(0.001);

    // The package records the code and serves it the way the SDK registers a repacked model.
    const pkg = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: summary.registry?.modelPackageArn }));
    const container = pkg.InferenceSpecification?.Containers?.[0];
    expect(container?.Environment).toMatchObject({
      SAGEMAKER_PROGRAM: 'inference.py',
      SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code',
    });
    expect(container?.ModelDataUrl).toMatch(/\/repacked-models\/[a-f0-9]{64}\/model\.tar\.gz$/);
    expect(pkg.CustomerMetadataProperties?.['pipeline:training-code-sha256']).toBe(summary.code?.training?.sha256);
    expect(pkg.CustomerMetadataProperties?.['pipeline:inference-entry-point']).toBe('inference.py');

    // evaluateModel: a Batch Transform job scored the champion through inference.py over the `eval` records; the
    // scores are the package's ModelMetrics.
    const evaluation = summary.evaluation;
    expect(evaluation?.candidate).toBe(summary.registry?.champion);
    const transform = await sm.send(new DescribeTransformJobCommand({ TransformJobName: evaluation?.transformJob }));
    expect(transform.TransformJobStatus).toBe('Completed');
    expect(transform.BatchStrategy).toBe('MultiRecord');
    expect(evaluation?.records).toBeGreaterThan(0);
    expect(Number.isFinite(evaluation?.evalNll)).toBe(true);
    expect(evaluation?.evalNll).toBeGreaterThan(0);
    expect(Number(pkg.CustomerMetadataProperties?.['pipeline:eval-nll'])).toBeCloseTo(evaluation?.evalNll as number, 6);
    const statistics = pkg.ModelMetrics?.ModelQuality?.Statistics?.S3Uri as string;
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(statistics) ?? [];
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const doc = JSON.parse((await stored.Body?.transformToString()) ?? '{}') as { evaluation?: { evalNll: number } };
    expect(doc.evaluation?.evalNll).toBe(evaluation?.evalNll);

    const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: s.deployment.endpointName }));
    expect(ep.EndpointStatus).toBe('InService');
    const answer = await invoke(s.deployment.endpointName);
    expect(answer.model).toBe('ByteMLP'); // inference.py answered, not the built-in handler
    expect(typeof answer.generated_text).toBe('string');
    passed += 1;
  });

  test('run 2: the unchanged code is reused from S3, and the endpoint moves blue/green to the new model', async () => {
    expect(firstSummary).toBeDefined();
    const s = spec((x) => {
      x.tuning.enabled = false;
      x.registry.approval = { policy: 'manual' }; // the same code and data train the same model: a reviewer decides
    });
    const workflowId = `e2e-user-code-2-${Date.now().toString(36)}`;
    const handle = await client.workflow.start('migrationPipeline', { taskQueue: TASK_QUEUE, workflowId, args: [s] });
    let closed = false;
    const approved = approveWhenWaiting(
      client,
      workflowId,
      { reviewer: 'e2e', reason: 'same code, new run' },
      { stop: () => closed },
    );
    const summary: PipelineSummary = await handle.result().finally(() => (closed = true));
    expect(await approved).toBe(true);
    expect(summary.outcome).toBe('deployed');
    expect(summary.endpoint?.action).toBe('updated');
    expect(summary.code).toEqual(firstSummary?.code);
    const stored = await s3.send(new ListObjectsV2Command({ Bucket: s.bucket, Prefix: 'pipelines/user-code/code/' }));
    // One directory (train.py and inference.py live together), one archive: whatever the runs and sections using it.
    expect(stored.Contents?.map((o) => o.Key)).toEqual([expect.stringMatching(/\/sourcedir\.tar\.gz$/)]);

    const ep = await sm.send(new DescribeEndpointCommand({ EndpointName: s.deployment.endpointName }));
    expect(ep.EndpointStatus).toBe('InService');
    expect(ep.EndpointConfigName).toBe(summary.endpoint?.configName);
    expect((await invoke(s.deployment.endpointName)).model).toBe('ByteMLP');
    passed += 1;
  });
});
