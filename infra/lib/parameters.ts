/**
 * The stack's CloudFormation parameters: every name, the existing VPC, the worker's Temporal connection and its
 * secrets. One parameter per logical ID, so the policies' Fn::Sub strings (infra/iam-roles.ts) can name them.
 */
import { CfnCondition, CfnParameter, Fn, type Stack } from 'aws-cdk-lib';
import { PIPELINE_ROLES } from '../iam-roles';

/** The retention values CloudWatch Logs accepts (PutRetentionPolicy's `retentionInDays`). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** The parameters, by role in the stack. */
export interface StackParameters {
  bucketName: CfnParameter;
  repositoryName: CfnParameter;
  roleNames: Record<string, CfnParameter>;
  pipelineName: CfnParameter;
  checkpointRetentionDays: CfnParameter;
  buildContextRetentionDays: CfnParameter;
  logRetentionDays: CfnParameter;
  createJobLogGroups: CfnCondition;
  vpcId: CfnParameter;
  subnetIds: CfnParameter;
  assignPublicIp: CfnParameter;
  workerImageRepository: CfnParameter;
  workerImageTag: CfnParameter;
  workerDesiredCount: CfnParameter;
  temporalAddress: CfnParameter;
  temporalNamespace: CfnParameter;
  temporalTaskQueue: CfnParameter;
  workerDeploymentName: CfnParameter;
  temporalApiKeySecretArn: CfnParameter;
  payloadKeySecretArn: CfnParameter;
  payloadKeyId: CfnParameter;
  hasTemporalApiKey: CfnCondition;
  hasPayloadKey: CfnCondition;
}

const BUCKET_NAME = {
  allowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  constraintDescription: 'an S3 bucket name',
};
const SECRET_ARN = {
  default: '',
  // An ARN is no secret, but cfn-lint takes parameters named like this for passwords (W2509).
  noEcho: true,
  allowedPattern: '^$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:.+$',
  constraintDescription: 'empty, or the full ARN of a Secrets Manager secret',
};

/** Declares the parameters on `stack`. */
export function declareParameters(stack: Stack): StackParameters {
  const p = (id: string, props: ConstructorParameters<typeof CfnParameter>[2]) => new CfnParameter(stack, id, props);
  const roleNames: Record<string, CfnParameter> = {};
  for (const r of PIPELINE_ROLES)
    roleNames[r.nameParameter] = p(r.nameParameter, {
      type: 'String',
      default: r.defaultName,
      allowedPattern: '^[\\w+=,.@-]{1,64}$',
      description: `Name of the role: ${r.description}`,
    });
  // Parameters the policies of iam/ reference by name but the stack does not otherwise use.
  p('DatasetBucketName', {
    type: 'String',
    ...BUCKET_NAME,
    description: 'The bucket the training data is synced from (the worker may list it and read DatasetPrefix)',
  });
  p('DatasetPrefix', {
    type: 'String',
    default: 'lm/',
    allowedPattern: '^$|^[^*?]*/$',
    constraintDescription: 'empty (the whole bucket) or a key prefix ending in /',
    description: 'Key prefix of the dataset in DatasetBucketName',
  });
  const apiKey = p('TemporalApiKeySecretArn', {
    type: 'String',
    ...SECRET_ARN,
    description: 'Secret holding the Temporal API key (TEMPORAL_API_KEY; Temporal Cloud). Empty: no API key',
  });
  const payloadKey = p('PayloadKeySecretArn', {
    type: 'String',
    ...SECRET_ARN,
    description: 'Secret holding the payload-encryption key (PAYLOAD_ENCRYPTION_KEY, base64 of 32 bytes). Empty: off',
  });
  const createJobLogGroups = p('CreateJobLogGroups', {
    type: 'String',
    default: 'true',
    allowedValues: ['true', 'false'],
    description:
      'Create the SageMaker and CodeBuild log groups with LogRetentionDays (false when the account already has them)',
  });
  return {
    bucketName: p('BucketName', {
      type: 'String',
      ...BUCKET_NAME,
      description: "The pipeline bucket (the spec's bucket)",
    }),
    repositoryName: p('RepositoryName', {
      type: 'String',
      default: 'jax-lm',
      allowedPattern: '^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$',
      description: "The ECR repository of the training image (the spec's image.repository)",
    }),
    roleNames,
    pipelineName: p('PipelineName', {
      type: 'String',
      default: 'lm-migration',
      allowedPattern: '^[a-zA-Z0-9-]{1,63}$',
      description: "The spec's pipelineName: its checkpoints and build contexts live under pipelines/<name>/",
    }),
    checkpointRetentionDays: p('CheckpointRetentionDays', {
      type: 'Number',
      default: 30,
      // A training job runs at most 28 days (MaxRuntimeInSeconds): its first checkpoints must outlive it.
      minValue: 29,
      description: 'Days a training checkpoint is kept (pipelines/<PipelineName>/checkpoints/); at least 29',
    }),
    buildContextRetentionDays: p('BuildContextRetentionDays', {
      type: 'Number',
      default: 7,
      minValue: 1,
      description: 'Days an uploaded build context is kept (pipelines/<PipelineName>/build-contexts/)',
    }),
    logRetentionDays: p('LogRetentionDays', {
      type: 'Number',
      default: '90',
      allowedValues: LOG_RETENTION_DAYS.map(String),
      description: "Retention of the worker's, SageMaker's and CodeBuild's log groups",
    }),
    createJobLogGroups: new CfnCondition(stack, 'CreateJobLogGroupsCondition', {
      expression: Fn.conditionEquals(createJobLogGroups.valueAsString, 'true'),
    }),
    vpcId: p('VpcId', { type: 'AWS::EC2::VPC::Id', description: 'An existing VPC for the worker tasks' }),
    subnetIds: p('SubnetIds', {
      type: 'List<AWS::EC2::Subnet::Id>',
      description: 'Subnets of VpcId for the worker tasks (with a route to Temporal and the AWS APIs)',
    }),
    assignPublicIp: p('AssignPublicIp', {
      type: 'String',
      default: 'DISABLED',
      allowedValues: ['ENABLED', 'DISABLED'],
      description: 'ENABLED only for public subnets without a NAT gateway',
    }),
    workerImageRepository: p('WorkerImageRepository', {
      type: 'String',
      default: 'sagemaker-pipeline-worker',
      description: 'ECR repository (this account and region) of the worker image',
    }),
    workerImageTag: p('WorkerImageTag', { type: 'String', description: 'Tag of the worker image to run' }),
    workerDesiredCount: p('WorkerDesiredCount', {
      type: 'Number',
      default: 1,
      minValue: 0,
      description: 'Worker tasks to run (one task carries 1,000 waiting pipelines)',
    }),
    temporalAddress: p('TemporalAddress', {
      type: 'String',
      allowedPattern: '^[^\\s:]+:\\d+$',
      constraintDescription: 'host:port',
      description: 'Temporal frontend, host:port (TEMPORAL_ADDRESS)',
    }),
    temporalNamespace: p('TemporalNamespace', {
      type: 'String',
      allowedPattern: '^\\S+$',
      description: 'Temporal namespace (TEMPORAL_NAMESPACE)',
    }),
    temporalTaskQueue: p('TemporalTaskQueue', {
      type: 'String',
      default: 'sagemaker-pipeline',
      description: 'Task queue (TEMPORAL_TASK_QUEUE)',
    }),
    workerDeploymentName: p('WorkerDeploymentName', {
      type: 'String',
      default: 'sagemaker-pipeline',
      allowedPattern: '^[A-Za-z0-9_.-]{1,200}$',
      description: 'Worker Versioning deployment (TEMPORAL_WORKER_DEPLOYMENT)',
    }),
    temporalApiKeySecretArn: apiKey,
    payloadKeySecretArn: payloadKey,
    payloadKeyId: p('PayloadKeyId', {
      type: 'String',
      default: 'key-1',
      description: 'ID of the payload-encryption key (PAYLOAD_ENCRYPTION_KEY_ID)',
    }),
    hasTemporalApiKey: new CfnCondition(stack, 'HasTemporalApiKey', {
      expression: Fn.conditionNot(Fn.conditionEquals(apiKey.valueAsString, '')),
    }),
    hasPayloadKey: new CfnCondition(stack, 'HasPayloadKey', {
      expression: Fn.conditionNot(Fn.conditionEquals(payloadKey.valueAsString, '')),
    }),
  };
}
