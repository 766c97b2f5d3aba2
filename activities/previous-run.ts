/** Finds what an earlier run of the same pipeline produced, so scheduled retraining can build on it. */
import {
  DescribeHyperParameterTuningJobCommand,
  ListHyperParameterTuningJobsCommand,
  ListTagsCommand,
} from '@aws-sdk/client-sagemaker';
import { childWorkflowId } from '../contracts/names';
import {
  CheckWarmStartParentInput,
  type CheckWarmStartParentOutput,
  FindPreviousTuningJobInput,
  type FindPreviousTuningJobOutput,
  PIPELINE_NAME_TAG,
  PIPELINE_RUN_TAG,
} from '../contracts/retrain';
import { WORKFLOW_ID_TAG } from '../contracts/task-queue';
import { aws } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { isNotFound } from './sagemaker-owner';
import { tuningJobRequest } from './tuning';
import { warmStartFit } from './warm-start-fit';

const CANDIDATES = 20;

/** Activities about earlier runs. */
export function createPreviousRunActivities({ clients }: ActivityDeps) {
  return {
    /**
     * The newest Completed tuning job tagged with this pipeline's name, excluding the current run's own, with the
     * training image it ran and its creation time (what the warm-start type is decided on). A job belongs to a run by
     * its `pipeline:run-id` tag; jobs tagged before that tag existed carry only the owner tag, which names the run's
     * tuneModel child workflow, not the run.
     */
    async findPreviousTuningJob(raw: FindPreviousTuningJobInput): Promise<FindPreviousTuningJobOutput> {
      const input = parseInput(FindPreviousTuningJobInput, raw, 'findPreviousTuningJob');
      const ownTuningStep = childWorkflowId(input.excludeWorkflowId, 'tuneModel');
      const listed = await aws('ListHyperParameterTuningJobs', () =>
        clients.sagemaker.send(
          new ListHyperParameterTuningJobsCommand({
            StatusEquals: 'Completed',
            SortBy: 'CreationTime',
            SortOrder: 'Descending',
            MaxResults: CANDIDATES,
          }),
        ),
      );
      for (const job of listed.HyperParameterTuningJobSummaries ?? []) {
        const tags = await aws(`ListTags ${job.HyperParameterTuningJobName}`, () =>
          clients.sagemaker.send(new ListTagsCommand({ ResourceArn: job.HyperParameterTuningJobArn })),
        );
        const value = (key: string) => tags.Tags?.find((t) => t.Key === key)?.Value;
        if (value(PIPELINE_NAME_TAG) !== input.pipelineName) continue;
        const run = value(PIPELINE_RUN_TAG);
        const owner = value(WORKFLOW_ID_TAG);
        const ours = run !== undefined ? run === input.excludeWorkflowId : owner === ownTuningStep;
        if (ours) continue;
        const name = job.HyperParameterTuningJobName ?? '';
        const described = await aws(`DescribeHyperParameterTuningJob ${name}`, () =>
          clients.sagemaker.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
        );
        return {
          tuningJobName: name,
          trainingImage: described.TrainingJobDefinition?.AlgorithmSpecification?.TrainingImage ?? null,
          creationTime: (described.CreationTime ?? job.CreationTime)?.toISOString() ?? null,
        };
      }
      return { tuningJobName: null };
    },

    /**
     * Whether the tuning job this run would create may warm-start from the parent(s) it names: describes each parent
     * and compares it with the request (warm-start-fit.ts). Read-only, so safe to run twice.
     */
    async checkWarmStartParent(raw: CheckWarmStartParentInput): Promise<CheckWarmStartParentOutput> {
      const input = parseInput(CheckWarmStartParentInput, raw, 'checkWarmStartParent');
      const request = tuningJobRequest(input.tuningJob);
      const parents = [];
      for (const p of request.WarmStartConfig?.ParentHyperParameterTuningJobs ?? []) {
        const name = p.HyperParameterTuningJobName ?? '';
        try {
          parents.push(
            await aws(`DescribeHyperParameterTuningJob ${name}`, () =>
              clients.sagemaker.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
            ),
          );
        } catch (err) {
          // A parent that is gone cannot be warm-started from: SageMaker would refuse the create.
          if (isNotFound(err)) return { type: null, reason: `cannot warm-start from ${name}: it no longer exists` };
          throw err;
        }
      }
      return warmStartFit(request, parents);
    },
  };
}
