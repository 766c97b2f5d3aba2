/**
 * Where the pipeline keeps things: the pipeline bucket (and the bucket of its access logs), the training image's
 * ECR repository, and the SageMaker and CodeBuild log groups with a retention. Prefixes follow
 * contracts/pipeline-plan.ts and workflows/build-image.ts: `pipelines/<pipelineName>/checkpoints/` and
 * `pipelines/<pipelineName>/build-contexts/`.
 */
import { Duration, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { StackParameters } from './parameters';

/** The log groups SageMaker writes the pipeline's jobs to (activities read them for failure diagnostics). */
export const SAGEMAKER_JOB_LOG_GROUPS = [
  '/aws/sagemaker/TrainingJobs',
  '/aws/sagemaker/ProcessingJobs',
  '/aws/sagemaker/TransformJobs',
];

/** The pipeline bucket: SSE-S3, versioned, private, TLS only, with lifecycle rules for what piles up. */
export function pipelineBucket(scope: Construct, params: StackParameters): s3.Bucket {
  const prefix = (what: string) => Fn.join('', ['pipelines/', params.pipelineName.valueAsString, `/${what}/`]);
  const days = (p: { valueAsNumber: number }) => Duration.days(Token.asNumber(p.valueAsNumber));
  const accessLogs = new s3.Bucket(scope, 'AccessLogsBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
  });
  return new s3.Bucket(scope, 'PipelineBucket', {
    bucketName: params.bucketName.valueAsString,
    // SSE-S3, not a KMS key: the roles of iam/ would otherwise need kms:Decrypt/GenerateDataKey on it.
    encryption: s3.BucketEncryption.S3_MANAGED,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'pipeline-bucket/',
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [
      {
        id: 'expire-checkpoints',
        prefix: prefix('checkpoints'),
        expiration: days(params.checkpointRetentionDays),
        noncurrentVersionExpiration: Duration.days(1),
      },
      {
        id: 'expire-build-contexts',
        prefix: prefix('build-contexts'),
        expiration: days(params.buildContextRetentionDays),
        noncurrentVersionExpiration: Duration.days(1),
      },
      // Versioning keeps what a run overwrites or deletes; a month is enough to recover from a mistake.
      {
        id: 'expire-noncurrent-versions',
        noncurrentVersionExpiration: Duration.days(30),
        expiredObjectDeleteMarker: true,
      },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
  });
}

/** The training image's repository: scanned on push; untagged images expire, tagged ones are kept. */
export function imageRepository(scope: Construct, params: StackParameters): ecr.Repository {
  return new ecr.Repository(scope, 'ImageRepository', {
    repositoryName: params.repositoryName.valueAsString,
    imageScanOnPush: true,
    // The pipeline tags one manifest twice (source hash, then release tag): tags must stay movable.
    imageTagMutability: ecr.TagMutability.MUTABLE,
    encryption: ecr.RepositoryEncryption.AES_256,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [
      {
        rulePriority: 1,
        description: 'untagged images (superseded pushes)',
        tagStatus: ecr.TagStatus.UNTAGGED,
        maxImageAge: Duration.days(14),
      },
    ],
  });
}

/** The log groups of SageMaker's jobs and of the image build, with a retention (condition: CreateJobLogGroups). */
export function jobLogGroups(scope: Construct, params: StackParameters): logs.CfnLogGroup[] {
  const names = [
    ...SAGEMAKER_JOB_LOG_GROUPS,
    // contracts/names.ts codeBuildProjectName: `<pipelineName>-image-build`.
    Fn.join('', ['/aws/codebuild/', params.pipelineName.valueAsString, '-image-build']),
  ];
  const ids = ['TrainingJobsLogGroup', 'ProcessingJobsLogGroup', 'TransformJobsLogGroup', 'ImageBuildLogGroup'];
  return names.map((logGroupName, i) => {
    const g = new logs.CfnLogGroup(scope, ids[i] as string, {
      logGroupName,
      retentionInDays: Token.asNumber(params.logRetentionDays.valueAsNumber),
    });
    g.cfnOptions.condition = params.createJobLogGroups;
    g.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return g;
  });
}
