/**
 * What one cached workflow run costs in the worker's sandbox. Every waiting pipeline keeps its run and its current
 * step's run cached, so this cost times 2,000 is most of a worker's memory at the 1,000-pipeline bar. It uses the
 * SDK's own sandbox (the reusable V8 context a Worker creates) on the production bundle, and reads the heap after
 * a full collection, so the figure is the memory the runs keep, not garbage.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm';
import { bundleWorkflows } from '../../worker/workflow-bundle';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const PIPELINES = 30;
/**
 * Evaluating zod and the contracts for each run cost 2.6 MiB a run; shared, a run is about 50 KiB. A contracts module
 * a workflow imports but contracts/index.ts does not export is evaluated per run again: account-preflight.ts alone
 * doubled a run to 104 KiB (and the 1,000-pipeline worker past 1 GiB), which this budget refuses.
 */
const BUDGET_KIB_PER_RUN = 80;

function runInfo(workflowType: string, i: number): Record<string, unknown> {
  const now = new Date();
  return {
    workflowType,
    workflowId: `sandbox-${i}`,
    runId: `run-${i}`,
    firstExecutionRunId: `run-${i}`,
    taskQueue: 'q',
    namespace: 'default',
    attempt: 1,
    historyLength: 0,
    historySize: 0,
    continueAsNewSuggested: false,
    startTime: now,
    runStartTime: now,
    searchAttributes: {},
    typedSearchAttributes: [],
    memo: {},
    unsafe: { isReplaying: false },
    priority: {},
  };
}

describe('the workflow sandbox', () => {
  // One measurement per process: a destroyed sandbox's memory comes back over later collections, which would hide
  // a second measurement's growth.
  it('keeps cached runs small: zod and the contracts are evaluated once per worker, not once per run', async () => {
    const code = await bundleWorkflows();
    const sourceMap = { version: 3, file: 'bundle.js', sources: [], names: [], mappings: '' };
    const creator = await ReusableVMWorkflowCreator.create(
      { code, filename: 'bundle.js', sourceMap } as never,
      10_000,
      new Set(),
      undefined as never,
    );
    try {
      const before = heapMiB();
      const runs = [];
      // What a waiting pipeline keeps cached: its own run and its current step's.
      for (let i = 0; i < PIPELINES; i += 1) {
        for (const workflowType of ['migrationPipeline', 'trainModel']) {
          runs.push(
            await creator.createWorkflow({
              info: runInfo(workflowType, runs.length),
              randomnessSeed: [1, 2],
              now: Date.now(),
              showStackTraceSources: false,
            } as never),
          );
        }
      }
      const perRunKiB = ((heapMiB() - before) * 1024) / runs.length;
      expect(runs).toHaveLength(2 * PIPELINES);
      expect(perRunKiB).toBeLessThan(BUDGET_KIB_PER_RUN);
      await Promise.all(runs.map((r) => r.dispose()));
    } finally {
      await creator.destroy();
    }
  });
});
