import {
  type WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
} from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApprovedModelPackage, RegisterModelInput } from '../../contracts';
import { approveModelUpdate, rejectModelUpdate, statusQuery } from '../../contracts/workflow-api';
import { registerModel } from '../../workflows';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const GROUP_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package-group/jax-lm';
const PKG_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/jax-lm/7';
const OLD_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/jax-lm/6';

const input = (approval: RegisterModelInput['approval']): RegisterModelInput => ({
  modelPackageGroupName: 'jax-lm',
  candidates: [
    {
      source: 'training',
      trainingJobName: 'wf-train-0123abcd',
      modelArtifactS3Uri: 's3://b/output/wf-train-0123abcd/output/model.tar.gz',
      objectiveValue: 2.0,
      hyperparameters: { max_steps: '100' },
    },
    {
      source: 'tuning',
      trainingJobName: 'wf-tune-0123abcd-005-abcdef12',
      modelArtifactS3Uri: 's3://b/output/wf-tune-005/output/model.tar.gz',
      objectiveValue: 1.7,
      hyperparameters: { max_steps: '100', learning_rate: '0.0003' },
    },
  ],
  objective: { metricName: 'val_loss', type: 'Minimize' },
  imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:' + 'a'.repeat(64),
  dataUris: { train: 's3://b/data/train/' },
  approval,
  inferenceInstanceTypes: ['ml.g5.2xlarge'],
  metrics: { val_loss: 1.7 },
});
const approvedWith = (objectiveValue: number): ApprovedModelPackage => ({
  modelPackageArn: OLD_ARN,
  modelPackageVersion: 6,
  objectiveValue,
  modelDataUrl: 's3://b/old/model.tar.gz',
});

function activities(current: ApprovedModelPackage, overrides: Record<string, unknown> = {}) {
  const calls: Record<string, unknown[]> = {};
  const record = (name: string, arg: unknown) => {
    (calls[name] ??= []).push(arg);
  };
  return {
    calls,
    impl: {
      ensureModelPackageGroup: async (a: unknown) => {
        record('ensureModelPackageGroup', a);
        return { modelPackageGroupArn: GROUP_ARN, created: false };
      },
      findApprovedModelPackage: async (a: unknown) => {
        record('findApprovedModelPackage', a);
        return current;
      },
      createModelPackage: async (a: { approvalStatus: string }) => {
        record('createModelPackage', a);
        return {
          modelPackageArn: PKG_ARN,
          modelPackageVersion: 7,
          approvalStatus: a.approvalStatus,
          reattached: false,
        };
      },
      updateModelPackageApproval: async (a: { modelPackageArn: string; status: string }) => {
        record('updateModelPackageApproval', a);
        return { modelPackageArn: a.modelPackageArn, approvalStatus: a.status, changed: true };
      },
      ...overrides,
    },
  };
}

/** Waits until the workflow is PendingManualApproval and waiting for a reviewer (queries do not skip time). */
async function untilWaiting(handle: WorkflowHandle): Promise<void> {
  while (!(await handle.query(statusQuery)).awaitingApproval) await new Promise((r) => setTimeout(r, 50));
}

/** The message the update validator refused with. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as ApplicationFailure).message;
}

const manual = { policy: 'manual', timeoutSeconds: 7 * 24 * 3600 } as const;

describe('registerModel workflow', () => {
  it('auto-approves the champion (the tuner’s best) when it beats the approved version by the margin', async () => {
    const acts = activities(approvedWith(2.0));
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(
      env.client.workflow.execute(registerModel, {
        taskQueue,
        workflowId: 'reg-auto-yes',
        args: [input({ policy: 'auto', margin: 0.1 })],
      }),
    );
    expect(result).toMatchObject({
      modelPackageArn: PKG_ARN,
      modelPackageVersion: 7,
      approvalStatus: 'Approved',
      approved: true,
      champion: { source: 'tuning', trainingJobName: 'wf-tune-0123abcd-005-abcdef12' },
      previousApproved: { modelPackageArn: OLD_ARN, objectiveValue: 2.0 },
    });
    expect(result.reason).toContain('auto-approved');
    expect(acts.calls.ensureModelPackageGroup).toEqual([{ modelPackageGroupName: 'jax-lm', tags: {} }]);
    expect(acts.calls.createModelPackage).toHaveLength(1);
    expect(acts.calls.createModelPackage?.[0]).toMatchObject({
      workflowId: 'reg-auto-yes',
      approvalStatus: 'Approved',
      modelDataUrl: 's3://b/output/wf-tune-005/output/model.tar.gz',
      trainingJobName: 'wf-tune-0123abcd-005-abcdef12',
      objective: { metricName: 'val_loss', type: 'Minimize', value: 1.7 },
      hyperparameters: { learning_rate: '0.0003' },
    });
    expect(acts.calls.updateModelPackageApproval).toBeUndefined();
  });

  it(
    'leaves a champion that does not beat the margin ' +
      'PendingManualApproval, and not approved when nobody ' +
      'decides',
    async () => {
      const acts = activities(approvedWith(1.75));
      const taskQueue = uniqueTaskQueue();
      const worker = await createTestWorker(env, taskQueue, acts.impl);
      const result = await worker.runUntil(
        env.client.workflow.execute(registerModel, {
          taskQueue,
          workflowId: 'reg-auto-no',
          args: [input({ policy: 'auto', margin: 0.1, timeoutSeconds: 3600 })],
        }),
      );
      expect(acts.calls.createModelPackage?.[0]).toMatchObject({
        approvalStatus: 'PendingManualApproval',
        approvalDescription: expect.stringContaining('does not beat'),
      });
      expect(result).toMatchObject({ approvalStatus: 'PendingManualApproval', approved: false });
      expect(result.reason).toContain('no reviewer decided within 3600 s');
      expect(acts.calls.updateModelPackageApproval).toBeUndefined();
    },
  );

  it('manual: an approveModel update approves the version and names the reviewer', async () => {
    const acts = activities(null);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const { result, updated } = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(registerModel, {
        taskQueue,
        workflowId: 'reg-approve',
        args: [input(manual)],
      });
      await untilWaiting(handle);
      const updated = await handle.executeUpdate(approveModelUpdate, {
        args: [{ reviewer: 'alice', reason: 'eval looks good' }],
      });
      return { result: await handle.result(), updated };
    });
    expect(acts.calls.createModelPackage?.[0]).toMatchObject({ approvalStatus: 'PendingManualApproval' });
    expect(updated).toEqual({ modelPackageArn: PKG_ARN, approvalStatus: 'Approved', changed: true });
    expect(acts.calls.updateModelPackageApproval).toEqual([
      { modelPackageArn: PKG_ARN, status: 'Approved', reviewer: 'alice', reason: 'eval looks good' },
    ]);
    expect(result).toMatchObject({
      approvalStatus: 'Approved',
      approved: true,
      reviewer: 'alice',
      reason: 'approved by alice: eval looks good',
      previousApproved: null,
    });
  });

  it('manual: a rejectModel update rejects the version; the result says not approved and why', async () => {
    const acts = activities(approvedWith(1.9));
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(registerModel, {
        taskQueue,
        workflowId: 'reg-reject',
        args: [input(manual)],
      });
      await untilWaiting(handle);
      await handle.executeUpdate(rejectModelUpdate, {
        args: [{ reviewer: 'bob', reason: 'regression on the held-out set' }],
      });
      return handle.result();
    });
    expect(acts.calls.updateModelPackageApproval).toEqual([
      { modelPackageArn: PKG_ARN, status: 'Rejected', reviewer: 'bob', reason: 'regression on the held-out set' },
    ]);
    expect(result).toMatchObject({
      approvalStatus: 'Rejected',
      approved: false,
      reviewer: 'bob',
      reason: 'rejected by bob: regression on the held-out set',
    });
  });

  it('manual: times out after the spec’s timeout (7 days, skipped) without writing a decision', async () => {
    const acts = activities(null);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(
      env.client.workflow.execute(registerModel, { taskQueue, workflowId: 'reg-timeout', args: [input(manual)] }),
    );
    expect(result).toMatchObject({ approvalStatus: 'PendingManualApproval', approved: false });
    expect(result.reason).toMatch(/no reviewer decided within 604800 s \(approval policy is manual\)/);
    expect(acts.calls.updateModelPackageApproval).toBeUndefined();
  });

  it('refuses a second decision, and a decision without reviewer or reason', async () => {
    let release = false;
    const acts = activities(null);
    const slowWrite = acts.impl.updateModelPackageApproval;
    acts.impl.updateModelPackageApproval = async (a) => {
      while (!release) await new Promise((r) => setTimeout(r, 20));
      return slowWrite(a);
    };
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const out = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(registerModel, {
        taskQueue,
        workflowId: 'reg-twice',
        args: [input(manual)],
      });
      await untilWaiting(handle);
      const emptyReviewer = await refusal(
        handle.executeUpdate(approveModelUpdate, { args: [{ reviewer: '  ', reason: 'fine' }] }),
      );
      const noReason = await refusal(
        handle.executeUpdate(rejectModelUpdate, { args: [{ reviewer: 'carol' } as never] }),
      );
      const first = await handle.startUpdate(approveModelUpdate, {
        args: [{ reviewer: 'alice', reason: 'ship it' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      const second = await refusal(
        handle.executeUpdate(rejectModelUpdate, { args: [{ reviewer: 'bob', reason: 'no' }] }),
      );
      release = true;
      await first.result();
      return { emptyReviewer, noReason, second, result: await handle.result() };
    });
    expect(out.emptyReviewer).toMatch(/approveModel needs \{ reviewer, reason \}, both non-empty: reviewer:/);
    expect(out.noReason).toMatch(/rejectModel needs .*reason:/);
    expect(out.second).toBe('This version was already approved by alice (ship it); a second decision is refused');
    expect(out.result).toMatchObject({ approvalStatus: 'Approved', approved: true, reviewer: 'alice' });
    expect(acts.calls.updateModelPackageApproval).toHaveLength(1);
  });

  it('refuses a reason or reviewer with a line break before accepting it, and still takes a one-line decision', async () => {
    const acts = activities(null);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const out = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(registerModel, {
        taskQueue,
        workflowId: 'reg-line-break',
        args: [input(manual)],
      });
      await untilWaiting(handle);
      const newline = await refusal(
        handle.executeUpdate(approveModelUpdate, { args: [{ reviewer: 'alice', reason: 'looks good\nship it' }] }),
      );
      const separator = await refusal(
        handle.executeUpdate(rejectModelUpdate, { args: [{ reviewer: 'bob\u2028smith', reason: 'worse' }] }),
      );
      await handle.executeUpdate(approveModelUpdate, { args: [{ reviewer: 'alice', reason: 'looks good; ship it' }] });
      return { newline, separator, result: await handle.result() };
    });
    expect(out.newline).toBe(
      "approveModel: reason: must be a single line (a line break, U+000A, at character 11); SageMaker's " +
        'ApprovalDescription (pattern .*) refuses line breaks',
    );
    expect(out.separator).toMatch(
      /^rejectModel: reviewer: must be a single line \(a line break, U\+2028, at character 4\)/,
    );
    // The refused updates were never accepted: the one decision written is the valid one.
    expect(acts.calls.updateModelPackageApproval).toEqual([
      expect.objectContaining({ status: 'Approved', reviewer: 'alice', reason: 'looks good; ship it' }),
    ]);
    expect(out.result).toMatchObject({ approvalStatus: 'Approved', reviewer: 'alice' });
  });

  it('fails non-retryably when no candidate reported the objective', async () => {
    const acts = activities(null);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const bad = input({ policy: 'auto' });
    bad.candidates = bad.candidates.map((c) => ({ ...c, objectiveValue: null }));
    const err = await worker.runUntil(
      env.client.workflow
        .execute(registerModel, { taskQueue, workflowId: 'reg-no-objective', args: [bad] })
        .catch((e: unknown) => e),
    );
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('No candidate reported the objective metric val_loss');
    expect(acts.calls.createModelPackage).toBeUndefined();
  });
});
