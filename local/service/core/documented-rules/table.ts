/**
 * The rules AWS documents that its service models cannot express, each with the page it comes from. The local
 * service runs every request rule before the operation (see `enforceDocumentedRules`) and imitates every behaviour
 * rule where `enforcedBy` says. docs/local-mode-fidelity.md lists these rules by id; a unit test
 * keeps the two in step.
 */
import { registerVariantTarget } from './autoscaling';
import { blueGreenStepSize } from './blue-green';
import { listBuildsSortOrder } from './codebuild';
import { dashboardBody, dashboardName } from './dashboards';
import {
  autoscaledVariantUpdate,
  deleteEndpointState,
  stopTrainingJobState,
  stopTuningJobState,
  updateEndpointState,
} from './lifecycle';
import { modelEnvironmentSize } from './model-environment';
import { metadataLimits, noTagsOnVersion, noTagsWithGroup } from './model-registry';
import { processingLocalPaths, processingUniqueNames, stopProcessingJobState } from './processing';
import type { DocumentedRule } from './rule';
import { receiveMessageRanges } from './sqs';
import { reservedTagPrefix, tagLimit, uniqueTagKeys } from './tags';
import { transformPayloadLimits } from './transform';
import { hyperbandWithoutEarlyStopping, reverseLogarithmicRange, tuningHyperparameterCounts } from './tuning-ranges';
import { warmStartRules } from './warm-start';

/** SageMaker operations the local service serves that take a `Tags` list. */
export const TAGGED_OPERATIONS = [
  'AddTags',
  'CreateTrainingJob',
  'CreateHyperParameterTuningJob',
  'CreateModel',
  'CreateEndpointConfig',
  'CreateEndpoint',
  'CreateModelPackageGroup',
  'CreateModelPackage',
  'CreateProcessingJob',
  'CreateTransformJob',
] as const;

const SAGEMAKER_API = 'https://docs.aws.amazon.com/sagemaker/latest/APIReference';
const SAGEMAKER_GUIDE = 'https://docs.aws.amazon.com/sagemaker/latest/dg';
const AUTOSCALING_API = 'https://docs.aws.amazon.com/autoscaling/application/APIReference';
const CODEBUILD_API = 'https://docs.aws.amazon.com/codebuild/latest/APIReference';

/** Every documented rule, request checks first. */
export const DOCUMENTED_RULES: readonly DocumentedRule[] = [
  {
    id: 'tags.unique-keys',
    service: 'SageMaker',
    operations: TAGGED_OPERATIONS,
    statement:
      'Tag keys must be unique per resource: a request that names one key twice is refused ("Duplicate tag key").',
    source: `${SAGEMAKER_API}/API_Tag.html`,
    check: uniqueTagKeys,
  },
  {
    id: 'tags.limits',
    service: 'SageMaker',
    operations: TAGGED_OPERATIONS,
    statement:
      'At most 50 tags per resource (in one request, and in all after AddTags); keys of 1-128 and values of 0-256 characters of letters, digits, spaces and _.:/=+-@.',
    source: 'https://docs.aws.amazon.com/general/latest/gr/aws_tagging.html',
    check: tagLimit,
  },
  {
    id: 'tags.reserved-prefix',
    service: 'SageMaker',
    operations: TAGGED_OPERATIONS,
    statement: 'Tag keys starting with "aws:" are reserved for AWS use.',
    source: 'https://docs.aws.amazon.com/general/latest/gr/aws_tagging.html',
    check: reservedTagPrefix,
  },
  {
    id: 'model-package.no-tags-with-group',
    service: 'SageMaker',
    operations: ['CreateModelPackage'],
    statement:
      'A model package version created in a group (ModelPackageGroupName) uses the tags of the group: Tags cannot be supplied with it.',
    source: `${SAGEMAKER_API}/API_CreateModelPackage.html`,
    check: noTagsWithGroup,
  },
  {
    id: 'model-package.version-tags',
    service: 'SageMaker',
    operations: ['AddTags'],
    statement:
      'A model package version takes no tags of its own (it uses the tags of its group): AddTags on a versioned model package ARN is refused with "Tags are not supported in Model Package versions. Please add them to the Model Package Group".',
    source: 'https://github.com/aws/aws-cdk/issues/33699',
    check: noTagsOnVersion,
  },
  {
    id: 'model-package.metadata-limits',
    service: 'SageMaker',
    operations: ['CreateModelPackage', 'UpdateModelPackage'],
    statement:
      'CustomerMetadataProperties holds 1-50 entries (keys 1-128, values 1-256 characters); an update may not take a version past 50.',
    source: `${SAGEMAKER_API}/API_CreateModelPackage.html`,
    check: metadataLimits,
  },
  {
    id: 'training-job.stop-state',
    service: 'SageMaker',
    operations: ['StopTrainingJob'],
    statement: 'Only an InProgress training job can be stopped; a Completed, Failed or Stopped one is refused.',
    source: `${SAGEMAKER_API}/API_StopTrainingJob.html`,
    check: stopTrainingJobState,
  },
  {
    id: 'processing-job.local-paths',
    service: 'SageMaker',
    operations: ['CreateProcessingJob'],
    statement:
      'Every S3Input and S3Output LocalPath is an absolute path that begins with /opt/ml/processing/; it is required unless the input or output is AppManaged.',
    source: `${SAGEMAKER_API}/API_ProcessingS3Input.html`,
    check: processingLocalPaths,
  },
  {
    id: 'processing-job.unique-names',
    service: 'SageMaker',
    operations: ['CreateProcessingJob'],
    statement:
      'Input names are unique among the inputs and output names among the outputs; no two inputs (or outputs) share a LocalPath (a ValidationException, as AWS Support answered in the public report).',
    source: 'https://github.com/aws/sagemaker-python-sdk/issues/4939',
    check: processingUniqueNames,
  },
  {
    id: 'processing-job.stop-state',
    service: 'SageMaker',
    operations: ['StopProcessingJob'],
    statement: 'Only an InProgress processing job can be stopped; a Completed, Failed or Stopped one is refused.',
    source: `${SAGEMAKER_API}/API_StopProcessingJob.html`,
    check: stopProcessingJobState,
  },
  {
    id: 'transform-job.payload-limits',
    service: 'SageMaker',
    operations: ['CreateTransformJob'],
    statement:
      'MaxPayloadInMB cannot be greater than 100 MB, and MaxConcurrentTransforms * MaxPayloadInMB cannot exceed 100 MB.',
    source: `${SAGEMAKER_API}/API_CreateTransformJob.html`,
    check: transformPayloadLimits,
  },
  {
    id: 'tuning-job.stop-state',
    service: 'SageMaker',
    operations: ['StopHyperParameterTuningJob'],
    statement: 'Only an InProgress hyperparameter tuning job can be stopped.',
    source: `${SAGEMAKER_API}/API_StopHyperParameterTuningJob.html`,
    check: stopTuningJobState,
  },
  {
    id: 'endpoint.update-state',
    service: 'SageMaker',
    operations: ['UpdateEndpoint', 'UpdateEndpointWeightsAndCapacities'],
    statement:
      'An endpoint is updated only when InService; while it is Creating, Updating, SystemUpdating or RollingBack SageMaker answers "Cannot update in-progress endpoint".',
    source: `${SAGEMAKER_API}/API_UpdateEndpoint.html`,
    check: updateEndpointState,
  },
  {
    id: 'endpoint.delete-in-progress',
    service: 'SageMaker',
    operations: ['DeleteEndpoint'],
    statement:
      'DeleteEndpoint is refused while the endpoint is Creating (or another operation is in progress) with "Cannot update in-progress endpoint"; it can be deleted once InService or Failed.',
    source: 'https://github.com/aws/amazon-sagemaker-examples/issues/3432',
    check: deleteEndpointState,
  },
  {
    id: 'endpoint.autoscaled-variant-update',
    service: 'SageMaker',
    operations: ['UpdateEndpoint'],
    statement:
      'An update that changes the instance type of a variant registered for auto scaling, or removes it, fails: deregister the scalable target first (changing only the model is allowed).',
    source: `${SAGEMAKER_GUIDE}/endpoint-scaling.html`,
    check: autoscaledVariantUpdate,
  },
  {
    id: 'tuning-job.warm-start-parent',
    service: 'SageMaker',
    operations: ['CreateHyperParameterTuningJob'],
    statement:
      'A warm start parent must exist and be Completed, Stopped or Failed, with the same objective metric and the same number of static plus tunable hyperparameters, none changing type; IdenticalDataAndAlgorithm keeps the training image and input data of its parents (at most 5 parents: the model says so too).',
    source: `${SAGEMAKER_GUIDE}/automatic-model-tuning-warm-start.html`,
    check: warmStartRules,
  },
  {
    id: 'autoscaling.register-variant',
    service: 'AnyScaleFrontendService',
    operations: ['RegisterScalableTarget'],
    statement:
      'A SageMaker variant must be deployed before it is registered; a new scalable target needs MinCapacity (at least 1) and MaxCapacity (at least MinCapacity).',
    source: `${SAGEMAKER_GUIDE}/endpoint-auto-scaling-prerequisites.html`,
    check: registerVariantTarget,
  },
  // Added with the constraint inventory (inventory.ts): documented rules the pipeline's own calls could break.
  {
    id: 'tuning-job.hyperparameter-counts',
    service: 'SageMaker',
    operations: ['CreateHyperParameterTuningJob'],
    statement:
      'At most 30 tunable ranges in all (the per-kind maximum is also the total), and at most 100 hyperparameters in all: static plus tunable, counting the _tuning_objective_metric SageMaker adds.',
    source: `${SAGEMAKER_API}/API_ParameterRanges.html`,
    check: tuningHyperparameterCounts,
  },
  {
    id: 'tuning-job.reverse-logarithmic-range',
    service: 'SageMaker',
    operations: ['CreateHyperParameterTuningJob'],
    statement: 'Reverse logarithmic scaling works only for continuous ranges that are entirely within 0 <= x < 1.0.',
    source: `${SAGEMAKER_API}/API_ContinuousParameterRange.html`,
    check: reverseLogarithmicRange,
  },
  {
    id: 'tuning-job.hyperband-early-stopping',
    service: 'SageMaker',
    operations: ['CreateHyperParameterTuningJob'],
    statement: 'TrainingJobEarlyStoppingType must be Off to use the Hyperband strategy.',
    source: `${SAGEMAKER_API}/API_HyperParameterTuningJobConfig.html`,
    check: hyperbandWithoutEarlyStopping,
  },
  {
    id: 'endpoint.blue-green-step-size',
    service: 'SageMaker',
    operations: ['UpdateEndpoint'],
    statement:
      "A CANARY's CanarySize must be at most 50% of the variant's total instance count, a LINEAR's LinearStepSize 10-50% of it.",
    source: `${SAGEMAKER_API}/API_TrafficRoutingConfig.html`,
    check: blueGreenStepSize,
  },
  {
    id: 'codebuild.list-builds-sort-order',
    service: 'CodeBuild_20161006',
    operations: ['ListBuildsForProject'],
    statement: 'If the project has more than 100 builds, setting the sort order results in an error.',
    source: `${CODEBUILD_API}/API_ListBuildsForProject.html`,
    check: listBuildsSortOrder,
  },
  {
    id: 'model.environment-size',
    service: 'SageMaker',
    operations: ['CreateModel'],
    statement:
      'The keys and values of a container Environment map, combined, are at most 32 KB; with several containers, all their maps combined too.',
    source: `${SAGEMAKER_API}/API_ContainerDefinition.html`,
    check: modelEnvironmentSize,
  },
  // End of the rules added with the constraint inventory.
  {
    id: 'autoscaling.register-brings-capacity-into-range',
    service: 'AnyScaleFrontendService',
    operations: ['RegisterScalableTarget'],
    statement:
      "Registering (or updating) a target moves an active resource's current capacity into [MinCapacity, MaxCapacity]; that is a scaling activity.",
    source: `${AUTOSCALING_API}/API_RegisterScalableTarget.html`,
    enforcedBy: 'local/service/application-autoscaling/scalable-targets.ts ScalableTargets.register',
  },
  {
    id: 'autoscaling.eventual-consistency',
    service: 'AnyScaleFrontendService',
    operations: ['PutScalingPolicy', 'DescribeScalableTargets'],
    statement:
      'A scalable target just registered may not be visible yet: calls that depend on it can answer ObjectNotFoundException (and describes leave it out) for a short while; retry.',
    source: `${AUTOSCALING_API}/API_RegisterScalableTarget.html`,
    enforcedBy: 'local/service/application-autoscaling/scalable-targets.ts ScalableTargets.visible',
  },
  {
    id: 'autoscaling.concurrent-update',
    service: 'AnyScaleFrontendService',
    operations: ['RegisterScalableTarget', 'DeregisterScalableTarget', 'PutScalingPolicy', 'DeleteScalingPolicy'],
    statement:
      'An update to a scalable target that already has a pending update (a scaling activity in progress) fails with ConcurrentUpdateException.',
    source: `${AUTOSCALING_API}/API_RegisterScalableTarget.html`,
    enforcedBy: 'local/service/application-autoscaling/scalable-targets.ts ScalableTargets.assertNoPendingUpdate',
  },
  {
    id: 'autoscaling.scaling-updates-endpoint',
    service: 'SageMaker',
    operations: ['UpdateEndpointWeightsAndCapacities', 'DescribeEndpoint'],
    statement:
      'A capacity change (UpdateEndpointWeightsAndCapacities, which Application Auto Scaling calls for a scaling activity) sets the endpoint to Updating, then back to InService; auto scaling waits while another update is in progress.',
    source: `${SAGEMAKER_API}/API_UpdateEndpointWeightsAndCapacities.html`,
    enforcedBy: 'local/service/sagemaker/endpoints.ts Endpoints.setVariantCapacity',
  },
  {
    id: 'autoscaling.target-tracking',
    service: 'AnyScaleFrontendService',
    operations: ['PutScalingPolicy'],
    statement:
      'A target-tracking policy on SageMakerVariantInvocationsPerInstance adds instances when the per-instance invocations stay above the target and removes them (down to MinCapacity, also with no traffic) when they stay below it, after the cooldowns.',
    source: `${SAGEMAKER_GUIDE}/endpoint-auto-scaling-prerequisites.html`,
    enforcedBy: 'local/service/application-autoscaling/target-tracking.ts TargetTracking.evaluate',
  },
  {
    id: 'autoscaling.delete-endpoint-deregisters',
    service: 'SageMaker',
    operations: ['DeleteEndpoint'],
    statement: "Deleting an endpoint deregisters its variants' scalable targets.",
    source: `${SAGEMAKER_GUIDE}/endpoint-scaling.html`,
    enforcedBy: 'local/service/application-autoscaling/scalable-targets.ts ScalableTargets.endpointDeleted',
  },
  {
    id: 'cloudwatch.dashboard-name',
    service: 'CloudWatch',
    operations: ['PutDashboard'],
    statement:
      'A dashboard name has at most 255 characters, each of A-Z, a-z, 0-9, "-" and "_" (refused with InvalidParameterInput).',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html',
    check: dashboardName,
  },
  {
    id: 'cloudwatch.dashboard-body',
    service: 'CloudWatch',
    operations: ['PutDashboard'],
    statement:
      'A dashboard body is a JSON object whose widgets lie on the 24-column grid: x 0-23, width 1-24, height 1-1000 (refused with InvalidParameterInput).',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html',
    check: dashboardBody,
  },
  {
    id: 'sqs.receive-message-ranges',
    service: 'SQS',
    operations: ['ReceiveMessage'],
    statement:
      'ReceiveMessage returns 1 to 10 messages (MaxNumberOfMessages), long-polls at most 20 s (WaitTimeSeconds 0-20) and hides what it returns for 0 to 43,200 s (VisibilityTimeout); a value outside is refused with InvalidParameterValue.',
    source: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html',
    check: receiveMessageRanges,
  },
  {
    id: 'cloudwatch.sub-minute-period',
    service: 'CloudWatch',
    operations: ['PutMetricAlarm'],
    statement:
      'SageMaker publishes endpoint metrics once a minute; an alarm with a Period of 10, 20 or 30 s on them gets data only for the periods that hold a minute boundary and is otherwise missing data (INSUFFICIENT_DATA, or its TreatMissingData).',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
    enforcedBy: 'local/service/sagemaker/endpoint-metrics.ts alarmFires',
  },
  {
    id: 'training-job.capacity-error',
    service: 'SageMaker',
    operations: ['CreateTrainingJob'],
    statement:
      'Without capacity for the instance type, a job waits in Starting ("Insufficient capacity error from EC2 while launching instances, retrying!") and then fails with "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type."',
    source: `${SAGEMAKER_API}/API_SecondaryStatusTransition.html`,
    enforcedBy: 'local/service/sagemaker/jobs/training/training.ts Training.launch (LOCAL_FAULTS capacity:<share>)',
  },
  {
    id: 'account.instance-quotas',
    service: 'SageMaker',
    operations: ['CreateTrainingJob', 'CreateProcessingJob', 'CreateTransformJob'],
    statement:
      "A create whose instances would take the account's usage of the instance type above its quota (one per type for training, processing and transform job usage) is refused with ResourceLimitExceeded: \"The account-level service limit '<type> for training job usage' is <limit> Instances, with current utilization of <in use> Instances and a request delta of <asked> Instances.\"",
    source: `${SAGEMAKER_GUIDE}/notebook-auto-run-troubleshoot.html`,
    enforcedBy:
      'local/service/core/quotas.ts checkInstanceQuota, from Training.create, Processing.create and Transform.create (LOCAL_QUOTAS)',
  },
  {
    id: 'training-job.retry-strategy',
    service: 'SageMaker',
    operations: ['CreateTrainingJob', 'CreateHyperParameterTuningJob'],
    statement:
      'With RetryStrategy, a job that fails for an internal reason is started again up to MaximumRetryAttempts times (1-30), its SecondaryStatus back at Starting; StoppingCondition bounds the whole job.',
    source: `${SAGEMAKER_API}/API_RetryStrategy.html`,
    enforcedBy: 'local/service/sagemaker/jobs/training/training.ts Training.finish',
  },
];
