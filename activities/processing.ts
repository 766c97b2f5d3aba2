/**
 * SageMaker Processing jobs (the prepareData step): create once (a retried create re-attaches to the job our workflow
 * ID tag proves is ours), wait from a heartbeating loop that returns on every status change, and stop on cancel.
 */
import {
  type CreateProcessingJobRequest,
  CreateProcessingJobCommand,
  DescribeProcessingJobCommand,
  type DescribeProcessingJobResponse,
  type ProcessingInstanceType,
  StopProcessingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { ErrorType } from '../contracts/errors';
import {
  CreateProcessingJobInput,
  type CreateProcessingJobOutput,
  PREPARE_ENTRYPOINT,
  PREPARE_INPUT_PATH,
  PREPARE_OUTPUTS,
  type ProcessingJobSnapshot,
  ProcessingJobStatus,
  prepareOutputPath,
  type StopProcessingJobInput,
  type WaitProcessingJobInput,
} from '../contracts/prepare-data';
import type { StopTrainingJobOutput as StopJobOutput } from '../contracts/train-model';
import { aws, failure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { createOrReattach, stopSageMakerJob, waitForJobChange } from './sagemaker-job';
import { sageMakerTags } from './sagemaker-owner';

/** The CreateProcessingJob request that runs the image's `prepare` (API_CreateProcessingJob). */
export function processingJobRequest(raw: CreateProcessingJobInput): CreateProcessingJobRequest {
  const {
    processingJobName,
    workflowId,
    definition: d,
  } = parseInput(CreateProcessingJobInput, raw, 'createProcessingJob input');
  return {
    ProcessingJobName: processingJobName,
    AppSpecification: {
      ImageUri: d.imageUri,
      ContainerEntrypoint: [...PREPARE_ENTRYPOINT],
      // ContainerArguments has a minimum of one entry: left out when there are none.
      ...(d.arguments.length ? { ContainerArguments: d.arguments } : {}),
    },
    RoleArn: d.roleArn,
    ProcessingInputs: d.inputS3Uri
      ? [
          {
            InputName: 'raw',
            S3Input: {
              S3Uri: d.inputS3Uri,
              LocalPath: PREPARE_INPUT_PATH,
              S3DataType: 'S3Prefix',
              S3InputMode: 'File',
              S3DataDistributionType: 'FullyReplicated',
            },
          },
        ]
      : undefined,
    ProcessingOutputConfig: {
      Outputs: PREPARE_OUTPUTS.map((name) => ({
        OutputName: name,
        S3Output: { S3Uri: `${d.outputS3Uri}${name}/`, LocalPath: prepareOutputPath(name), S3UploadMode: 'EndOfJob' },
      })),
    },
    ProcessingResources: {
      ClusterConfig: {
        InstanceType: d.resources.instanceType as ProcessingInstanceType,
        InstanceCount: d.resources.instanceCount,
        VolumeSizeInGB: d.resources.volumeSizeGb,
      },
    },
    StoppingCondition: { MaxRuntimeInSeconds: d.maxRuntimeSeconds },
    ...(Object.keys(d.environment).length ? { Environment: d.environment } : {}),
    Tags: sageMakerTags(workflowId, d.tags),
  };
}

/** What the waiting loop reports: status, FailureReason and ExitMessage. */
export function toProcessingSnapshot(job: DescribeProcessingJobResponse): ProcessingJobSnapshot {
  const status = ProcessingJobStatus.safeParse(job.ProcessingJobStatus);
  if (!status.success)
    throw failure(
      ErrorType.AwsValidation,
      `processing job ${job.ProcessingJobName ?? '?'} has unknown status ${String(job.ProcessingJobStatus)}`,
    );
  return {
    processingJobName: job.ProcessingJobName ?? '',
    status: status.data,
    ...(job.FailureReason ? { failureReason: job.FailureReason } : {}),
    ...(job.ExitMessage ? { exitMessage: job.ExitMessage } : {}),
  };
}

/** Builds the Processing job activities. */
export function createProcessingActivities(deps: ActivityDeps) {
  const sm = deps.clients.sagemaker;
  const describe = (name: string) =>
    aws(`DescribeProcessingJob ${name}`, () => sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: name })));

  return {
    /**
     * Creates the processing job. A taken name is ours only when the job carries our workflow ID tag: then this is a
     * retried create and we re-attach; otherwise it is a conflict nobody should retry.
     */
    async createProcessingJob(input: CreateProcessingJobInput): Promise<CreateProcessingJobOutput> {
      const request = processingJobRequest(input);
      const name = input.processingJobName;
      const job = await createOrReattach(
        deps,
        { action: `CreateProcessingJob ${name}`, what: `processing job ${name}`, workflowId: input.workflowId },
        async () => (await sm.send(new CreateProcessingJobCommand(request))).ProcessingJobArn,
        async () => (await describe(name)).ProcessingJobArn,
      );
      return { processingJobArn: job.arn, reattached: job.reattached };
    },

    /** Polls the job until its status differs from `last` or it is terminal, heartbeating each snapshot. */
    async waitForProcessingJob(input: WaitProcessingJobInput): Promise<ProcessingJobSnapshot> {
      return waitForJobChange(deps, input, async () => toProcessingSnapshot(await describe(input.processingJobName)));
    },

    /** Stops the job unless it already ended (stopSageMakerJob). */
    async stopProcessingJob(input: StopProcessingJobInput): Promise<StopJobOutput> {
      const name = input.processingJobName;
      return stopSageMakerJob(
        `StopProcessingJob ${name}`,
        async () => (await describe(name)).ProcessingJobStatus,
        () => sm.send(new StopProcessingJobCommand({ ProcessingJobName: name })),
      );
    },
  };
}
