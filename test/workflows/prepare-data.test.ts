import { Context } from '@temporalio/activity';
import type { WorkflowFailedError } from '@temporalio/client';
import { type ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PrepareDataInput, ProcessingJobSnapshot } from '../../contracts';
import { statusQuery } from '../../contracts/workflow-api';
import { prepareData } from '../../workflows';
import { cancelAndReport } from '../../worker/pipeline-client';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const OUT = 's3://b/pipelines/p/prepared/wf-prepare-0123abcd/';
const input: PrepareDataInput = {
  processingJobName: 'wf-prepare-0123abcd',
  pollIntervalSeconds: 60,
  definition: {
    imageUri: '1.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:' + 'a'.repeat(64),
    roleArn: 'arn:aws:iam::123456789012:role/SageMakerExecutionRole',
    inputS3Uri: 's3://b/pipelines/p/data/',
    outputS3Uri: OUT,
    arguments: [],
    resources: { instanceType: 'ml.m5.xlarge', instanceCount: 1, volumeSizeGb: 30 },
    maxRuntimeSeconds: 3600,
  },
};
const snap = (status: ProcessingJobSnapshot['status'], extra: Partial<ProcessingJobSnapshot> = {}) => ({
  processingJobName: input.processingJobName,
  status,
  ...extra,
});

function activities(sequence: ProcessingJobSnapshot[], overrides: Record<string, unknown> = {}) {
  const calls: Record<string, unknown[]> = {};
  const record = (name: string, arg: unknown) => {
    (calls[name] ??= []).push(arg);
  };
  let i = 0;
  return {
    calls,
    impl: {
      createProcessingJob: async (a: unknown) => {
        record('createProcessingJob', a);
        return { processingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/x', reattached: false };
      },
      waitForProcessingJob: async (a: unknown) => {
        record('waitForProcessingJob', a);
        return sequence[Math.min(i++, sequence.length - 1)];
      },
      stopProcessingJob: async (a: unknown) => {
        record('stopProcessingJob', a);
        return { stopped: true, status: 'Stopping' };
      },
      readJobLogTail: async (a: unknown) => {
        record('readJobLogTail', a);
        return { lines: ['[algo-1] ValueError: no text files under /opt/ml/processing/input/raw'] };
      },
      ...overrides,
    },
  };
}

describe('prepareData workflow', () => {
  it('creates the processing job once, follows it and returns train/val channels and the eval records', async () => {
    const acts = activities([snap('InProgress'), snap('Completed')]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(
      env.client.workflow.execute(prepareData, { taskQueue, workflowId: 'prep-ok', args: [input] }),
    );
    expect(result).toEqual({
      processingJobName: input.processingJobName,
      processingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:processing-job/x',
      channels: { train: `${OUT}train/`, val: `${OUT}val/` },
      evalS3Uri: `${OUT}eval/`,
      reattached: false,
    });
    expect(acts.calls.createProcessingJob).toEqual([
      expect.objectContaining({ processingJobName: input.processingJobName, workflowId: 'prep-ok' }),
    ]);
    expect(acts.calls.waitForProcessingJob?.[1]).toMatchObject({ last: { status: 'InProgress' } });
  });

  it('fails non-retryably with FailureReason, ExitMessage and the log tail', async () => {
    const acts = activities([
      snap('Failed', { failureReason: 'AlgorithmError: See job logs', exitMessage: 'ValueError: no text files' }),
    ]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const err = await worker.runUntil(
      env.client.workflow
        .execute(prepareData, { taskQueue, workflowId: 'prep-fail', args: [input] })
        .catch((e: unknown) => e),
    );
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('JobFailed');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('AlgorithmError: See job logs');
    expect(cause.message).toContain('ExitMessage: ValueError: no text files');
    expect(cause.message).toContain('[algo-1] ValueError');
    expect(acts.calls.readJobLogTail?.[0]).toMatchObject({
      logGroup: '/aws/sagemaker/ProcessingJobs',
      streamPrefix: `${input.processingJobName}/`,
    });
  });

  it('stops the processing job when the workflow is cancelled', async () => {
    const acts = activities([], {
      waitForProcessingJob: async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      },
    });
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(prepareData, {
        taskQueue,
        workflowId: 'prep-cancel',
        args: [input],
      });
      while (!(await handle.query(statusQuery)).resources.processingJobArn) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, handle.workflowId, 60_000);
      const err = 'failure' in report ? report.failure : report;
      return { err, status: await handle.query(statusQuery) };
    });
    expect((result.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(acts.calls.stopProcessingJob).toEqual([{ processingJobName: input.processingJobName }]);
    expect(result.status.stopped).toEqual([`processing job ${input.processingJobName}`]);
  });
});
