/**
 * The v2 workflow changes (workflows/patches.ts), on the dev server (the pipeline upserts search attributes, which
 * the time-skipping server cannot register):
 *   - a re-run of a failed pipeline under the same workflow ID starts fresh resources and says so, while a retry
 *     inside one run keeps its names (re-attaches);
 *   - terminating a pipeline asks its running step to cancel (REQUEST_CANCEL), so the step stops its job;
 *   - the ApprovalStatus search attribute shows a run waiting for a reviewer, then the decision.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorkflowRunActivities } from '../../activities/workflow-runs';
import type { PipelineSpecInput } from '../../contracts';
import { runResourceNames } from '../../contracts/names';
import { migrationPipeline } from '../../workflows';
import { APPROVAL_STATUS } from '../../workflows/search-attributes';
import { createFakeActivities } from '../../testing/scripted-activities';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { approve } from '../../worker/pipeline-client';
import { loadLocalSpec, withoutOptionalSteps } from '../../testing/tiny-spec';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const spec = withoutOptionalSteps(loadLocalSpec()) as PipelineSpecInput;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('re-running a failed pipeline under the same workflow ID', () => {
  it('starts fresh resources and says so; a retry inside the run keeps the names', async () => {
    const workflowId = 'rerun-same-id';
    const runs = createWorkflowRunActivities(); // the real lookup, against the dev server's visibility

    const first = createFakeActivities({ failTraining: true });
    const q1 = uniqueTaskQueue('rerun');
    const w1 = await createTestWorker(env, q1, { ...first.impl, ...runs });
    const failed = await w1.runUntil(
      env.client.workflow.execute(migrationPipeline, { taskQueue: q1, workflowId, args: [spec] }).catch((e) => e),
    );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    const firstJob = (first.calls.createTrainingJob?.[0] as { trainingJobName: string }).trainingJobName;
    expect(firstJob).toBe(runResourceNames(workflowId).trainingJob); // a first run keeps the plain names
    await until('the failed run in visibility', async () => {
      for await (const w of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
        if (w.status.name === 'FAILED') return true;
      return undefined;
    });

    // The re-run: its first CreateTrainingJob attempt is lost (a retry inside the run), the second one lands.
    const second = createFakeActivities();
    let attempts = 0;
    const createTrainingJob = second.impl.createTrainingJob as (i: never) => Promise<unknown>;
    const q2 = uniqueTaskQueue('rerun');
    const w2 = await createTestWorker(env, q2, {
      ...second.impl,
      ...runs,
      createTrainingJob: async (i: never) => {
        attempts += 1;
        if (attempts === 1) {
          await createTrainingJob(i);
          throw new Error('connection reset after the request was sent');
        }
        return createTrainingJob(i);
      },
    });
    const handle = await env.client.workflow.start(migrationPipeline, { taskQueue: q2, workflowId, args: [spec] });
    const { summary, status } = await w2.runUntil(async () => ({
      summary: await handle.result(),
      status: await handle.query<{ resources: Record<string, string> }>('status'),
    }));

    expect(summary.outcome).toBe('deployed');
    expect(summary.rerun).toMatchObject({
      runKey: handle.firstExecutionRunId,
      earlierRuns: [expect.objectContaining({ status: 'FAILED' })],
    });
    expect(summary.rerun?.message).toMatch(
      /^Re-run of rerun-same-id: 1 earlier run\(s\), the latest .* FAILED; this run starts fresh resources/,
    );
    const fresh = runResourceNames(workflowId, handle.firstExecutionRunId);
    const names = (second.calls.createTrainingJob ?? []).map((c) => (c as { trainingJobName: string }).trainingJobName);
    expect(names).toEqual([fresh.trainingJob, fresh.trainingJob]); // the retry re-attaches to the same name
    expect(fresh.trainingJob).not.toBe(firstJob);
    expect(second.calls.createTuningJob?.[0]).toMatchObject({ tuningJobName: fresh.tuningJob });
    expect(second.calls.createModel?.[0]).toMatchObject({ modelName: fresh.model });
    expect(second.calls.createModelPackage?.[0]).toMatchObject({ runKey: handle.firstExecutionRunId });
    expect(status.resources.runKey).toBe(handle.firstExecutionRunId);
  });
});

describe('terminating a pipeline', () => {
  it('asks the running step to cancel, and the step stops its training job', async () => {
    const workflowId = 'terminate-during-training';
    const fakes = createFakeActivities({ blockTraining: true });
    const taskQueue = uniqueTaskQueue('terminate');
    const worker = await createTestWorker(env, taskQueue, fakes.impl);
    const child = env.client.workflow.getHandle(`${workflowId}/trainModel`);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(migrationPipeline, { taskQueue, workflowId, args: [spec] });
      await until('training to be waited on', async () => (fakes.calls.waitForTrainingJob ? true : undefined));
      await handle.terminate('operator terminated the run');
      await until('the step to close', async () => {
        const d = await child.describe();
        return d.status.name === 'RUNNING' ? undefined : d;
      });
    });
    expect((await child.describe()).status.name).toBe('CANCELLED');
    expect(fakes.calls.stopTrainingJob).toEqual([
      expect.objectContaining({ trainingJobName: runResourceNames(workflowId).trainingJob }),
    ]);
  });
});

describe('the ApprovalStatus search attribute', () => {
  it('shows a run waiting for a reviewer, then the decision', async () => {
    const workflowId = 'approval-state';
    const fakes = createFakeActivities({ approvedObjective: 1.0 }); // the champion does not win: a reviewer decides
    const taskQueue = uniqueTaskQueue('approval');
    const worker = await createTestWorker(env, taskQueue, fakes.impl);
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(migrationPipeline, { taskQueue, workflowId, args: [spec] });
      await until('ApprovalStatus PendingManualApproval', async () => {
        const d = await handle.describe();
        return d.typedSearchAttributes.get(APPROVAL_STATUS) === 'PendingManualApproval' ? true : undefined;
      });
      await approve(env.client, workflowId, { reviewer: 'ana', reason: 'looks good' });
      await handle.result();
      expect((await handle.describe()).typedSearchAttributes.get(APPROVAL_STATUS)).toBe('Approved');
    });
  });
});
