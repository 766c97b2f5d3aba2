/**
 * Scheduled retraining: the same steps as the migration, reusing the image when the source hash is unchanged
 * (buildImage skips), syncing only new data, warm-starting tuning from the previous run's tuning job, and
 * deploying only when the champion wins (auto approval approves only a better model).
 */
import { workflowInfo } from '@temporalio/workflow';
import type { PipelineSummary, WarmStartParent } from '../contracts/pipeline-plan';
import type { PipelineSpecInput } from '../contracts/pipeline-spec';
import { quickActivities } from './activity-options';
import { parseSpecOrFail, runPipeline } from './pipeline';

/** Re-runs the pipeline for a spec, building on the previous run. */
export async function retrainPipeline(rawSpec: PipelineSpecInput): Promise<PipelineSummary> {
  const spec = parseSpecOrFail(rawSpec);
  let warmStartFrom: WarmStartParent | undefined;
  if (spec.tuning.enabled && !spec.tuning.warmStart) {
    const previous = await quickActivities().findPreviousTuningJob.executeWithOptions(
      { summary: `Find the previous tuning job of pipeline ${spec.pipelineName}` },
      [{ pipelineName: spec.pipelineName, excludeWorkflowId: workflowInfo().workflowId }],
    );
    warmStartFrom = previous.tuningJobName ? { ...previous, tuningJobName: previous.tuningJobName } : undefined;
  }
  return runPipeline(spec, { warmStartFrom });
}
