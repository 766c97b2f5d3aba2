/** Finds what an earlier run of the same pipeline produced, so scheduled retraining can build on it. */
import { ListHyperParameterTuningJobsCommand, ListTagsCommand } from '@aws-sdk/client-sagemaker';
import { FindPreviousTuningJobInput, type FindPreviousTuningJobOutput, PIPELINE_NAME_TAG } from '../contracts/retrain';
import { WORKFLOW_ID_TAG } from '../contracts/task-queue';
import { aws } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';

const CANDIDATES = 20;

/** Activities about earlier runs. */
export function createPreviousRunActivities({ clients }: ActivityDeps) {
  return {
    /** The newest Completed tuning job tagged with this pipeline's name, excluding the current run's own. */
    async findPreviousTuningJob(raw: FindPreviousTuningJobInput): Promise<FindPreviousTuningJobOutput> {
      const input = parseInput(FindPreviousTuningJobInput, raw, 'findPreviousTuningJob');
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
        if (value(PIPELINE_NAME_TAG) === input.pipelineName && value(WORKFLOW_ID_TAG) !== input.excludeWorkflowId) {
          return { tuningJobName: job.HyperParameterTuningJobName ?? null };
        }
      }
      return { tuningJobName: null };
    },
  };
}
