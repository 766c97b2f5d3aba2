/**
 * The conformance cases: for each AWS operation the activities call on SageMaker, CodeBuild and SageMaker Runtime,
 * a request that AWS's API reference documents as refused (a required member left out, a value outside its
 * documented length, range, pattern or valid values), with the documentation page that says so, the error code
 * AWS answers and the member path its message names. Each operation also has a valid request, which must not be
 * refused by validation (it may still fail for a missing resource: that is not a validation error).
 */

/** One documented refusal. */
export interface RefusalCase {
  /** What is wrong, in words. */
  what: string;
  input: Record<string, unknown>;
  /** The member path AWS's message names, and the constraint it quotes. */
  path: string;
  constraint: RegExp;
}

/** One operation: its documentation page, a valid request, and requests AWS refuses. */
export interface OperationCases {
  operation: string;
  doc: string;
  valid: Record<string, unknown>;
  refused: RefusalCase[];
}

const SM = 'https://docs.aws.amazon.com/sagemaker/latest/APIReference';
const CB = 'https://docs.aws.amazon.com/codebuild/latest/APIReference';
const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:${'0'.repeat(64)}`;
const ARN = (what: string): string => `arn:aws:sagemaker:us-east-1:123456789012:${what}`;
const NOT_NULL = /^Member must not be null$/;
const PATTERN = /^Member must satisfy regular expression pattern: /;
const ENUM = /^Member must satisfy enum value set: \[/;
const max = (n: number): RegExp => new RegExp(`^Member must have length less than or equal to ${n}$`);
const minValue = (n: number): RegExp => new RegExp(`^Member must have value greater than or equal to ${n}$`);
const maxValue = (n: number): RegExp => new RegExp(`^Member must have value less than or equal to ${n}$`);
const without = (o: Record<string, unknown>, key: string): Record<string, unknown> => {
  const { [key]: _drop, ...rest } = o;
  return rest;
};

const training = {
  TrainingJobName: 'conf-train',
  RoleArn: ROLE,
  AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
  OutputDataConfig: { S3OutputPath: 's3://conf/out' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
};
const definition = {
  AlgorithmSpecification: {
    TrainingImage: IMAGE,
    TrainingInputMode: 'File',
    MetricDefinitions: [{ Name: 'validation:loss', Regex: 'val_loss=([0-9.]+)' }],
  },
  RoleArn: ROLE,
  OutputDataConfig: { S3OutputPath: 's3://conf/out' },
  ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
  StoppingCondition: { MaxRuntimeInSeconds: 3600 },
};
const tuning = {
  HyperParameterTuningJobName: 'conf-tune',
  HyperParameterTuningJobConfig: {
    Strategy: 'Random',
    HyperParameterTuningJobObjective: { Type: 'Minimize', MetricName: 'validation:loss' },
    ResourceLimits: { MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 1 },
    ParameterRanges: { ContinuousParameterRanges: [{ Name: 'lr', MinValue: '0.01', MaxValue: '0.1' }] },
  },
  TrainingJobDefinition: definition,
};
const variant = {
  VariantName: 'AllTraffic',
  ModelName: 'conf-model',
  InitialInstanceCount: 1,
  InstanceType: 'ml.m5.large',
};
const pkg = {
  ModelPackageGroupName: 'conf-group',
  InferenceSpecification: {
    Containers: [{ Image: IMAGE, ModelDataUrl: 's3://conf/model.tar.gz' }],
    SupportedContentTypes: ['application/json'],
    SupportedResponseMIMETypes: ['application/json'],
  },
  ModelApprovalStatus: 'PendingManualApproval',
};

/** SageMaker operations the activities call. */
export const SAGEMAKER: OperationCases[] = [
  {
    operation: 'CreateTrainingJob',
    doc: `${SM}/API_CreateTrainingJob.html`,
    valid: training,
    refused: [
      {
        what: 'TrainingJobName left out (Required: Yes)',
        input: without(training, 'TrainingJobName'),
        path: 'trainingJobName',
        constraint: NOT_NULL,
      },
      {
        what: 'TrainingJobName with an underscore (Pattern)',
        input: { ...training, TrainingJobName: 'a_b' },
        path: 'trainingJobName',
        constraint: PATTERN,
      },
      {
        what: 'TrainingJobName of 64 characters (Length 1-63)',
        input: { ...training, TrainingJobName: 'a'.repeat(64) },
        path: 'trainingJobName',
        constraint: max(63),
      },
      {
        what: 'a 51st tag (TagList: 0-50 items)',
        input: { ...training, Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) },
        path: 'tags',
        constraint: max(50),
      },
      {
        what: 'an instance type outside the valid values',
        input: { ...training, ResourceConfig: { ...training.ResourceConfig, InstanceType: 'ml.nope.large' } },
        path: 'resourceConfig.instanceType',
        constraint: ENUM,
      },
      {
        what: 'MaxRuntimeInSeconds of 0 (Minimum value of 1)',
        input: { ...training, StoppingCondition: { MaxRuntimeInSeconds: 0 } },
        path: 'stoppingCondition.maxRuntimeInSeconds',
        constraint: minValue(1),
      },
      {
        what: 'a hyperparameter value of 2501 characters (Maximum length of 2500)',
        input: { ...training, HyperParameters: { x: 'y'.repeat(2501) } },
        path: 'hyperParameters',
        constraint: /^Map value must satisfy constraint: \[Member must have length less than or equal to 2500/,
      },
      {
        what: 'a tag key of 129 characters',
        input: { ...training, Tags: [{ Key: 'k'.repeat(129), Value: 'v' }] },
        path: 'tags.1.member.key',
        constraint: max(128),
      },
    ],
  },
  {
    operation: 'DescribeTrainingJob',
    doc: `${SM}/API_DescribeTrainingJob.html`,
    valid: { TrainingJobName: 'conf-none' },
    refused: [{ what: 'TrainingJobName left out', input: {}, path: 'trainingJobName', constraint: NOT_NULL }],
  },
  {
    operation: 'StopTrainingJob',
    doc: `${SM}/API_StopTrainingJob.html`,
    valid: { TrainingJobName: 'conf-none' },
    refused: [
      {
        what: 'TrainingJobName with a space',
        input: { TrainingJobName: 'a b' },
        path: 'trainingJobName',
        constraint: PATTERN,
      },
    ],
  },
  {
    operation: 'CreateHyperParameterTuningJob',
    doc: `${SM}/API_CreateHyperParameterTuningJob.html`,
    valid: tuning,
    refused: [
      {
        what: 'HyperParameterTuningJobName of 33 characters (Length 1-32)',
        input: { ...tuning, HyperParameterTuningJobName: 'a'.repeat(33) },
        path: 'hyperParameterTuningJobName',
        constraint: max(32),
      },
      {
        what: 'Strategy outside the valid values',
        input: {
          ...tuning,
          HyperParameterTuningJobConfig: { ...tuning.HyperParameterTuningJobConfig, Strategy: 'Exhaustive' },
        },
        path: 'hyperParameterTuningJobConfig.strategy',
        constraint: ENUM,
      },
      {
        what: 'ResourceLimits without MaxParallelTrainingJobs (Required: Yes)',
        input: {
          ...tuning,
          HyperParameterTuningJobConfig: {
            ...tuning.HyperParameterTuningJobConfig,
            ResourceLimits: { MaxNumberOfTrainingJobs: 2 },
          },
        },
        path: 'hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs',
        constraint: NOT_NULL,
      },
      {
        what: 'a definition with 49 environment variables (API_HyperParameterTrainingJobDefinition: at most 48)',
        input: {
          ...tuning,
          TrainingJobDefinition: {
            ...definition,
            Environment: Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`VAR_${i}`, '1'])),
          },
        },
        path: 'trainingJobDefinition.environment',
        constraint: max(48),
      },
      {
        what: 'a definition without StoppingCondition (Required: Yes)',
        input: { ...tuning, TrainingJobDefinition: without(definition, 'StoppingCondition') },
        path: 'trainingJobDefinition.stoppingCondition',
        constraint: NOT_NULL,
      },
      {
        what: 'a metric definition regex of 501 characters',
        input: {
          ...tuning,
          TrainingJobDefinition: {
            ...definition,
            AlgorithmSpecification: {
              ...definition.AlgorithmSpecification,
              MetricDefinitions: [{ Name: 'm', Regex: 'r'.repeat(501) }],
            },
          },
        },
        path: 'trainingJobDefinition.algorithmSpecification.metricDefinitions.1.member.regex',
        constraint: max(500),
      },
    ],
  },
  {
    operation: 'DescribeHyperParameterTuningJob',
    doc: `${SM}/API_DescribeHyperParameterTuningJob.html`,
    valid: { HyperParameterTuningJobName: 'conf-none' },
    refused: [
      {
        what: 'a name ending in a dash',
        input: { HyperParameterTuningJobName: 'abc-' },
        path: 'hyperParameterTuningJobName',
        constraint: PATTERN,
      },
    ],
  },
  {
    operation: 'ListHyperParameterTuningJobs',
    doc: `${SM}/API_ListHyperParameterTuningJobs.html`,
    valid: { MaxResults: 100 },
    refused: [
      {
        what: 'MaxResults of 101 (Maximum value of 100)',
        input: { MaxResults: 101 },
        path: 'maxResults',
        constraint: maxValue(100),
      },
      {
        what: 'StatusEquals outside the valid values',
        input: { StatusEquals: 'Running' },
        path: 'statusEquals',
        constraint: ENUM,
      },
    ],
  },
  {
    operation: 'ListTrainingJobsForHyperParameterTuningJob',
    doc: `${SM}/API_ListTrainingJobsForHyperParameterTuningJob.html`,
    valid: { HyperParameterTuningJobName: 'conf-none' },
    refused: [
      {
        what: 'SortBy outside the valid values',
        input: { HyperParameterTuningJobName: 'x', SortBy: 'Objective' },
        path: 'sortBy',
        constraint: ENUM,
      },
      {
        what: 'MaxResults of 0 (Minimum value of 1)',
        input: { HyperParameterTuningJobName: 'x', MaxResults: 0 },
        path: 'maxResults',
        constraint: minValue(1),
      },
    ],
  },
  {
    operation: 'StopHyperParameterTuningJob',
    doc: `${SM}/API_StopHyperParameterTuningJob.html`,
    valid: { HyperParameterTuningJobName: 'conf-none' },
    refused: [
      {
        what: 'HyperParameterTuningJobName left out',
        input: {},
        path: 'hyperParameterTuningJobName',
        constraint: NOT_NULL,
      },
    ],
  },
  {
    operation: 'CreateModel',
    doc: `${SM}/API_CreateModel.html`,
    valid: {
      ModelName: 'conf-model',
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: 's3://conf/model.tar.gz' },
      ExecutionRoleArn: ROLE,
    },
    refused: [
      {
        what: 'ModelName left out',
        input: { PrimaryContainer: { Image: IMAGE } },
        path: 'modelName',
        constraint: NOT_NULL,
      },
      {
        what: 'ExecutionRoleArn that is not an IAM role ARN (Pattern)',
        input: {
          ModelName: 'm',
          PrimaryContainer: { Image: IMAGE },
          ExecutionRoleArn: 'arn:aws:iam::123456789012:user/someone-else',
        },
        path: 'executionRoleArn',
        constraint: PATTERN,
      },
      {
        what: 'ModelDataUrl that is not an S3 or HTTPS URL (Pattern)',
        input: { ModelName: 'm', PrimaryContainer: { Image: IMAGE, ModelDataUrl: 'ftp://x/y' } },
        path: 'primaryContainer.modelDataUrl',
        constraint: PATTERN,
      },
      {
        what: 'an Image with a space (Pattern [\\S]+)',
        input: { ModelName: 'm', PrimaryContainer: { Image: 'my image' } },
        path: 'primaryContainer.image',
        constraint: PATTERN,
      },
    ],
  },
  {
    operation: 'DescribeModel',
    doc: `${SM}/API_DescribeModel.html`,
    valid: { ModelName: 'conf-none' },
    refused: [
      {
        what: 'ModelName of 64 characters',
        input: { ModelName: 'm'.repeat(64) },
        path: 'modelName',
        constraint: max(63),
      },
    ],
  },
  {
    operation: 'CreateEndpointConfig',
    doc: `${SM}/API_CreateEndpointConfig.html`,
    valid: { EndpointConfigName: 'conf-config', ProductionVariants: [variant] },
    refused: [
      {
        what: 'ProductionVariants left out (Required: Yes)',
        input: { EndpointConfigName: 'c' },
        path: 'productionVariants',
        constraint: NOT_NULL,
      },
      {
        what: 'InitialInstanceCount of 0 (Minimum value of 1)',
        input: { EndpointConfigName: 'c', ProductionVariants: [{ ...variant, InitialInstanceCount: 0 }] },
        path: 'productionVariants.1.member.initialInstanceCount',
        constraint: minValue(1),
      },
      {
        what: 'a negative InitialVariantWeight (Minimum value of 0)',
        input: { EndpointConfigName: 'c', ProductionVariants: [{ ...variant, InitialVariantWeight: -1 }] },
        path: 'productionVariants.1.member.initialVariantWeight',
        constraint: minValue(0),
      },
      {
        what: 'a variant without VariantName',
        input: { EndpointConfigName: 'c', ProductionVariants: [without(variant, 'VariantName')] },
        path: 'productionVariants.1.member.variantName',
        constraint: NOT_NULL,
      },
    ],
  },
  {
    operation: 'DescribeEndpointConfig',
    doc: `${SM}/API_DescribeEndpointConfig.html`,
    valid: { EndpointConfigName: 'conf-none' },
    refused: [{ what: 'EndpointConfigName left out', input: {}, path: 'endpointConfigName', constraint: NOT_NULL }],
  },
  {
    operation: 'CreateEndpoint',
    doc: `${SM}/API_CreateEndpoint.html`,
    valid: { EndpointName: 'conf-ep', EndpointConfigName: 'conf-none' },
    refused: [
      {
        what: 'EndpointConfigName left out',
        input: { EndpointName: 'e' },
        path: 'endpointConfigName',
        constraint: NOT_NULL,
      },
      {
        what: 'EndpointName with a dot',
        input: { EndpointName: 'a.b', EndpointConfigName: 'c' },
        path: 'endpointName',
        constraint: PATTERN,
      },
    ],
  },
  {
    operation: 'DescribeEndpoint',
    doc: `${SM}/API_DescribeEndpoint.html`,
    valid: { EndpointName: 'conf-none' },
    refused: [
      {
        what: 'EndpointName of 64 characters',
        input: { EndpointName: 'e'.repeat(64) },
        path: 'endpointName',
        constraint: max(63),
      },
    ],
  },
  {
    operation: 'UpdateEndpoint',
    doc: `${SM}/API_UpdateEndpoint.html`,
    valid: { EndpointName: 'conf-none', EndpointConfigName: 'conf-none' },
    refused: [
      {
        what: 'an 11th rollback alarm (Alarms: 1-10 items)',
        input: {
          EndpointName: 'e',
          EndpointConfigName: 'c',
          DeploymentConfig: {
            AutoRollbackConfiguration: { Alarms: Array.from({ length: 11 }, (_, i) => ({ AlarmName: `a${i}` })) },
          },
        },
        path: 'deploymentConfig.autoRollbackConfiguration.alarms',
        constraint: max(10),
      },
      {
        what: 'a blank alarm name (Pattern (?!\\s*$).+)',
        input: {
          EndpointName: 'e',
          EndpointConfigName: 'c',
          DeploymentConfig: { AutoRollbackConfiguration: { Alarms: [{ AlarmName: '   ' }] } },
        },
        path: 'deploymentConfig.autoRollbackConfiguration.alarms.1.member.alarmName',
        constraint: PATTERN,
      },
      {
        what: 'a traffic routing Type outside the valid values',
        input: {
          EndpointName: 'e',
          EndpointConfigName: 'c',
          DeploymentConfig: {
            BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'HALF', WaitIntervalInSeconds: 60 } },
          },
        },
        path: 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type',
        constraint: ENUM,
      },
    ],
  },
  {
    operation: 'DeleteEndpoint',
    doc: `${SM}/API_DeleteEndpoint.html`,
    valid: { EndpointName: 'conf-none' },
    refused: [{ what: 'EndpointName left out', input: {}, path: 'endpointName', constraint: NOT_NULL }],
  },
  {
    operation: 'CreateModelPackageGroup',
    doc: `${SM}/API_CreateModelPackageGroup.html`,
    valid: { ModelPackageGroupName: 'conf-group' },
    refused: [
      {
        what: 'a description of 1025 characters (Length 0-1024)',
        input: { ModelPackageGroupName: 'g', ModelPackageGroupDescription: 'd'.repeat(1025) },
        path: 'modelPackageGroupDescription',
        constraint: max(1024),
      },
    ],
  },
  {
    operation: 'DescribeModelPackageGroup',
    doc: `${SM}/API_DescribeModelPackageGroup.html`,
    valid: { ModelPackageGroupName: 'conf-none' },
    refused: [
      { what: 'ModelPackageGroupName left out', input: {}, path: 'modelPackageGroupName', constraint: NOT_NULL },
    ],
  },
  {
    operation: 'CreateModelPackage',
    doc: `${SM}/API_CreateModelPackage.html`,
    valid: pkg,
    refused: [
      {
        what: 'ModelApprovalStatus outside the valid values',
        input: { ...pkg, ModelApprovalStatus: 'Pending' },
        path: 'modelApprovalStatus',
        constraint: ENUM,
      },
      {
        what: 'a ClientToken of 37 characters (Length 1-36)',
        input: { ...pkg, ClientToken: 'c'.repeat(37) },
        path: 'clientToken',
        constraint: max(36),
      },
      {
        what: 'an inference specification without Containers',
        input: {
          ...pkg,
          InferenceSpecification: {
            SupportedContentTypes: ['application/json'],
            SupportedResponseMIMETypes: ['application/json'],
          },
        },
        path: 'inferenceSpecification.containers',
        constraint: NOT_NULL,
      },
      {
        what: 'CustomerMetadataProperties with 51 entries (1-50)',
        input: {
          ...pkg,
          CustomerMetadataProperties: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
        },
        path: 'customerMetadataProperties',
        constraint: max(50),
      },
    ],
  },
  {
    operation: 'DescribeModelPackage',
    doc: `${SM}/API_DescribeModelPackage.html`,
    valid: { ModelPackageName: ARN('model-package/conf-group/1') },
    refused: [
      {
        what: 'ModelPackageName that is neither a name nor an ARN',
        input: { ModelPackageName: 'not a name' },
        path: 'modelPackageName',
        constraint: PATTERN,
      },
    ],
  },
  {
    operation: 'ListModelPackages',
    doc: `${SM}/API_ListModelPackages.html`,
    valid: { ModelPackageGroupName: 'conf-group', MaxResults: 100 },
    refused: [
      {
        what: 'ModelPackageType outside the valid values',
        input: { ModelPackageType: 'All' },
        path: 'modelPackageType',
        constraint: ENUM,
      },
      { what: 'SortOrder outside the valid values', input: { SortOrder: 'Down' }, path: 'sortOrder', constraint: ENUM },
    ],
  },
  {
    operation: 'UpdateModelPackage',
    doc: `${SM}/API_UpdateModelPackage.html`,
    valid: { ModelPackageArn: ARN('model-package/conf-group/1'), ModelApprovalStatus: 'Approved' },
    refused: [
      {
        what: 'ModelPackageArn left out',
        input: { ModelApprovalStatus: 'Approved' },
        path: 'modelPackageArn',
        constraint: NOT_NULL,
      },
      {
        what: 'ModelPackageArn of a group, not a package (Pattern)',
        input: { ModelPackageArn: ARN('model-package-group/g') },
        path: 'modelPackageArn',
        constraint: PATTERN,
      },
      {
        what: 'an ApprovalDescription of 1025 characters',
        input: { ModelPackageArn: ARN('model-package/g/1'), ApprovalDescription: 'd'.repeat(1025) },
        path: 'approvalDescription',
        constraint: max(1024),
      },
    ],
  },
  {
    operation: 'AddTags',
    doc: `${SM}/API_AddTags.html`,
    valid: { ResourceArn: ARN('model/conf-none'), Tags: [{ Key: 'k', Value: 'v' }] },
    refused: [
      {
        what: 'Tags left out (Required: Yes)',
        input: { ResourceArn: ARN('model/m') },
        path: 'tags',
        constraint: NOT_NULL,
      },
      {
        what: 'a ResourceArn of another service (Pattern)',
        input: { ResourceArn: 'arn:aws:s3:::bucket', Tags: [] },
        path: 'resourceArn',
        constraint: PATTERN,
      },
      {
        what: 'a tag value with a character outside the pattern',
        input: { ResourceArn: ARN('model/m'), Tags: [{ Key: 'k', Value: 'a|b' }] },
        path: 'tags.1.member.value',
        constraint: PATTERN,
      },
    ],
  },
  {
    operation: 'ListTags',
    doc: `${SM}/API_ListTags.html`,
    valid: { ResourceArn: ARN('model/conf-none'), MaxResults: 100 },
    refused: [
      {
        what: 'MaxResults of 10 (Minimum value of 50)',
        input: { ResourceArn: ARN('model/m'), MaxResults: 10 },
        path: 'maxResults',
        constraint: minValue(50),
      },
    ],
  },
];

const project = {
  name: 'conf-project',
  source: { type: 'S3', location: 'conf/source.zip' },
  artifacts: { type: 'NO_ARTIFACTS' },
  environment: {
    type: 'LINUX_CONTAINER',
    image: 'aws/codebuild/standard:7.0',
    computeType: 'BUILD_GENERAL1_SMALL',
    privilegedMode: true,
  },
  serviceRole: 'arn:aws:iam::123456789012:role/CodeBuildRole',
};

/** CodeBuild operations the activities call. */
export const CODEBUILD: OperationCases[] = [
  {
    operation: 'CreateProject',
    doc: `${CB}/API_CreateProject.html`,
    valid: project,
    refused: [
      {
        what: 'serviceRole left out (Required: Yes)',
        input: without(project, 'serviceRole'),
        path: 'serviceRole',
        constraint: NOT_NULL,
      },
      {
        what: 'a name starting with a dash (Pattern)',
        input: { ...project, name: '-x' },
        path: 'name',
        constraint: PATTERN,
      },
      {
        what: 'a timeout of 4 minutes (5-2160)',
        input: { ...project, timeoutInMinutes: 4 },
        path: 'timeoutInMinutes',
        constraint: minValue(5),
      },
      {
        what: 'a compute type outside the valid values',
        input: { ...project, environment: { ...project.environment, computeType: 'HUGE' } },
        path: 'environment.computeType',
        constraint: ENUM,
      },
    ],
  },
  {
    operation: 'UpdateProject',
    doc: `${CB}/API_UpdateProject.html`,
    valid: { name: 'conf-none', description: 'd' },
    refused: [
      { what: 'name left out', input: { description: 'd' }, path: 'name', constraint: NOT_NULL },
      {
        what: 'a description of 256 characters (0-255)',
        input: { name: 'p', description: 'd'.repeat(256) },
        path: 'description',
        constraint: max(255),
      },
    ],
  },
  {
    operation: 'StartBuild',
    doc: `${CB}/API_StartBuild.html`,
    valid: { projectName: 'conf-none', sourceTypeOverride: 'S3', sourceLocationOverride: 'conf/source.zip' },
    refused: [
      { what: 'projectName left out', input: {}, path: 'projectName', constraint: NOT_NULL },
      {
        what: 'an environment variable without a value',
        input: { projectName: 'p', environmentVariablesOverride: [{ name: 'A' }] },
        path: 'environmentVariablesOverride.1.member.value',
        constraint: NOT_NULL,
      },
      {
        what: 'a timeout override of 2161 minutes (5-2160)',
        input: { projectName: 'p', timeoutInMinutesOverride: 2161 },
        path: 'timeoutInMinutesOverride',
        constraint: maxValue(2160),
      },
    ],
  },
  {
    operation: 'BatchGetBuilds',
    doc: `${CB}/API_BatchGetBuilds.html`,
    valid: { ids: ['conf-none:1'] },
    refused: [
      {
        what: 'an empty list of ids (1-100 items)',
        input: { ids: [] },
        path: 'ids',
        constraint: /^Member must have length greater than or equal to 1$/,
      },
    ],
  },
  {
    operation: 'ListBuildsForProject',
    doc: `${CB}/API_ListBuildsForProject.html`,
    valid: { projectName: 'conf-none' },
    refused: [
      {
        what: 'sortOrder outside the valid values',
        input: { projectName: 'p', sortOrder: 'NEWEST' },
        path: 'sortOrder',
        constraint: ENUM,
      },
    ],
  },
  {
    operation: 'StopBuild',
    doc: `${CB}/API_StopBuild.html`,
    valid: { id: 'conf-none:1' },
    refused: [
      {
        what: 'an empty id (Minimum length of 1)',
        input: { id: '' },
        path: 'id',
        constraint: /^Member must have length greater than or equal to 1$/,
      },
    ],
  },
];
