/**
 * SageMaker Batch Transform jobs (the evaluateModel step): create once (a retried create re-attaches to the job our
 * workflow ID tag proves is ours), wait from a heartbeating loop that returns on every status change, stop on cancel.
 */
import {
  type CreateTransformJobRequest,
  CreateTransformJobCommand,
  DescribeTransformJobCommand,
  type DescribeTransformJobResponse,
  StopTransformJobCommand,
  type TransformInstanceType,
} from '@aws-sdk/client-sagemaker';
import { ErrorType } from '../contracts/errors';
import {
  CreateTransformJobInput,
  type CreateTransformJobOutput,
  SCORING_CONTENT_TYPE,
  type StopTransformJobInput,
  type TransformJobSnapshot,
  TransformJobStatus,
  type WaitTransformJobInput,
} from '../contracts/evaluate-model';
import type { StopTrainingJobOutput as StopJobOutput } from '../contracts/train-model';
import { aws, failure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { createOrReattach, stopSageMakerJob, waitForJobChange } from './sagemaker-job';
import { sageMakerTags } from './sagemaker-owner';
import { type InvocationPlan, invocationPlan, prepareTransformInput } from './transform-input';

/**
 * The CreateTransformJob request that scores JSON Lines records: split by line, several records per request
 * (MultiRecord up to MaxPayloadInMB), one answer line per record assembled by line (API_CreateTransformJob,
 * https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html), each request waited for as long as its
 * records take (ModelClientConfig, from `plan`: see transform-input.ts). `s3Uri` is the input the job reads (the
 * per-instance objects when the input was split).
 */
export function transformJobRequest(
  raw: CreateTransformJobInput,
  sized: { s3Uri: string; plan: InvocationPlan },
): CreateTransformJobRequest {
  const input = parseInput(CreateTransformJobInput, raw, 'createTransformJob input');
  return {
    TransformJobName: input.transformJobName,
    ModelName: input.modelName,
    BatchStrategy: 'MultiRecord',
    MaxPayloadInMB: sized.plan.maxPayloadMb,
    ModelClientConfig: {
      InvocationsTimeoutInSeconds: sized.plan.invocationsTimeoutSeconds,
      InvocationsMaxRetries: sized.plan.invocationsMaxRetries,
    },
    TransformInput: {
      DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: sized.s3Uri } },
      ContentType: SCORING_CONTENT_TYPE,
      SplitType: 'Line',
      CompressionType: 'None',
    },
    TransformOutput: { S3OutputPath: input.outputS3Uri, Accept: SCORING_CONTENT_TYPE, AssembleWith: 'Line' },
    TransformResources: {
      InstanceType: input.instanceType as TransformInstanceType,
      InstanceCount: input.instanceCount,
    },
    Tags: sageMakerTags(input.workflowId, input.tags),
  };
}

/** What the waiting loop reports: status and FailureReason. */
export function toTransformSnapshot(job: DescribeTransformJobResponse): TransformJobSnapshot {
  const status = TransformJobStatus.safeParse(job.TransformJobStatus);
  if (!status.success)
    throw failure(
      ErrorType.AwsValidation,
      `transform job ${job.TransformJobName ?? '?'} has unknown status ${String(job.TransformJobStatus)}`,
    );
  return {
    transformJobName: job.TransformJobName ?? '',
    status: status.data,
    ...(job.FailureReason ? { failureReason: job.FailureReason } : {}),
  };
}

/** Builds the Batch Transform job activities. */
export function createTransformActivities(deps: ActivityDeps) {
  const sm = deps.clients.sagemaker;
  const describe = (name: string) =>
    aws(`DescribeTransformJob ${name}`, () => sm.send(new DescribeTransformJobCommand({ TransformJobName: name })));

  return {
    /**
     * Creates the transform job. A taken name is ours only when the job carries our workflow ID tag: then this is a
     * retried create and we re-attach; otherwise it is a conflict nobody should retry.
     */
    async createTransformJob(raw: CreateTransformJobInput): Promise<CreateTransformJobOutput> {
      const input = parseInput(CreateTransformJobInput, raw, 'createTransformJob input');
      const prepared = await prepareTransformInput(deps.clients.s3, input);
      const plan = invocationPlan(prepared.measure, input.maxPayloadMb, input.secondsPerRecord);
      const request = transformJobRequest(input, { s3Uri: prepared.s3Uri, plan });
      const name = input.transformJobName;
      const transformInputS3Uri = prepared.s3Uri;
      const job = await createOrReattach(
        deps,
        { action: `CreateTransformJob ${name}`, what: `transform job ${name}`, workflowId: input.workflowId },
        async () => (await sm.send(new CreateTransformJobCommand(request))).TransformJobArn,
        async () => (await describe(name)).TransformJobArn,
      );
      return { transformJobArn: job.arn, reattached: job.reattached, transformInputS3Uri };
    },

    /** Polls the job until its status differs from `last` or it is terminal, heartbeating each snapshot. */
    async waitForTransformJob(input: WaitTransformJobInput): Promise<TransformJobSnapshot> {
      return waitForJobChange(deps, input, async () => toTransformSnapshot(await describe(input.transformJobName)));
    },

    /** Stops the job unless it already ended (stopSageMakerJob). */
    async stopTransformJob(input: StopTransformJobInput): Promise<StopJobOutput> {
      const name = input.transformJobName;
      return stopSageMakerJob(
        `StopTransformJob ${name}`,
        async () => (await describe(name)).TransformJobStatus,
        () => sm.send(new StopTransformJobCommand({ TransformJobName: name })),
      );
    },
  };
}
