import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApprovedModelPackage, Evaluation, RegisterModelInput } from '../../contracts';
import { registerModel } from '../../workflows';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const PKG_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/jax-lm/7';
const OLD_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/jax-lm/6';
const TUNED = 'wf-tune-0123abcd-005-abcdef12';

const evaluation = (evalNll: number, trainingJobName = TUNED): Evaluation => ({
  evalNll,
  evalPerplexity: Math.exp(evalNll),
  records: 200,
  tokens: 9000,
  trainingJobName,
  transformJobName: 'wf-evaluate-0123abcd',
  modelDataUrl: 's3://b/output/wf-tune-005/output/model.tar.gz',
  inputS3Uri: 's3://b/prepared/eval/',
  s3Uri: 's3://b/evaluations/wf-evaluate-0123abcd/evaluation.json',
});

// The tuner's best (val_loss 1.7) beats the approved version's 2.0 on the training objective.
const input = (extra: Partial<RegisterModelInput>): RegisterModelInput => ({
  modelPackageGroupName: 'jax-lm',
  candidates: [
    {
      source: 'training',
      trainingJobName: 'wf-train-0123abcd',
      modelArtifactS3Uri: 's3://b/output/wf-train-0123abcd/output/model.tar.gz',
      objectiveValue: 2.0,
    },
    {
      source: 'tuning',
      trainingJobName: TUNED,
      modelArtifactS3Uri: 's3://b/output/wf-tune-005/output/model.tar.gz',
      objectiveValue: 1.7,
    },
  ],
  objective: { metricName: 'val_loss', type: 'Minimize' },
  imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:' + 'a'.repeat(64),
  approval: { policy: 'auto', timeoutSeconds: 60 },
  inferenceInstanceTypes: ['ml.g5.2xlarge'],
  metrics: { val_loss: 1.7 },
  ...extra,
});
const champion = (evalNll: number | null | undefined): ApprovedModelPackage => ({
  modelPackageArn: OLD_ARN,
  modelPackageVersion: 6,
  objectiveValue: 2.0,
  modelDataUrl: 's3://b/old/model.tar.gz',
  ...(evalNll === undefined ? {} : { evalNll }),
});

async function register(workflowId: string, current: ApprovedModelPackage, args: RegisterModelInput) {
  const created: { approvalStatus: string; approvalDescription?: string; metrics?: object; evaluation?: object }[] = [];
  const impl = {
    ensureModelPackageGroup: async () => ({ modelPackageGroupArn: 'arn:group', created: false }),
    findApprovedModelPackage: async () => current,
    createModelPackage: async (a: (typeof created)[number]) => {
      created.push(a);
      return { modelPackageArn: PKG_ARN, modelPackageVersion: 7, approvalStatus: a.approvalStatus, reattached: false };
    },
  };
  const taskQueue = uniqueTaskQueue();
  const worker = await createTestWorker(env, taskQueue, impl);
  const result = await worker.runUntil(
    env.client.workflow.execute(registerModel, { taskQueue, workflowId, args: [args] }),
  );
  return { result, created };
}

describe('registerModel with an evaluation', () => {
  it('does not approve a candidate whose eval_nll is worse than the approved champion’s, naming both', async () => {
    const { result, created } = await register('reg-eval-worse', champion(2.0), input({ evaluation: evaluation(2.3) }));
    expect(created[0]?.approvalStatus).toBe('PendingManualApproval');
    expect(created[0]?.approvalDescription).toMatch(/eval_nll 2\.3 vs approved champion's 2 /);
    expect(result.approvalStatus).toBe('PendingManualApproval');
    expect(result.approved).toBe(false);
    expect(result.reason).toContain('worse than the approved champion');
  });

  it('approves a candidate within maxRegression and records eval_nll with the package', async () => {
    const { result, created } = await register(
      'reg-eval-within',
      champion(2.0),
      input({ evaluation: evaluation(2.05), maxEvalRegression: 0.1 }),
    );
    expect(result.approvalStatus).toBe('Approved');
    expect(created[0]).toMatchObject({
      approvalStatus: 'Approved',
      metrics: { val_loss: 1.7, eval_nll: 2.05, eval_records: 200, eval_tokens: 9000 },
      evaluation: { evalNll: 2.05, trainingJobName: TUNED },
    });
  });

  it('falls back to the training objective when the champion has no eval_nll (an older version)', async () => {
    const { result, created } = await register(
      'reg-eval-old-champion',
      champion(null),
      input({ evaluation: evaluation(9) }),
    );
    expect(result.approvalStatus).toBe('Approved');
    expect(created[0]?.approvalDescription).toMatch(/val_loss 1\.7 vs approved 2/);
    expect(created[0]?.metrics).toMatchObject({ eval_nll: 9 });
  });

  it('ignores an evaluation of another model than the champion, and behaves as before without one', async () => {
    const other = await register(
      'reg-eval-other',
      champion(2.0),
      input({ evaluation: evaluation(9, 'wf-train-0123abcd') }),
    );
    expect(other.result.approvalStatus).toBe('Approved');
    expect(other.created[0]?.evaluation).toBeUndefined();
    expect(other.created[0]?.metrics).toEqual({ val_loss: 1.7 });
    const none = await register('reg-eval-none', champion(undefined), input({}));
    expect(none.result.approvalStatus).toBe('Approved');
    expect(none.created[0]?.evaluation).toBeUndefined();
  });
});
