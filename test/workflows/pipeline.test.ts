import { type WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, type ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PipelineSpecInput } from '../../contracts';
import { migrationPipeline, retrainPipeline } from '../../workflows';
import { cancelAndReport, reject } from '../../worker/pipeline-client';
import { runStatus } from '../../worker/commands/status';
import { createFakeActivities, type FakeOptions } from '../../testing/scripted-activities';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { loadLocalSpec, withoutOptionalSteps } from '../../testing/tiny-spec';

let env: TestWorkflowEnvironment;
// The dev server, not the time-skipping one: the pipeline upserts typed search attributes, which must be registered.
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

// The seven steps: the optional ones are covered by optional-steps.test.ts.
const spec = withoutOptionalSteps(loadLocalSpec()) as PipelineSpecInput;
const CREATES = [
  'startImageBuild',
  'createTrainingJob',
  'createTuningJob',
  'createModelPackage',
  'createEndpoint',
  'updateEndpoint',
];

async function run(
  workflowId: string,
  input: unknown,
  options: FakeOptions = {},
  workflow: typeof migrationPipeline = migrationPipeline,
) {
  const fakes = createFakeActivities(options);
  const taskQueue = uniqueTaskQueue('pipeline');
  const worker = await createTestWorker(env, taskQueue, fakes.impl);
  const outcome = await worker.runUntil(
    env.client.workflow.execute(workflow, { taskQueue, workflowId, args: [input as PipelineSpecInput] }).then(
      (r) => ({ result: r, error: undefined }),
      (e: unknown) => ({ result: undefined, error: e }),
    ),
  );
  return { ...outcome, calls: fakes.calls, count: (name: string) => fakes.calls[name]?.length ?? 0 };
}

describe('migrationPipeline', () => {
  it('runs all seven steps once each and deploys a first endpoint', async () => {
    const r = await run('pipe-happy', spec);
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({
      outcome: 'deployed',
      workflowId: 'pipe-happy',
      endpoint: { name: 'demo-lm', action: 'created' },
      registry: { approvalStatus: 'Approved' },
    });
    for (const name of [
      'startImageBuild',
      'createTrainingJob',
      'createTuningJob',
      'createModelPackage',
      'createEndpoint',
    ])
      expect(r.count(name)).toBe(1);
    expect(r.count('updateEndpoint')).toBe(0);
    // The tuner's best (2.2) beats the training job (2.4), so the tuned model is deployed.
    expect(r.result?.registry?.champion).toMatch(/-003-abcdef12$/);
    expect(r.calls.createTrainingJob?.[0]).toMatchObject({
      workflowId: 'pipe-happy/trainModel',
      definition: { resources: { instanceCount: 4 } },
    });
  });

  it('writes its report at the end, and a finished run reads in `cli status` with no worker running', async () => {
    const r = await run('pipe-report', spec);
    expect(r.result?.report).toMatchObject({
      s3Uri: expect.stringMatching(/^s3:\/\/[^/]+\/pipelines\/[^/]+\/reports\/pipe-report\/report\.html$/),
      actualSpendUsd: 1.5,
    });
    expect(r.calls.writeRunReport?.[0]).toMatchObject({ workflowId: 'pipe-report', overspendFactor: 1 });
    // The run's worker has shut down (runUntil returned): every step's result comes from the history.
    const unreachable = { send: () => Promise.reject(new Error('no AWS in this test')) };
    const lines = await runStatus(env.client, { sagemaker: unreachable, codebuild: unreachable }, 'pipe-report');
    expect(lines.join('\n')).not.toMatch(/no worker answered/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}trainModel +COMPLETED +completed \(from history: trainingJob \S+/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}deployModel +COMPLETED +completed \(from history: endpointName demo-lm/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}outcome deployed: /));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}report s3:\/\/.*\/reports\/pipe-report\/report\.html$/));
    expect(lines).toContainEqual('spend: actual $1.50 of a worst-case estimate $100.00');
  });

  it('does a blue/green update when the endpoint exists and the champion beats the approved model', async () => {
    const r = await run('pipe-update', spec, { endpointExists: true, approvedObjective: 2.5 });
    expect(r.result).toMatchObject({ outcome: 'deployed', endpoint: { action: 'updated' } });
    expect(r.count('updateEndpoint')).toBe(1);
    expect(r.count('createEndpoint')).toBe(0);
  });

  it(
    'holds a champion that does not beat the approved model ' + 'for a reviewer, and a rejection deploys nothing',
    async () => {
      const fakes = createFakeActivities({ approvedObjective: 1.0 });
      const taskQueue = uniqueTaskQueue('pipeline');
      const worker = await createTestWorker(env, taskQueue, fakes.impl);
      const result = await worker.runUntil(async () => {
        const handle = await env.client.workflow.start(migrationPipeline, {
          taskQueue,
          workflowId: 'pipe-worse',
          args: [spec],
        });
        for (;;) {
          const update = await reject(env.client, 'pipe-worse', {
            reviewer: 'ana',
            reason: 'worse than production',
          }).catch((e: Error) => e);
          if (!(update instanceof Error)) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        return handle.result();
      });
      expect(result).toMatchObject({ outcome: 'not-approved', registry: { approvalStatus: 'Rejected' } });
      expect(result.message).toMatch(/worse than production/);
      for (const name of ['createModel', 'createEndpoint', 'updateEndpoint']) expect(fakes.calls[name]).toBeUndefined();
    },
  );

  it(
    'rejects the model package when its deployment rolls back, so later auto-approvals compare against the good ' +
      'one',
    async () => {
      const r = await run('pipe-rollback', spec, { endpointExists: true, approvedObjective: 2.5, rollback: true });
      const cause = (r.error as WorkflowFailedError).cause as { cause?: ApplicationFailure };
      expect(cause.cause?.type).toBe('DeploymentRolledBack');
      expect(r.calls.updateModelPackageApproval).toEqual([
        expect.objectContaining({
          status: 'Rejected',
          reviewer: 'pipeline',
          reason: expect.stringMatching(/demo-lm-5xx/),
        }),
      ]);
    },
  );

  it("runs the team's own code: packed first, passed as the SDK passes it, the champion repacked with the handler", async () => {
    const withCode = {
      ...spec,
      training: {
        ...spec.training,
        hyperparameters: { epochs: 2, lr: 0.003 },
        code: { sourceDir: '/code/src', entryPoint: 'train.py' },
      },
      deployment: { ...spec.deployment, code: { sourceDir: '/code/src', entryPoint: 'inference.py' } },
    };
    const r = await run('pipe-code', withCode);
    expect(r.error).toBeUndefined();
    expect(r.result?.outcome).toBe('deployed');
    expect(r.calls.packUserCode).toEqual([
      expect.objectContaining({ field: 'training.code', sourceDir: '/code/src', entryPoint: 'train.py' }),
      expect.objectContaining({ field: 'deployment.code', sourceDir: '/code/src', entryPoint: 'inference.py' }),
    ]);
    const trainingCode = `s3://${spec.bucket}/pipelines/${spec.pipelineName}/code/${'a'.repeat(64)}/sourcedir.tar.gz`;
    const hp = (r.calls.createTrainingJob?.[0] as { definition: { hyperparameters: Record<string, string> } })
      .definition.hyperparameters;
    expect(hp).toMatchObject({
      sagemaker_program: '"train.py"',
      sagemaker_submit_directory: JSON.stringify(trainingCode),
      sagemaker_container_log_level: '20',
      epochs: '2',
      lr: '0.003',
    });
    const tuningHp = (r.calls.createTuningJob?.[0] as { definition: { hyperparameters: Record<string, string> } })
      .definition.hyperparameters;
    expect(tuningHp.sagemaker_program).toBe('"train.py"');
    expect(tuningHp.sagemaker_job_name).not.toBe(hp.sagemaker_job_name);
    // The champion (the tuner's best) is repacked with the handler, registered and deployed with SAGEMAKER_PROGRAM.
    expect(r.calls.repackModel).toEqual([
      expect.objectContaining({ modelDataUrl: expect.stringMatching(/-003-abcdef12\/output\/model\.tar\.gz$/) }),
    ]);
    const repacked = `s3://${spec.bucket}/pipelines/${spec.pipelineName}/repacked-models/${'c'.repeat(64)}/model.tar.gz`;
    const env = { SAGEMAKER_PROGRAM: 'inference.py', SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code' };
    expect(r.calls.createModelPackage?.[0]).toMatchObject({
      modelDataUrl: repacked,
      environment: env,
      trainingCode: { sha256: 'a'.repeat(64) },
      inferenceCode: { sha256: 'b'.repeat(64) },
    });
    expect(r.calls.createModel?.[0]).toMatchObject({ modelDataUrl: repacked, environment: env });
    expect(r.result?.code?.training?.s3Uri).toBe(trainingCode);
  });

  it('fails a run whose code directory is missing before anything is built', async () => {
    const r = await run('pipe-code-missing', {
      ...spec,
      training: { ...spec.training, code: { sourceDir: '/code/missing', entryPoint: 'train.py' } },
    });
    const failure = (r.error as WorkflowFailedError | undefined)?.cause as ApplicationFailure | undefined;
    expect(failure?.type).toBe('SpecInvalid');
    expect(failure?.message).toMatch(/\$\.training\.code\.sourceDir: directory \/code\/missing does not exist/);
    expect(r.count('hashBuildContext') + r.count('startImageBuild') + r.count('createTrainingJob')).toBe(0);
  });

  it('skips tuning when the spec disables it', async () => {
    const r = await run('pipe-notune', { ...spec, tuning: { ...(spec.tuning as object), enabled: false } });
    expect(r.result?.outcome).toBe('deployed');
    expect(r.count('createTuningJob')).toBe(0);
    expect(r.result?.tuning).toBeUndefined();
  });

  it('fails an invalid spec before any activity, listing every bad field', async () => {
    const r = await run('pipe-invalid', { ...spec, roleArn: 'nope', training: { instanceCount: 0 } });
    const cause = (r.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('SpecInvalid');
    expect(cause.message).toMatch(/\$\.roleArn/);
    expect(cause.message).toMatch(/\$\.training\.instanceCount/);
    expect(Object.keys(r.calls)).toEqual([]);
  });

  it("refuses a spec whose region is not the workers', naming both, before anything is created", async () => {
    const r = await run('pipe-region', { ...spec, region: 'eu-west-1' }, { workerRegion: 'us-east-1' });
    const cause = (r.error as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause.type).toBe('SpecInvalid');
    expect(cause.message).toMatch(/eu-west-1.*us-east-1/);
    expect(Object.keys(r.calls)).toEqual(['checkRegion']);
  });

  it('refuses a run the account cannot hold (a quota shortfall) before the image build, without retrying', async () => {
    // The demo endpoint: 2 x ml.m5.large, autoscaling up to 2, so a blue/green update runs 4.
    const r = await run('pipe-preflight', spec, { accountQuotas: { 'ml.m5.large for endpoint usage': 2 } });
    const cause = (r.error as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause.type).toBe('PreflightFailed');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/"ml\.m5\.large for endpoint usage": the spec needs 4, the account has 2/);
    expect(r.count('checkAccount')).toBe(1);
    expect(Object.keys(r.calls)).not.toContain('startImageBuild');
    for (const name of CREATES) expect(r.count(name)).toBe(0);
  });

  it('refuses to start above the cost limit, naming the estimate, and creates nothing', async () => {
    const r = await run('pipe-cost', {
      ...spec,
      training: { ...(spec.training as object), instanceType: 'ml.p4de.24xlarge', maxRuntimeSeconds: 7 * 86400 },
    });
    const cause = (r.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('CostLimitExceeded');
    expect(cause.message).toMatch(/\$[0-9,.]+/);
    expect(cause.message).toMatch(/ml\.p4de\.24xlarge/);
    expect(Object.keys(r.calls)).toEqual([]);
  });

  it('on cancellation during training stops the job, closes Canceled and keeps what it stopped readable', async () => {
    const fakes = createFakeActivities({ blockTraining: true });
    const taskQueue = uniqueTaskQueue('pipeline');
    const worker = await createTestWorker(env, taskQueue, fakes.impl);
    const { report, closed, lines } = await worker.runUntil(async () => {
      await env.client.workflow.start(migrationPipeline, { taskQueue, workflowId: 'pipe-cancel', args: [spec] });
      while (!fakes.calls.waitForTrainingJob) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, 'pipe-cancel', 120_000);
      // The run's own result: a CancelledFailure, as Temporal's convention has it (not a completed summary).
      const closed = await env.client.workflow
        .getHandle('pipe-cancel')
        .result()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      const unreachable = { send: () => Promise.reject(new Error('no AWS in this test')) };
      const lines = await runStatus(env.client, { sagemaker: unreachable, codebuild: unreachable }, 'pipe-cancel');
      return { report, closed, lines };
    });
    expect((closed as WorkflowFailedError | undefined)?.cause).toBeInstanceOf(CancelledFailure);
    expect((await env.client.workflow.getHandle('pipe-cancel').describe()).status.name).toBe('CANCELLED');
    // The summary is still there for the operator: the client's report and `cli status` read it from the memo.
    if (!('summary' in report)) throw new Error(`no summary: ${JSON.stringify(report)}`);
    const result = report.summary;
    expect(result.outcome).toBe('cancelled');
    expect(lines[0]).toMatch(/^run pipe-cancel \(migrationPipeline\) CANCELLED/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^ {2}outcome cancelled: Cancelled during trainModel; stopped: training job pipe-cancel-train-/,
      ),
    );
    expect(fakes.calls.stopTrainingJob).toHaveLength(1);
    expect(result.stopped).toEqual([
      expect.stringMatching(/^training job pipe-cancel-train-[0-9a-f]{8} \(by trainModel\)$/),
    ]);
    for (const name of CREATES.slice(2)) expect(fakes.calls[name]).toBeUndefined();
  });
});

describe('retrainPipeline', () => {
  it('warm-starts tuning from the previous run and reuses the image when the source hash is unchanged', async () => {
    const fakes = createFakeActivities({ endpointExists: true, approvedObjective: 2.5 });
    fakes.impl.findImageByTag = async () => ({
      repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm',
      digest: `sha256:${'ab'.repeat(32)}`,
    });
    const taskQueue = uniqueTaskQueue('retrain');
    const worker = await createTestWorker(env, taskQueue, fakes.impl);
    const result = await worker.runUntil(
      env.client.workflow.execute(retrainPipeline, { taskQueue, workflowId: 'retrain-1', args: [spec] }),
    );
    expect(result.image?.reused).toBe(true);
    expect(fakes.calls.startImageBuild).toBeUndefined();
    expect(fakes.calls.createTuningJob?.[0]).toMatchObject({
      tuning: { warmStart: { parentTuningJobs: ['demo-previous-tune-1234abcd'] } },
    });
    // The parent was checked against this run's tuning job and fits.
    expect(fakes.calls.checkWarmStartParent).toHaveLength(1);
    expect(result.warmStart).toMatchObject({
      parentTuningJob: 'demo-previous-tune-1234abcd',
      type: expect.any(String),
    });
    expect(result.outcome).toBe('deployed');
  });

  it('tunes cold, saying why, when the previous tuning job cannot be a warm-start parent', async () => {
    // The previous run tuned with one more hyperparameter (removed from the spec since): SageMaker would refuse it.
    const fakes = createFakeActivities({ parentExtraHyperparameters: { dropout: '0.1' } });
    const taskQueue = uniqueTaskQueue('retrain');
    const worker = await createTestWorker(env, taskQueue, fakes.impl);
    const result = await worker.runUntil(
      env.client.workflow.execute(retrainPipeline, { taskQueue, workflowId: 'retrain-cold', args: [spec] }),
    );
    expect(fakes.calls.checkWarmStartParent).toHaveLength(1);
    expect(fakes.calls.createTuningJob).toHaveLength(1);
    expect((fakes.calls.createTuningJob?.[0] as { tuning: { warmStart?: unknown } }).tuning.warmStart).toBeUndefined();
    expect(result.warmStart).toEqual({
      parentTuningJob: 'demo-previous-tune-1234abcd',
      type: null,
      reason: expect.stringMatching(
        /^cannot warm-start from demo-previous-tune-1234abcd: the number of static plus tunable hyperparameters changed .*removed: dropout/,
      ),
    });
    expect(result.tuning?.jobName).toBeDefined();
  });
});
