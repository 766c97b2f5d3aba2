/**
 * The constraint inventory: for every AWS operation the worker calls (each `new XCommand(` in activities/*.ts and in
 * the event relay, worker/event-relay.ts),
 * the constraints its API reference page (and the developer guide page it points to) documents beyond what AWS's
 * published model encodes, and where local mode imitates each one: a documented rule (table.ts, by id) or another
 * named place (the model-gate-backed handlers, the IAM enforcer, moto for the services it serves), or why it does
 * not. Required members, lengths, ranges, patterns and enums are the model's and are counted mechanically by
 * `test/conformance/constraint-inventory.test.ts`, which also keeps this file in step with the activities and the
 * table and prints the counts.
 *
 * Scope: constraints on members and features the activities never send (S3 directory buckets, Outposts and access
 * points, SSE-C and KMS keys, cross-account and cross-Region use, serverless and asynchronous endpoints, shadow
 * variants, Marketplace algorithms) are left out: no call the pipeline makes can break them.
 */

/** Where local mode imitates a constraint, or why it does not. */
export type Imitation =
  /** By a documented rule of table.ts. */
  | { status: 'imitated'; rule: string }
  /** By another named place: `<repo path> <symbol>`, or `moto: <path under site-packages> <symbol>`. */
  | { status: 'imitated'; where: string }
  | { status: 'not-imitated'; reason: string };

/** One documented constraint of one operation. */
export type DocumentedConstraint = {
  /** The constraint in one line, as the page states it. */
  constraint: string;
  /** The page that states it. */
  source: string;
} & Imitation;

/** One operation the activities call. */
export interface OperationInventory {
  /** botocore's service name (`sagemaker`, `s3`, …). */
  service: string;
  operation: string;
  /** The operation's API reference page. */
  page: string;
  /** Empty when the page documents nothing beyond the model that a call of the activities could meet. */
  constraints: DocumentedConstraint[];
}

const PAGES: Record<string, string> = {
  'application-autoscaling': 'https://docs.aws.amazon.com/autoscaling/application/APIReference',
  cloudwatch: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference',
  codebuild: 'https://docs.aws.amazon.com/codebuild/latest/APIReference',
  ecr: 'https://docs.aws.amazon.com/AmazonECR/latest/APIReference',
  iam: 'https://docs.aws.amazon.com/IAM/latest/APIReference',
  logs: 'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference',
  s3: 'https://docs.aws.amazon.com/AmazonS3/latest/API',
  sagemaker: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference',
  'service-quotas': 'https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference',
  sqs: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference',
  sts: 'https://docs.aws.amazon.com/STS/latest/APIReference',
};
const SM_GUIDE = 'https://docs.aws.amazon.com/sagemaker/latest/dg';
const S3_GUIDE = 'https://docs.aws.amazon.com/AmazonS3/latest/userguide';
const QUOTAS = 'https://docs.aws.amazon.com/general/latest/gr/sagemaker.html';
const TAGGING = 'https://docs.aws.amazon.com/general/latest/gr/aws_tagging.html';

/** The API reference page of an operation. */
export function apiPage(service: string, operation: string): string {
  return `${PAGES[service] as string}/API_${operation}.html`;
}

const rule = (id: string): Imitation => ({ status: 'imitated', rule: id });
const at = (where: string): Imitation => ({ status: 'imitated', where });
const not = (reason: string): Imitation => ({ status: 'not-imitated', reason });

function op(
  service: string,
  operation: string,
  constraints: [constraint: string, how: Imitation, source?: string][] = [],
): OperationInventory {
  const page = apiPage(service, operation);
  return {
    service,
    operation,
    page,
    constraints: constraints.map(([constraint, how, source]) => ({ constraint, source: source ?? page, ...how })),
  };
}

const AAS_TARGETS = 'local/service/application-autoscaling/scalable-targets.ts';
const IAM_CHECKS = 'local/service/iam/request-checks.ts checksFor (the authorizations AWS adds to a request)';
const ONE_REGION = 'local mode is one account in one Region (us-east-1): nothing can be elsewhere';
const CB = 'local/service/codebuild/codebuild.ts CodeBuild.handlers';
const MOTO_S3 = 'moto: moto/s3/models.py';
const MOTO_ECR = 'moto: moto/ecr/models.py';
const MOTO_LOGS = 'moto: moto/logs/models.py';
const MOTO_SQS = 'moto: moto/sqs/models.py';
const SQS_GUIDE = 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide';
const SM_TAG_RULES: [string, Imitation, string?][] = [
  [
    'Tag keys are unique per resource ("Duplicate tag key").',
    rule('tags.unique-keys'),
    apiPage('sagemaker', 'AddTags'),
  ],
  [
    'At most 50 tags per resource; keys 1-128 and values 0-256 characters of the tag character set.',
    rule('tags.limits'),
    TAGGING,
  ],
  ['Tag keys starting with "aws:" are reserved for AWS use.', rule('tags.reserved-prefix'), TAGGING],
];

/** Every operation the activities and the event relay call, with its documented constraints. */
export const CONSTRAINT_INVENTORY: readonly OperationInventory[] = [
  // Application Auto Scaling (served by the local service).
  op('application-autoscaling', 'DeleteScalingPolicy', [
    ['The policy must exist (ObjectNotFoundException).', at(`${AAS_TARGETS} ScalableTargets.deletePolicy`)],
    [
      'A scalable target with a pending update answers ConcurrentUpdateException.',
      rule('autoscaling.concurrent-update'),
    ],
  ]),
  op('application-autoscaling', 'DeregisterScalableTarget', [
    ['The target must be registered (ObjectNotFoundException).', at(`${AAS_TARGETS} ScalableTargets.deregister`)],
    [
      'Deregistering a scalable target deletes the scaling policies associated with it.',
      at(`${AAS_TARGETS} ScalableTargets.deregister`),
    ],
    [
      'A scalable target with a pending update answers ConcurrentUpdateException.',
      rule('autoscaling.concurrent-update'),
    ],
  ]),
  op('application-autoscaling', 'DescribeScalableTargets', [
    [
      'If you specify a scalable dimension, you must also specify a resource ID.',
      not('the activities always send both (activities/autoscaling.ts)'),
    ],
    [
      'A target just registered may be missing from the answer for a short while (eventual consistency).',
      rule('autoscaling.eventual-consistency'),
    ],
  ]),
  op('application-autoscaling', 'DescribeScalingPolicies', [
    [
      'If you specify a scalable dimension, you must also specify a resource ID.',
      not('the activities always send both (activities/autoscaling.ts)'),
    ],
  ]),
  op('application-autoscaling', 'PutScalingPolicy', [
    [
      'You cannot create a scaling policy until the resource is registered as a scalable target.',
      at(`${AAS_TARGETS} ScalableTargets.putPolicy`),
    ],
    [
      'TargetTrackingScalingPolicyConfiguration is required when the policy type is TargetTrackingScaling.',
      at(`${AAS_TARGETS} ScalableTargets.putPolicy`),
    ],
    [
      'PredictiveScaling is supported only for Amazon ECS.',
      not('the activities create TargetTrackingScaling policies only'),
    ],
    [
      'A scalable target with a pending update answers ConcurrentUpdateException.',
      rule('autoscaling.concurrent-update'),
    ],
    [
      'A target just registered may not be found yet (ObjectNotFoundException): retry.',
      rule('autoscaling.eventual-consistency'),
    ],
    [
      'Target tracking on SageMakerVariantInvocationsPerInstance scales out above the target and in below it, after the cooldowns.',
      rule('autoscaling.target-tracking'),
      `${SM_GUIDE}/endpoint-auto-scaling-prerequisites.html`,
    ],
  ]),
  op('application-autoscaling', 'RegisterScalableTarget', [
    [
      'A new scalable target needs MinCapacity and MaxCapacity; a minimum below what the resource accepts is an error.',
      rule('autoscaling.register-variant'),
    ],
    [
      'A SageMaker variant must be deployed before it is registered.',
      rule('autoscaling.register-variant'),
      `${SM_GUIDE}/endpoint-auto-scaling-prerequisites.html`,
    ],
    [
      "Registering moves the resource's current capacity into [MinCapacity, MaxCapacity].",
      rule('autoscaling.register-brings-capacity-into-range'),
    ],
    [
      'A scalable target with a pending update answers ConcurrentUpdateException.',
      rule('autoscaling.concurrent-update'),
    ],
    [
      'Scaling a SageMaker variant uses the service-linked role and needs sagemaker:DescribeEndpoint and sagemaker:UpdateEndpointWeightsAndCapacities.',
      at(IAM_CHECKS),
      `${SM_GUIDE}/endpoint-auto-scaling-prerequisites.html`,
    ],
    [
      'A capacity change sets the endpoint to Updating, then InService.',
      rule('autoscaling.scaling-updates-endpoint'),
      apiPage('sagemaker', 'UpdateEndpointWeightsAndCapacities'),
    ],
    ['At most one tag per key on a scalable target.', not('the activities register targets without tags')],
  ]),

  // CloudWatch (served by moto behind the IAM gateway).
  op('cloudwatch', 'DescribeAlarmHistory', [
    [
      'History of composite alarms needs the permission scoped to *.',
      not('the activities read the history of metric alarms only'),
    ],
  ]),
  op('cloudwatch', 'DeleteDashboards', [
    [
      'A dashboard that does not exist is answered with DashboardNotFoundError (ResourceNotFound).',
      at('moto: moto/cloudwatch/models.py CloudWatchBackend.delete_dashboards'),
    ],
    ['At most 100 dashboards per call.', not('the activities delete one dashboard per call')],
  ]),
  op('cloudwatch', 'DescribeAlarms'),
  op('cloudwatch', 'PutDashboard', [
    ['DashboardName: at most 255 characters of A-Z, a-z, 0-9, "-" and "_".', rule('cloudwatch.dashboard-name')],
    [
      'DashboardBody: a JSON object whose widgets lie on the 24-column grid (x 0-23, width 1-24, height 1-1000).',
      rule('cloudwatch.dashboard-body'),
      'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html',
    ],
    ['Tags apply only when the dashboard is created; an update ignores them.', not('the activities send no Tags')],
  ]),
  op('cloudwatch', 'PutMetricAlarm', [
    [
      'Period is 10, 20, 30 or a multiple of 60.',
      not('moto does not check it; the activities send whole minutes (activities/alarms.ts rollbackAlarmRequests)'),
    ],
    [
      'Period x EvaluationPeriods is at most 604,800 s, and at most 86,400 s for periods under an hour.',
      not('moto does not check it; the activities send EvaluationPeriods 1 with periods up to 3600 s'),
    ],
    [
      'With MetricName, exactly one of Statistic and ExtendedStatistic.',
      not('moto does not check it; the activities send Statistic only'),
    ],
    [
      'Exactly one of MetricName, Metrics and EvaluationCriteria.',
      not('moto does not check it; the activities send MetricName only'),
    ],
    [
      'Threshold is required for static-threshold alarms.',
      not('moto does not check it; the activities always send Threshold'),
    ],
    ['Tags on a new alarm need cloudwatch:TagResource as well.', at(IAM_CHECKS)],
    [
      'A 10, 20 or 30 s period on a one-minute metric gets data only for periods holding a minute boundary.',
      rule('cloudwatch.sub-minute-period'),
    ],
    ['A request carries at most 120 KB.', not('the activities send alarms of well under 2 KB')],
  ]),
  op('cloudwatch', 'SetAlarmState', [
    [
      'The alarm returns to its actual state at its next evaluation.',
      not(
        'moto does not evaluate alarms, so a state set stays until set again; the activity repeats the call every poll, which works either way',
      ),
    ],
  ]),

  // CodeBuild (served by the local service).
  op('codebuild', 'BatchGetBuilds'),
  op('codebuild', 'CreateProject', [
    ['A project name is unique (ResourceAlreadyExistsException).', at(CB)],
    ['The service role must exist and trust CodeBuild.', at('local/service/iam/on-behalf.ts assertAssumable')],
    [
      'New builds are throttled while concurrentBuildLimit builds run.',
      not('the activities set no concurrentBuildLimit'),
    ],
  ]),
  op('codebuild', 'ListBuildsForProject', [
    [
      'If the project has more than 100 builds, setting the sort order results in an error.',
      rule('codebuild.list-builds-sort-order'),
    ],
    ['The project must exist (ResourceNotFoundException).', at(CB)],
  ]),
  op('codebuild', 'StartBuild', [
    ['The project must exist (ResourceNotFoundException).', at(CB)],
    [
      'The same idempotencyToken with a changed parameter is a parameter mismatch error.',
      not(
        'a token is derived from the workflow and image tag with the same parameters (activities/codebuild.ts buildIdempotencyToken)',
      ),
    ],
    [
      'Without a buildspec override the source must hold a buildspec file in its root.',
      not('the activities name buildspec.yml, which every build context holds (activities/codebuild.ts)'),
    ],
    [
      'A private registry build image needs SERVICE_ROLE pull credentials.',
      not(
        'local CodeBuild never pulls the build image; the activities send CODEBUILD credentials, right for the default curated image (a private image.codeBuild.image would need SERVICE_ROLE)',
      ),
    ],
  ]),
  op('codebuild', 'StopBuild', [['The build must exist (ResourceNotFoundException).', at(CB)]]),
  op('codebuild', 'UpdateProject', [['The project must exist (ResourceNotFoundException).', at(CB)]]),

  // ECR (served by moto behind the IAM gateway).
  op('ecr', 'BatchGetImage'),
  op('ecr', 'CreateRepository', [
    ['A repository name is unique (RepositoryAlreadyExistsException).', at(`${MOTO_ECR} ECRBackend.create_repository`)],
  ]),
  op('ecr', 'DescribeImageScanFindings', [
    [
      'An image that was never scanned answers ScanNotFoundException.',
      at(`${MOTO_ECR} ECRBackend.describe_image_scan_findings`),
    ],
  ]),
  op('ecr', 'DescribeImages', [
    ['maxResults and nextToken cannot be used with imageIds.', not('the activities ask by imageIds without paging')],
    ['An image that does not exist answers ImageNotFoundException.', at(`${MOTO_ECR} ECRBackend.describe_images`)],
  ]),
  op('ecr', 'DescribeRepositories', [
    [
      'maxResults and nextToken cannot be used with repositoryNames.',
      not('the activities ask by repositoryNames without paging'),
    ],
  ]),
  op('ecr', 'GetRepositoryPolicy', [
    [
      'A repository without a policy answers RepositoryPolicyNotFoundException.',
      at(`${MOTO_ECR} ECRBackend.get_repository_policy`),
    ],
  ]),
  op('ecr', 'PutImage', [
    [
      'A manifest without a mediaType field needs imageManifestMediaType.',
      not('the activities send the manifest and media type BatchGetImage returned (activities/ecr.ts)'),
    ],
    [
      'Pushing an unchanged manifest and tag again answers ImageAlreadyExistsException.',
      at(`${MOTO_ECR} ECRBackend.put_image`),
    ],
  ]),
  op('ecr', 'PutImageScanningConfiguration'),
  op('ecr', 'SetRepositoryPolicy', [
    [
      'A policy that would prevent setting another one later needs force.',
      not('moto does not evaluate repository policies; ours only lets SageMaker pull'),
    ],
  ]),
  op('ecr', 'StartImageScan', [
    [
      'A basic scan can be started once per 24 hours per image, including the scan on push (LimitExceededException).',
      at(`${MOTO_ECR} ECRBackend.start_image_scan (per calendar day, not 24 hours)`),
    ],
  ]),

  // CloudWatch Logs (served by moto behind the IAM gateway).
  // IAM: the preflight's reads. Local mode answers the roles it enforces itself (iam-api.ts); other roles go to moto.
  op('iam', 'GetRole', [
    [
      'An unknown role answers NoSuchEntity.',
      at('local/service/iam/iam-api.ts LocalIamApi (its roles), moto for the rest'),
    ],
    [
      "The role's AssumeRolePolicyDocument comes back URL-encoded (RFC 3986).",
      at('local/service/iam/iam-api.ts getRole'),
    ],
  ]),
  op('iam', 'SimulatePrincipalPolicy', [
    [
      'The simulated entity (PolicySourceArn) must exist: NoSuchEntity otherwise.',
      at('local/service/iam/iam-api.ts simulate'),
    ],
    [
      "The simulation evaluates the entity's own policies with the given context and performs no operation.",
      at('local/service/iam/iam-api.ts simulate (the evaluator that enforces every call, authorizer.ts)'),
    ],
    [
      'Context keys the policies need but the request omits are listed in MissingContextValues.',
      not(
        'local mode lists none; a missing key fails its condition (implicitDeny), which the preflight reports as a problem either way',
      ),
      apiPage('iam', 'EvaluationResult'),
    ],
    [
      'Results beyond MaxItems are paginated (IsTruncated, Marker).',
      not('the activities simulate one action on one resource per call: one result'),
    ],
  ]),

  op('logs', 'DescribeLogStreams', [
    [
      'orderBy LastEventTime cannot be combined with logStreamNamePrefix.',
      at(`${MOTO_LOGS} LogsBackend.describe_log_streams`),
    ],
    ['Exactly one of logGroupName and logGroupIdentifier.', not('the activities send logGroupName only')],
    [
      'At most 25 transactions per second, then throttled.',
      not('moto does not throttle; the activities read logs only when a job fails'),
    ],
  ]),
  op('logs', 'GetLogEvents', [
    ['Exactly one of logGroupName and logGroupIdentifier.', not('the activities send logGroupName only')],
    [
      'A page holds up to 1 MB or 10,000 events and may be partly full or empty before the end.',
      not('moto returns full pages; the activities read the tail of a stream, one page'),
    ],
  ]),

  // S3 (served by moto behind the IAM gateway).
  op('s3', 'AbortMultipartUpload', [
    ['An unknown upload answers NoSuchUpload.', at(`${MOTO_S3} S3Backend.abort_multipart_upload`)],
  ]),
  op('s3', 'CompleteMultipartUpload', [
    ['Each part is at least 5 MB except the last (EntityTooSmall).', at(`${MOTO_S3} FakeMultipart.complete`)],
    [
      'Parts are listed in ascending part-number order (InvalidPartOrder); every listed part must exist (InvalidPart).',
      at(`${MOTO_S3} FakeMultipart.complete`),
    ],
    [
      'A request can fail after the 200 OK, with the error in the body.',
      not('moto answers an error with its own status; the SDK handles both forms'),
    ],
  ]),
  op('s3', 'CopyObject', [
    [
      'A single copy is at most 5 GB; larger objects are copied with UploadPartCopy.',
      not(
        'moto does not limit it; the activities copy objects above the multipart threshold (at most 5120 MiB) part by part',
      ),
    ],
    ['Copying an object onto itself without changing its metadata is refused.', at(`${MOTO_S3} S3Backend.copy_object`)],
  ]),
  op('s3', 'CreateMultipartUpload', [
    [
      'An upload has at most 10,000 parts of at most 5 GB.',
      not(
        'moto does not limit parts; the activities size parts for at most 10,000 (activities/s3-sync.ts partSizeFor)',
      ),
      `${S3_GUIDE}/qfacts.html`,
    ],
  ]),
  op('s3', 'GetBucketLocation', [
    ['An unknown bucket answers NoSuchBucket.', at(`${MOTO_S3} S3Backend.get_bucket_location`)],
    [
      'A bucket in us-east-1 has no LocationConstraint (null).',
      at('moto: moto/s3/responses.py S3Response.get_bucket_location'),
    ],
    [
      "Outside the bucket's home Region the bucket policy does not apply (cross-account calls are not authorized).",
      not(ONE_REGION),
    ],
  ]),
  op('s3', 'GetObject', [
    [
      'A missing key answers NoSuchKey (404) to a caller with s3:ListBucket.',
      at('moto: moto/s3/responses.py S3Response._get_key'),
    ],
    [
      'A missing key answers 403 to a caller without s3:ListBucket.',
      not(
        'local mode answers 404 whenever the caller may read the key; our policies grant s3:ListBucket on every bucket the pipeline reads, so AWS answers 404 too',
      ),
    ],
  ]),
  op('s3', 'HeadObject', [
    [
      'A missing key answers 404 with s3:ListBucket, 403 without it.',
      not(
        'local mode answers 404 whenever the caller may read the key; our policies grant s3:ListBucket on every bucket the pipeline reads, so AWS answers 404 too',
      ),
    ],
  ]),
  op('s3', 'ListObjectsV2', [
    ['At most 1,000 keys per page, then a continuation token.', at(`${MOTO_S3} S3Backend.list_objects_v2`)],
  ]),
  op('s3', 'PutObject', [
    [
      'A single PUT is at most 5 GB.',
      not('moto does not limit it; the activities PUT build contexts, evaluation files and small documents only'),
    ],
  ]),
  op('s3', 'UploadPartCopy', [
    [
      'A byte range can be copied only from a source larger than 5 MB.',
      not(
        'moto does not check it; the activities copy ranges only of objects above the multipart threshold, at least 5 MiB',
      ),
    ],
    ['The upload must exist (NoSuchUpload).', at(`${MOTO_S3} S3Backend.upload_part_copy`)],
    ['Source and destination buckets are in the same Region.', not(ONE_REGION)],
  ]),

  // SageMaker (served by the local service).
  op('sagemaker', 'AddTags', [
    ...SM_TAG_RULES,
    [
      'Tags are not supported on model package versions: tag the model package group.',
      rule('model-package.version-tags'),
      apiPage('sagemaker', 'CreateModelPackage'),
    ],
    [
      'Tags added to a tuning job reach only the training jobs it launches afterwards.',
      not('the activities never tag a tuning job after creating it'),
    ],
  ]),
  op('sagemaker', 'CreateEndpoint', [
    [
      'The endpoint name is unique in the account and Region.',
      at('local/service/sagemaker/endpoints.ts Endpoints.create'),
    ],
    [
      'The name is case-insensitive in CreateEndpoint.',
      not('names are compared as sent; the pipeline always uses the one spelling its spec gives'),
    ],
    ['The endpoint config must exist.', at('local/service/sagemaker/models.ts Models.config')],
    [
      'Do not delete an EndpointConfig in use by a live endpoint or during CreateEndpoint or UpdateEndpoint.',
      not('the activities never delete endpoint configs'),
    ],
    [
      'The endpoint is Creating, then InService (or Failed).',
      at('local/service/sagemaker/endpoints.ts Endpoints.create'),
    ],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateEndpointConfig', [
    ['The config name is unique in the account and Region.', at('local/service/sagemaker/models.ts Models.handlers')],
    ['Every production variant names an existing model.', at('local/service/sagemaker/models.ts Models.handlers')],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateHyperParameterTuningJob', [
    ['The name is unique in the account and Region.', at('local/service/sagemaker/tuning.ts Tuning.create')],
    [
      'At most 30 tunable ranges in all: the per-kind maximum is also the total.',
      rule('tuning-job.hyperparameter-counts'),
      apiPage('sagemaker', 'ParameterRanges'),
    ],
    [
      'At most 100 hyperparameters in all (static plus tunable), counting the _tuning_objective_metric SageMaker adds.',
      rule('tuning-job.hyperparameter-counts'),
      `${SM_GUIDE}/automatic-model-tuning-define-ranges.html`,
    ],
    [
      'Logarithmic scaling works only for ranges of values greater than 0.',
      at('local/service/sagemaker/tuning-strategy.ts validateRanges'),
      apiPage('sagemaker', 'ContinuousParameterRange'),
    ],
    [
      'Reverse logarithmic scaling works only for ranges entirely within 0 <= x < 1.0.',
      rule('tuning-job.reverse-logarithmic-range'),
      apiPage('sagemaker', 'ContinuousParameterRange'),
    ],
    [
      'TrainingJobEarlyStoppingType must be Off to use Hyperband.',
      rule('tuning-job.hyperband-early-stopping'),
      apiPage('sagemaker', 'HyperParameterTuningJobConfig'),
    ],
    [
      'Warm start: at most 5 parents, each existing and Completed, Stopped or Failed; the same objective metric and number of static plus tunable hyperparameters, none changing type; IdenticalDataAndAlgorithm keeps image and data.',
      rule('tuning-job.warm-start-parent'),
      `${SM_GUIDE}/automatic-model-tuning-warm-start.html`,
    ],
    [
      'Quotas: training jobs per tuning job and concurrent training jobs per tuning job (ResourceLimitExceeded).',
      at('local/service/sagemaker/tuning.ts Tuning.create'),
      QUOTAS,
    ],
    [
      'RetryStrategy starts a trial again after an internal error, up to MaximumRetryAttempts.',
      rule('training-job.retry-strategy'),
      apiPage('sagemaker', 'RetryStrategy'),
    ],
    [
      'The caller needs iam:PassRole on the role.',
      at(IAM_CHECKS),
      apiPage('sagemaker', 'HyperParameterTrainingJobDefinition'),
    ],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateModel', [
    ['The model name is unique in the account and Region.', at('local/service/sagemaker/models.ts Models.handlers')],
    ['The caller needs iam:PassRole on the execution role.', at(IAM_CHECKS)],
    [
      'The execution role gives SageMaker access to the model artifacts and the image.',
      at('local/service/sagemaker/models.ts Models.checkRoleCanUse'),
    ],
    [
      'The keys and values of the Environment maps, combined, are at most 32 KB.',
      rule('model.environment-size'),
      apiPage('sagemaker', 'ContainerDefinition'),
    ],
    [
      'ModelDataUrl points to a single gzip-compressed tar archive (.tar.gz).',
      not(
        'the fleet copies a non-archive as it is (local/service/sagemaker/fleet.ts fetchModel); the pipeline always deploys the model.tar.gz its training job wrote',
      ),
      apiPage('sagemaker', 'ContainerDefinition'),
    ],
    [
      'The image and the model artifacts are in the Region of the model.',
      not(ONE_REGION),
      apiPage('sagemaker', 'ContainerDefinition'),
    ],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateModelPackage', [
    [
      'A version in a group uses the tags of the group: Tags cannot be supplied with ModelPackageGroupName.',
      rule('model-package.no-tags-with-group'),
    ],
    [
      'CustomerMetadataProperties: 1-50 entries of keys 1-128 and values 1-256 characters.',
      rule('model-package.metadata-limits'),
    ],
    ['The model package group must exist.', at('local/service/sagemaker/model-registry.ts Registry.group')],
    ['A ClientToken makes the call idempotent.', at('local/service/sagemaker/model-registry.ts Registry.handlers')],
    [
      'A versioned model must be Approved to be deployed.',
      not(
        'the pipeline deploys its image and model data with CreateModel, not the package, and gates on approval itself',
      ),
    ],
  ]),
  op('sagemaker', 'CreateModelPackageGroup', [
    [
      'The group name is unique in the account and Region.',
      at('local/service/sagemaker/model-registry.ts Registry.handlers'),
    ],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateProcessingJob', [
    [
      "Instances of a type beyond the account's quota for processing job usage are refused (ResourceLimitExceeded).",
      rule('account.instance-quotas'),
      QUOTAS,
    ],
    [
      'The name is unique in the account and Region.',
      at('local/service/sagemaker/jobs/processing/processing.ts Processing.create'),
    ],
    [
      'Every S3 LocalPath is an absolute path under /opt/ml/processing/.',
      rule('processing-job.local-paths'),
      apiPage('sagemaker', 'ProcessingS3Input'),
    ],
    [
      'VolumeSizeInGB cannot exceed the local instance storage of instance types that have it.',
      not('local mode does not model instance storage; the spec sizes the volume (activities/processing.ts)'),
      apiPage('sagemaker', 'ProcessingClusterConfig'),
    ],
    [
      'Input and output names, and their local paths, are unique.',
      rule('processing-job.unique-names'),
      'https://github.com/aws/sagemaker-python-sdk/issues/4939',
    ],
    ['The caller needs iam:PassRole on the role.', at(IAM_CHECKS)],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateTrainingJob', [
    [
      "Instances of a type beyond the account's quota for training job usage are refused (ResourceLimitExceeded).",
      rule('account.instance-quotas'),
      QUOTAS,
    ],
    [
      'The name is unique in the account and Region.',
      at('local/service/sagemaker/jobs/training/training.ts Training.create'),
    ],
    [
      'MaxRuntimeInSeconds is at most 28 days.',
      at('local/service/sagemaker/jobs/training/training-request.ts parseStoppingCondition'),
      apiPage('sagemaker', 'StoppingCondition'),
    ],
    [
      'With managed spot, MaxWaitTimeInSeconds is given and at least MaxRuntimeInSeconds.',
      at('local/service/sagemaker/jobs/training/training-request.ts parseStoppingCondition'),
      apiPage('sagemaker', 'StoppingCondition'),
    ],
    ['Input data is in the same Region as the job.', not(ONE_REGION)],
    [
      'Every object an input S3Uri points to must be readable by the role (otherwise "Data download failed").',
      at('local/service/sagemaker/jobs/training/training-run.ts TrainingRun.run'),
      apiPage('sagemaker', 'S3DataSource'),
    ],
    ['The caller needs iam:PassRole on the role.', at(IAM_CHECKS)],
    [
      'Without capacity the job waits in Starting and then fails with CapacityError.',
      rule('training-job.capacity-error'),
      apiPage('sagemaker', 'SecondaryStatusTransition'),
    ],
    [
      'RetryStrategy starts the job again after an internal error, up to MaximumRetryAttempts.',
      rule('training-job.retry-strategy'),
      apiPage('sagemaker', 'RetryStrategy'),
    ],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'CreateTransformJob', [
    [
      "Instances of a type beyond the account's quota for transform job usage are refused (ResourceLimitExceeded).",
      rule('account.instance-quotas'),
      QUOTAS,
    ],
    [
      'The name is unique in the account and Region.',
      at('local/service/sagemaker/jobs/transform/transform.ts Transforms.create'),
    ],
    [
      'ModelName is an existing model in the account and Region.',
      at('local/service/sagemaker/jobs/transform/transform.ts Transforms.create'),
    ],
    [
      'MaxPayloadInMB at most 100, and MaxConcurrentTransforms x MaxPayloadInMB at most 100.',
      rule('transform-job.payload-limits'),
    ],
    [
      'MaxPayloadInMB is at least the size of a single record (otherwise the job fails).',
      at('local/service/sagemaker/jobs/transform/transform-run.ts miniBatches'),
    ],
    [
      'An invocation times out after InvocationsTimeoutInSeconds (600) and is retried InvocationsMaxRetries (3) times.',
      at('local/service/sagemaker/jobs/transform/transform-run.ts'),
      apiPage('sagemaker', 'ModelClientConfig'),
    ],
    [
      'The input objects must be readable by the role SageMaker uses.',
      at('local/service/sagemaker/jobs/transform/transform-run.ts TransformRun.transformObject'),
      apiPage('sagemaker', 'TransformS3DataSource'),
    ],
    [
      'An input object gets its .out output only if the whole object is transformed.',
      at('local/service/sagemaker/jobs/transform/transform-run.ts TransformRun.transformObject'),
      apiPage('sagemaker', 'TransformOutput'),
    ],
    [
      'BatchStrategy needs SplitType Line, RecordIO or TFRecord.',
      not('the activities always send SplitType Line with MultiRecord (activities/transform.ts)'),
    ],
    ...SM_TAG_RULES,
  ]),
  op('sagemaker', 'DeleteEndpoint', [
    [
      'Refused while the endpoint is Creating or another operation on it is in progress.',
      rule('endpoint.delete-in-progress'),
      'https://github.com/aws/amazon-sagemaker-examples/issues/3432',
    ],
    [
      "Deleting an endpoint deregisters its variants' scalable targets.",
      rule('autoscaling.delete-endpoint-deregisters'),
      `${SM_GUIDE}/endpoint-scaling.html`,
    ],
    [
      'Keep the execution role permissions, or SageMaker cannot delete the resources.',
      not('roles cannot change while local mode runs'),
    ],
  ]),
  op('sagemaker', 'DeleteModel', [
    [
      'Deletes only the model entry: artifacts, image and role stay.',
      at('local/service/sagemaker/models.ts Models.handlers'),
    ],
  ]),
  op('sagemaker', 'DeleteTags', [
    [
      'Tags deleted from a tuning job stay on the training jobs it launched before.',
      not('the activities delete tags of endpoints only (activities/hosting.ts)'),
    ],
  ]),
  op('sagemaker', 'DescribeEndpoint', [
    [
      'A capacity change shows the endpoint Updating, then InService.',
      rule('autoscaling.scaling-updates-endpoint'),
      apiPage('sagemaker', 'UpdateEndpointWeightsAndCapacities'),
    ],
  ]),
  op('sagemaker', 'DescribeEndpointConfig'),
  op('sagemaker', 'DescribeHyperParameterTuningJob'),
  op('sagemaker', 'DescribeModel'),
  op('sagemaker', 'DescribeModelPackage'),
  op('sagemaker', 'DescribeModelPackageGroup'),
  op('sagemaker', 'DescribeProcessingJob'),
  op('sagemaker', 'DescribeTrainingJob'),
  op('sagemaker', 'DescribeTransformJob'),
  op('sagemaker', 'ListHyperParameterTuningJobs'),
  op('sagemaker', 'ListModelPackages'),
  op('sagemaker', 'ListTags'),
  op('sagemaker', 'ListTrainingJobsForHyperParameterTuningJob'),
  op('sagemaker', 'StopHyperParameterTuningJob', [
    ['Only an InProgress tuning job can be stopped.', rule('tuning-job.stop-state')],
    [
      'Stopping a tuning job stops all running training jobs it launched.',
      at('local/service/sagemaker/tuning.ts Tuning.stopTrial'),
    ],
  ]),
  op('sagemaker', 'StopProcessingJob', [
    ['Only an InProgress processing job can be stopped.', rule('processing-job.stop-state')],
  ]),
  op('sagemaker', 'StopTrainingJob', [
    ['Only an InProgress training job can be stopped.', rule('training-job.stop-state')],
    [
      'SageMaker sends SIGTERM and ends the job 120 s later; the status goes Stopping, then Stopped.',
      at('local/service/sagemaker/jobs/training/training-run.ts TrainingRun.stop'),
    ],
  ]),
  op('sagemaker', 'StopTransformJob', [
    [
      'The status goes Stopping, then Stopped.',
      at('local/service/sagemaker/jobs/transform/transform.ts Transforms.stop'),
    ],
  ]),
  op('sagemaker', 'UpdateEndpoint', [
    [
      'An endpoint is updated only when InService ("Cannot update in-progress endpoint").',
      rule('endpoint.update-state'),
    ],
    [
      "Changing an autoscaled variant's instance type, or removing it, fails until its scalable target is deregistered.",
      rule('endpoint.autoscaled-variant-update'),
      `${SM_GUIDE}/endpoint-scaling.html`,
    ],
    [
      "CanarySize is at most 50% of the variant's instances, LinearStepSize 10-50%.",
      rule('endpoint.blue-green-step-size'),
      apiPage('sagemaker', 'TrafficRoutingConfig'),
    ],
    [
      'To update an endpoint, create a new EndpointConfig.',
      not('the activities create a new config for every deployment (activities/hosting.ts)'),
    ],
    [
      'MaximumExecutionTimeoutInSeconds should exceed the termination wait plus the wait intervals.',
      not("stated as advice ('should'); AWS documents no refusal to imitate"),
      apiPage('sagemaker', 'BlueGreenUpdatePolicy'),
    ],
  ]),
  op('sagemaker', 'UpdateModelPackage', [
    [
      'CustomerMetadataProperties: at most 50 entries after the update merges new ones in.',
      rule('model-package.metadata-limits'),
      apiPage('sagemaker', 'CreateModelPackage'),
    ],
    ['At most 15 additional inference specifications in all.', not('the activities add no inference specifications')],
  ]),

  // Service Quotas (served by the local service: service-quotas/, SageMaker's instance quotas only).
  op('service-quotas', 'GetServiceQuota', [
    [
      'An unknown service or quota code answers NoSuchResourceException.',
      at('local/service/service-quotas/service-quotas.ts ServiceQuotas'),
    ],
  ]),
  op('service-quotas', 'ListServiceQuotas', [
    [
      'An unknown service answers NoSuchResourceException; an invalid NextToken InvalidPaginationTokenException.',
      at('local/service/service-quotas/service-quotas.ts ServiceQuotas'),
    ],
    [
      'A page may hold fewer than MaxResults while more remain: only a missing NextToken ends the list.',
      not('local pages are full; the activity follows NextToken until it is absent, whatever a page holds'),
    ],
  ]),

  // SQS: the event relay's calls (worker/event-relay.ts; served by moto behind the IAM gateway).
  op('sqs', 'DeleteMessage', [
    [
      'The receipt handle must be one the queue gave out (ReceiptHandleIsInvalid).',
      at(`${MOTO_SQS} Queue.delete_message`),
    ],
    [
      'A receipt handle from an earlier receive of the message is accepted but might not delete it.',
      not('the relay deletes with the handle of the receive it has just made'),
    ],
    [
      'A standard queue can, rarely, return a message after it was deleted: consumers must be idempotent.',
      not(
        'moto never returns a deleted message; the events chaos campaign duplicates events instead (LOCAL_EVENT_FAULTS duplicate=P), which the relay and the steps absorb',
      ),
    ],
  ]),
  op('sqs', 'ReceiveMessage', [
    ['MaxNumberOfMessages is 1 to 10.', rule('sqs.receive-message-ranges')],
    [
      'WaitTimeSeconds is 0 to 20: the longest long poll is 20 seconds.',
      rule('sqs.receive-message-ranges'),
      `${SQS_GUIDE}/best-practices-setting-up-long-polling.html`,
    ],
    [
      'VisibilityTimeout is 0 to 43,200 seconds (12 hours).',
      rule('sqs.receive-message-ranges'),
      apiPage('sqs', 'ChangeMessageVisibility'),
    ],
    [
      'The queue must exist (QueueDoesNotExist); queue URLs and names are case-sensitive.',
      at(`${MOTO_SQS} SQSBackend.get_queue`),
    ],
    [
      "A message received and not deleted within its visibility timeout is received again; after the redrive policy's maxReceiveCount it moves to the dead-letter queue.",
      at(`${MOTO_SQS} SQSBackend.receive_message`),
    ],
    [
      'A short poll samples some servers and may return fewer messages than are waiting, even none.',
      not('moto returns every visible message; the relay long-polls and asks again whatever a batch holds'),
    ],
    [
      'About 120,000 messages in flight at most per standard queue (OverLimit).',
      not('the relay holds at most one batch of 10 messages in flight'),
      apiPage('sqs', 'ChangeMessageVisibility'),
    ],
  ]),

  // STS (answered by local mode itself: iam-api.ts).
  op('sts', 'GetCallerIdentity', [
    [
      'No permission is needed: even an explicit deny of sts:GetCallerIdentity does not refuse it.',
      at('local/service/iam/request-checks.ts NO_PERMISSION_NEEDED'),
    ],
  ]),
];
