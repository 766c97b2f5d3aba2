/**
 * How the workflow code is bundled, in one place for the worker, `npm run build`, the tests and the benches, so that
 * every worker runs the same sandbox layout.
 */
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { bundleHeader, workflowSourceHash } from './workflow-version';

/** The module that exports every workflow. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Modules evaluated once per worker and shared by every workflow run (see workflows/shared-modules.ts). Anything else
 * a workflow imports is evaluated again for each cached run: with zod and the contracts' schemas that was about
 * 2.6 MiB a run, which at 1,000 waiting pipelines (two cached runs each: the pipeline and its current step) is 5 GiB.
 */
const PRELOADED_MODULES = [require.resolve('../workflows/shared-modules')];

/** The bundler settings for a worker that bundles from source (`workflowsPath`). */
const WORKFLOW_BUNDLER_OPTIONS = { preloadModules: PRELOADED_MODULES } satisfies WorkerOptions['bundlerOptions'];

/** The Worker.create options naming the workflow code: the prebuilt bundle when given, else the source. */
export function workflowSource(
  bundlePath?: string,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  return bundlePath
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: WORKFLOW_BUNDLER_OPTIONS };
}

/**
 * Bundles the workflows ahead of time, as production workers load them (WORKFLOW_BUNDLE_PATH): the first line names
 * the workflow source hash, which a worker running the bundle reports as its build ID; the second the workflow types
 * it registers.
 */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS });
  return bundleHeader(workflowSourceHash(), registeredWorkflowTypes()) + code;
}

/** The workflow types a worker of this checkout registers: every export of workflows/index.ts. */
export function registeredWorkflowTypes(): string[] {
  // Loading the workflow modules outside the sandbox only defines them; none of their code runs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return Object.keys(require(WORKFLOWS_PATH) as Record<string, unknown>).sort();
}
