/** findPreviousTuningJob: the newest Completed tuning job of the pipeline that is not the current run's. */
import {
  DescribeHyperParameterTuningJobCommand,
  ListHyperParameterTuningJobsCommand,
  ListTagsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createPreviousRunActivities } from '../../../activities/previous-run';
import { PIPELINE_NAME_TAG, PIPELINE_RUN_TAG } from '../../../contracts/retrain';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { testDeps } from './helpers';

const sm = mockClient(SageMakerClient);
const acts = createPreviousRunActivities(testDeps());
const arn = (name: string) => `arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/${name}`;
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:${'c'.repeat(64)}`;

beforeEach(() => {
  sm.reset();
  sm.on(ListHyperParameterTuningJobsCommand).resolves({
    HyperParameterTuningJobSummaries: [
      { HyperParameterTuningJobName: 'current', HyperParameterTuningJobArn: arn('current') } as never,
      { HyperParameterTuningJobName: 'legacy-current', HyperParameterTuningJobArn: arn('legacy-current') } as never,
      { HyperParameterTuningJobName: 'other-pipeline', HyperParameterTuningJobArn: arn('other-pipeline') } as never,
      { HyperParameterTuningJobName: 'previous', HyperParameterTuningJobArn: arn('previous') } as never,
    ],
  });
  const tags = (pipeline: string, owner: string, run?: string) => ({
    Tags: [
      { Key: PIPELINE_NAME_TAG, Value: pipeline },
      { Key: WORKFLOW_ID_TAG, Value: owner },
      ...(run ? [{ Key: PIPELINE_RUN_TAG, Value: run }] : []),
    ],
  });
  sm.on(ListTagsCommand, { ResourceArn: arn('current') }).resolves(tags('lm', 'run-9/tuneModel', 'run-9'));
  // Tagged before the run tag existed: only the owner tag, which names the run's tuneModel child workflow.
  sm.on(ListTagsCommand, { ResourceArn: arn('legacy-current') }).resolves(tags('lm', 'run-9/tuneModel'));
  sm.on(ListTagsCommand, { ResourceArn: arn('other-pipeline') }).resolves(tags('other', 'run-8/tuneModel', 'run-8'));
  sm.on(ListTagsCommand, { ResourceArn: arn('previous') }).resolves(tags('lm', 'run-7/tuneModel', 'run-7'));
  sm.on(DescribeHyperParameterTuningJobCommand).resolves({
    HyperParameterTuningJobName: 'previous',
    CreationTime: new Date('2026-05-01T03:00:00Z'),
    TrainingJobDefinition: { AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' } } as never,
  });
});

test("skips the current run's own jobs (by run tag, or by its tuneModel owner tag) and other pipelines", async () => {
  await expect(acts.findPreviousTuningJob({ pipelineName: 'lm', excludeWorkflowId: 'run-9' })).resolves.toEqual({
    tuningJobName: 'previous',
    trainingImage: IMAGE,
    creationTime: '2026-05-01T03:00:00.000Z',
  });
  expect(sm).toHaveReceivedCommandWith(DescribeHyperParameterTuningJobCommand, {
    HyperParameterTuningJobName: 'previous',
  });
});

test('the first run has no previous tuning job', async () => {
  sm.on(ListHyperParameterTuningJobsCommand).resolves({ HyperParameterTuningJobSummaries: [] });
  await expect(acts.findPreviousTuningJob({ pipelineName: 'lm', excludeWorkflowId: 'run-1' })).resolves.toEqual({
    tuningJobName: null,
  });
});
