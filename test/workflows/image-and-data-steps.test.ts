import { Context } from '@temporalio/activity';
import { type WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, type ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BuildImageInput, PublishImageInput, SyncDataInput } from '../../contracts';
import { buildImage, publishImage, syncData } from '../../workflows';
import { createFakeActivities } from '../../testing/scripted-activities';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const build: BuildImageInput = {
  pipelineName: 'demo',
  bucket: 'pipeline-bucket',
  repository: 'jax-lm',
  contextDir: 'container',
  codeBuild: { computeType: 'BUILD_GENERAL1_LARGE', image: 'aws/codebuild/standard:7.0', timeoutMinutes: 60 },
};
const publish: PublishImageInput = {
  repository: 'jax-lm',
  digest: DIGEST,
  releaseTag: '2027-09',
  scan: { enabled: true, failOnSeverity: 'HIGH' },
};

async function execute<T>(
  fn: (taskQueue: string) => Promise<T>,
  impl: object,
): Promise<{ result?: T; error?: unknown }> {
  const taskQueue = uniqueTaskQueue('steps');
  const worker = await createTestWorker(env, taskQueue, impl);
  return worker.runUntil(
    fn(taskQueue).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    ),
  );
}
const failureOf = (error: unknown) => (error as WorkflowFailedError).cause as ApplicationFailure;

describe('buildImage workflow', () => {
  it('skips the build when ECR already holds the source-hash tag', async () => {
    const fakes = createFakeActivities();
    fakes.impl.findImageByTag = async () => ({
      repositoryUri: 'r.dkr.ecr.us-east-1.amazonaws.com/jax-lm',
      digest: DIGEST,
    });
    const r = await execute(
      (taskQueue) => env.client.workflow.execute(buildImage, { taskQueue, workflowId: 'build-skip', args: [build] }),
      fakes.impl,
    );
    expect(r.result).toMatchObject({ skipped: true, digest: DIGEST, imageTag: '0123456789abcdef' });
    expect(fakes.calls.startImageBuild).toBeUndefined();
  });

  it('builds, then returns the pushed digest', async () => {
    const fakes = createFakeActivities();
    const r = await execute(
      (taskQueue) => env.client.workflow.execute(buildImage, { taskQueue, workflowId: 'build-ok', args: [build] }),
      fakes.impl,
    );
    expect(r.result).toMatchObject({ skipped: false, digest: DIGEST, buildId: 'demo-image-build:1' });
    expect(fakes.calls.startImageBuild?.[0]).toMatchObject({
      projectName: 'demo-image-build',
      imageTag: '0123456789abcdef',
      workflowId: 'build-ok',
    });
  });

  it('surfaces the failing phase and its message', async () => {
    const fakes = createFakeActivities();
    fakes.impl.waitForImageBuild = async () => ({
      buildId: 'demo-image-build:1',
      status: 'FAILED',
      failedPhase: 'BUILD',
      failureMessage: 'Error while executing command: docker build. Reason: exit status 1',
      logTail: ['ERROR: No matching distribution found for jax==9.9'],
    });
    const r = await execute(
      (taskQueue) => env.client.workflow.execute(buildImage, { taskQueue, workflowId: 'build-fail', args: [build] }),
      fakes.impl,
    );
    const f = failureOf(r.error);
    expect(f.type).toBe('BuildFailed');
    expect(f.message).toMatch(/FAILED in phase BUILD: Error while executing command: docker build/);
    expect(f.message).toMatch(/No matching distribution found/);
  });

  it('stops the build when cancelled', async () => {
    const fakes = createFakeActivities();
    fakes.impl.waitForImageBuild = async () => {
      const ctx = Context.current();
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(50);
      }
    };
    const r = await execute(async (taskQueue) => {
      const handle = await env.client.workflow.start(buildImage, {
        taskQueue,
        workflowId: 'build-cancel',
        args: [build],
      });
      while (!fakes.calls.startImageBuild) await new Promise((res) => setTimeout(res, 50));
      await new Promise((res) => setTimeout(res, 200));
      await handle.cancel();
      return handle.result();
    }, fakes.impl);
    expect((r.error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(fakes.calls.stopImageBuild).toEqual([{ buildId: 'demo-image-build:1' }]);
  });
});

describe('publishImage workflow', () => {
  it('sets the pull policy, verifies the digest and tags that exact manifest', async () => {
    const fakes = createFakeActivities();
    const r = await execute(
      (taskQueue) =>
        env.client.workflow.execute(publishImage, { taskQueue, workflowId: 'publish-ok', args: [publish] }),
      fakes.impl,
    );
    expect(r.result).toMatchObject({
      imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@${DIGEST}`,
      releaseTag: '2027-09',
      findings: { LOW: 2 },
    });
    expect(fakes.calls.tagImageRelease).toEqual([{ repository: 'jax-lm', digest: DIGEST, tag: '2027-09' }]);
  });

  it('fails on scan findings at or above the threshold, naming them, and does not tag', async () => {
    const fakes = createFakeActivities();
    fakes.impl.readScanFindings = async () => ({
      status: 'COMPLETE',
      counts: { CRITICAL: 1, HIGH: 1, LOW: 3 },
      top: [
        { name: 'CVE-2026-0001', severity: 'CRITICAL' },
        { name: 'CVE-2026-0002', severity: 'HIGH' },
        { name: 'CVE-2026-0003', severity: 'LOW' },
      ],
    });
    const r = await execute(
      (taskQueue) =>
        env.client.workflow.execute(publishImage, { taskQueue, workflowId: 'publish-scan', args: [publish] }),
      fakes.impl,
    );
    const f = failureOf(r.error);
    expect(f.type).toBe('ImageScanFailed');
    expect(f.message).toMatch(/2 finding\(s\) at or above HIGH: CVE-2026-0001 \(CRITICAL\), CVE-2026-0002 \(HIGH\)$/);
    expect(fakes.calls.tagImageRelease).toBeUndefined();
  });
});

describe('syncData workflow', () => {
  const sync: SyncDataInput = {
    source: { localPath: '/data/lm' },
    bucket: 'b',
    prefix: 'pipelines/demo/data/',
    channels: ['train', 'val'],
  };

  it('returns one URI per channel and what it copied', async () => {
    const fakes = createFakeActivities();
    const r = await execute(
      (taskQueue) => env.client.workflow.execute(syncData, { taskQueue, workflowId: 'sync-ok', args: [sync] }),
      fakes.impl,
    );
    expect(r.result?.channels).toEqual({
      train: 's3://b/pipelines/demo/data/train/',
      val: 's3://b/pipelines/demo/data/val/',
    });
  });

  it('fails without retrying when the source is missing a channel', async () => {
    const fakes = createFakeActivities();
    let attempts = 0;
    fakes.impl.syncDataset = async () => {
      attempts += 1;
      const { ApplicationFailure } = await import('@temporalio/common');
      throw ApplicationFailure.nonRetryable(
        'channel "val" not found under /data/lm (expected /data/lm/val/)',
        'DataSourceInvalid',
      );
    };
    const r = await execute(
      (taskQueue) => env.client.workflow.execute(syncData, { taskQueue, workflowId: 'sync-missing', args: [sync] }),
      fakes.impl,
    );
    expect(((r.error as WorkflowFailedError).cause?.cause as Error | undefined)?.message).toMatch(
      /channel "val" not found/,
    );
    expect(attempts).toBe(1);
  });
});
