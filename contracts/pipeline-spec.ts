/**
 * The pipeline spec: the one JSON document that describes a migration or retraining run.
 * Every limit AWS documents is enforced here so a bad spec fails in milliseconds, not an hour into a run.
 * Unknown keys are errors (`strictObject`): a typo must never be silently ignored.
 */
import { z } from 'zod';
import { RollbackAlarmPeriod } from './deploy-model';
import { DEFAULT_SECONDS_PER_RECORD, MAX_SCORING_PAYLOAD_MB } from './evaluate-model';
import {
  ENDPOINT_INSTANCE_TYPES,
  PROCESSING_INSTANCE_TYPES,
  TRAINING_INSTANCE_TYPES,
  TRANSFORM_INSTANCE_TYPES,
} from './instance-types.generated';
import { DEFAULT_OVERSPEND_FACTOR } from './run-report';
import { SCRIPT_MODE_HYPERPARAMETERS, UserCodeSpec } from './user-code';

const MAX_RUNTIME_LIMIT_S = 28 * 24 * 3600;
/** SageMaker resource names: alphanumerics and hyphens, no leading/trailing hyphen. */
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ECR_REPOSITORY = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

const sageMakerName = (max: number) =>
  z.string().min(1).max(max).regex(SAGEMAKER_NAME, 'use letters, digits and hyphens; no leading or trailing hyphen');
const roleArn = z.string().regex(ROLE_ARN, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
const unknownType = (kind: string) => (issue: { input?: unknown }) =>
  `unknown ${kind} instance type ${JSON.stringify(issue.input)} (SageMaker's instance type names look like ` +
  `"ml.m5.xlarge")`;
const trainingInstanceType = z.enum(TRAINING_INSTANCE_TYPES, { error: unknownType('training') });
const endpointInstanceType = z.enum(ENDPOINT_INSTANCE_TYPES, { error: unknownType('endpoint') });
const processingInstanceType = z.enum(PROCESSING_INSTANCE_TYPES, { error: unknownType('processing') });
const transformInstanceType = z.enum(TRANSFORM_INSTANCE_TYPES, { error: unknownType('transform') });
const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

const ImageSpec = z.strictObject({
  repository: z.string().min(2).max(256).regex(ECR_REPOSITORY, 'must be a valid ECR repository name (lowercase)'),
  contextDir: z.string().min(1).default('container'),
  dockerfile: z.string().min(1).default('Dockerfile'),
  buildArgs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({ JAX_VARIANT: 'cuda12' }),
  releaseTag: z
    .string()
    .regex(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/, 'must be a valid image tag')
    .optional(),
  codeBuild: z
    .strictObject({
      // CodeBuild's CreateProject requires a service role (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html).
      serviceRoleArn: roleArn.meta({
        description: 'The IAM role CodeBuild assumes to build and push the image (iam/codebuild-role-policy.json)',
      }),
      computeType: z
        .enum([
          'BUILD_GENERAL1_SMALL',
          'BUILD_GENERAL1_MEDIUM',
          'BUILD_GENERAL1_LARGE',
          'BUILD_GENERAL1_XLARGE',
          'BUILD_GENERAL1_2XLARGE',
        ])
        .default('BUILD_GENERAL1_LARGE'),
      image: z.string().min(1).default('aws/codebuild/standard:7.0'),
      timeoutMinutes: z.number().int().min(5).max(2160).default(60),
    })
    // A missing "codeBuild" is parsed as {} so that the error names the field that is needed: serviceRoleArn.
    .prefault({} as { serviceRoleArn: string }),
  scan: z
    .strictObject({
      enabled: z.boolean().default(false),
      failOnSeverity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL']).default('CRITICAL'),
    })
    .prefault({}),
});

const DataSource = z.union(
  [
    z.strictObject({ s3Uri: z.string().regex(S3_URI, 'must be an s3:// URI') }),
    z.strictObject({ localPath: z.string().min(1) }),
  ],
  { error: 'give exactly one of {"s3Uri": "s3://bucket/prefix/"} or {"localPath": "folder"}' },
);

const DataSpec = z.strictObject({
  source: DataSource,
  channels: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z0-9.\-_]+$/)
        .max(64),
    )
    .min(1)
    .max(20)
    .default(['train', 'val']),
  maxConcurrency: z.number().int().min(1).max(64).default(8),
  multipartThresholdMiB: z.number().int().min(5).max(5120).default(64),
});

const ResourceSpec = z.strictObject({
  instanceType: trainingInstanceType.default('ml.p4de.24xlarge'),
  instanceCount: z.number().int().min(1).max(100).default(4),
  volumeSizeGb: z.number().int().min(1).max(16384).default(500),
});

// Checked per value and per name so the error names the hyperparameter (SageMaker: name <= 256, value <= 2500 chars).
const HyperparameterValue = z
  .union([z.string(), z.number(), z.boolean()], {
    error: 'must be a string, number or boolean (SageMaker passes every hyperparameter as a string)',
  })
  .refine((v) => String(v).length <= 2500, {
    error: (issue) => `must be at most 2500 characters (SageMaker's limit), got ${String(issue.input).length}`,
  });
const Hyperparameters = z
  .record(
    z
      .string()
      .min(1, 'hyperparameter names must not be empty')
      .max(256, 'hyperparameter names are at most 256 characters'),
    HyperparameterValue,
  )
  .refine((hp) => Object.keys(hp).length <= 100, 'at most 100 hyperparameters')
  .default({});

/**
 * The number pattern of AWS's own metric regexes (first group: the value). `nan` and `inf` never match: CloudWatch
 * rejects non-finite values (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html),
 * so SageMaker cannot report them; the container fails a job whose loss is not finite instead.
 */
const METRIC_NUMBER = '([-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?)';

/** Regexes matching the container's `step=… train_loss=… val_loss=… tokens_per_sec=…` log lines (`jaxsm.metrics`). */
export const DEFAULT_METRIC_DEFINITIONS = [
  { name: 'train_loss', regex: `train_loss=${METRIC_NUMBER}` },
  { name: 'val_loss', regex: `val_loss=${METRIC_NUMBER}` },
  { name: 'tokens_per_sec', regex: `tokens_per_sec=${METRIC_NUMBER}` },
];

const TrainingSpec = z
  .strictObject({
    ...ResourceSpec.shape,
    maxRuntimeSeconds: seconds(1, MAX_RUNTIME_LIMIT_S).default(24 * 3600),
    spot: z
      .strictObject({
        enabled: z.boolean().default(false),
        maxWaitSeconds: seconds(1, 2 * MAX_RUNTIME_LIMIT_S).optional(),
      })
      .prefault({}),
    hyperparameters: Hyperparameters,
    metricDefinitions: z
      .array(z.strictObject({ name: z.string().min(1).max(255), regex: z.string().min(1).max(500) }))
      .max(40)
      .default(DEFAULT_METRIC_DEFINITIONS),
    environment: z
      .record(
        z
          .string()
          .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
          .max(512),
        z.string().max(512),
      )
      .refine((env) => Object.keys(env).length <= 100, "at most 100 environment variables (SageMaker's limit)")
      .default({}),
    checkpoints: z.boolean().default(true),
    // SageMaker's managed retries (API_RetryStrategy): the job is started again, up to this many times, after an
    // InternalServerError; a CapacityError is not retried (see docs/local-mode-fidelity.md).
    retryStrategy: z.strictObject({ maximumRetryAttempts: z.number().int().min(1).max(30) }).optional(),
    /** The team's own training program (script mode); without it the image's built-in trainer runs. */
    code: UserCodeSpec.optional(),
  })
  .superRefine((t, ctx) => {
    if (t.code) {
      // The pipeline adds the SDK's script-mode hyperparameters; SageMaker's limit of 100 counts them too.
      const reserved = Object.values(SCRIPT_MODE_HYPERPARAMETERS) as string[];
      for (const name of Object.keys(t.hyperparameters).filter((n) => reserved.includes(n)))
        ctx.addIssue({
          code: 'custom',
          path: ['hyperparameters', name],
          message: `"${name}" is set by the pipeline from training.code; remove it`,
        });
      const room = 100 - reserved.length;
      if (Object.keys(t.hyperparameters).length > room)
        ctx.addIssue({
          code: 'custom',
          path: ['hyperparameters'],
          message: `at most ${room} hyperparameters with training.code (SageMaker allows 100; script mode uses ${reserved.length})`,
        });
    }
    if (t.spot.enabled && (t.spot.maxWaitSeconds ?? 0) < t.maxRuntimeSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['spot', 'maxWaitSeconds'],
        message: `with spot on, maxWaitSeconds must be set and >= maxRuntimeSeconds (${t.maxRuntimeSeconds})`,
      });
    }
  });

const Scaling = z.enum(['Auto', 'Linear', 'Logarithmic', 'ReverseLogarithmic']).default('Auto');
/** Most tuned ranges in all (API_ParameterRanges). */
const MAX_TUNED_RANGES = 30;
/** Most hyperparameters of a tuning job, static plus tuned, with the one SageMaker adds (_tuning_objective_metric). */
const MAX_TUNING_HYPERPARAMETERS = 100;
const RangeName = z.string().min(1).max(256);
const TuningSpec = z
  .strictObject({
    enabled: z.boolean().default(true),
    strategy: z.enum(['Bayesian', 'Random', 'Hyperband', 'Grid']).default('Bayesian'),
    ranges: z
      .strictObject({
        continuous: z
          .array(z.strictObject({ name: RangeName, min: z.number(), max: z.number(), scaling: Scaling }))
          .max(30)
          .default([]),
        integer: z
          .array(z.strictObject({ name: RangeName, min: z.number().int(), max: z.number().int(), scaling: Scaling }))
          .max(30)
          .default([]),
        categorical: z
          .array(z.strictObject({ name: RangeName, values: z.array(z.string().max(256)).min(1).max(30) }))
          .max(30)
          .default([]),
      })
      .prefault({}),
    maxJobs: z.number().int().min(1).max(750).default(4),
    maxParallelJobs: z.number().int().min(1).max(100).default(2),
    earlyStopping: z.enum(['Off', 'Auto']).default('Off'),
    warmStart: z
      .strictObject({
        parentTuningJobs: z.array(sageMakerName(32)).min(1).max(5),
        type: z.enum(['IdenticalDataAndAlgorithm', 'TransferLearning']).default('IdenticalDataAndAlgorithm'),
      })
      .optional(),
    // Fields left out inherit training's resources (zod 4's partial() would keep ResourceSpec's p4de defaults).
    resources: z
      .strictObject({
        instanceType: trainingInstanceType.optional(),
        instanceCount: z.number().int().min(1).max(100).optional(),
        volumeSizeGb: z.number().int().min(1).max(16384).optional(),
      })
      .optional(),
    maxRuntimeSeconds: seconds(1, MAX_RUNTIME_LIMIT_S).optional(),
  })
  .superRefine((t, ctx) => {
    for (const kind of ['continuous', 'integer'] as const) {
      t.ranges[kind].forEach((r, i) => {
        if (r.min >= r.max)
          ctx.addIssue({ code: 'custom', path: ['ranges', kind, i, 'max'], message: 'max must be greater than min' });
        if (r.scaling === 'Logarithmic' && r.min <= 0)
          ctx.addIssue({
            code: 'custom',
            path: ['ranges', kind, i, 'min'],
            message: 'Logarithmic scaling needs min > 0',
          });
      });
    }
    t.ranges.continuous.forEach((r, i) => {
      // API_ContinuousParameterRange: reverse logarithmic scaling works only within 0 <= x < 1.0.
      if (r.scaling === 'ReverseLogarithmic' && !(r.min >= 0 && r.max < 1))
        ctx.addIssue({
          code: 'custom',
          path: ['ranges', 'continuous', i, 'scaling'],
          message: 'ReverseLogarithmic scaling needs 0 <= min < max < 1',
        });
    });
    const count = t.ranges.continuous.length + t.ranges.integer.length + t.ranges.categorical.length;
    // API_ParameterRanges: the per-kind maximum of 30 is also the total.
    if (count > MAX_TUNED_RANGES)
      ctx.addIssue({
        code: 'custom',
        path: ['ranges'],
        message: `at most ${MAX_TUNED_RANGES} ranges in all (SageMaker's limit for a tuning job), got ${count}`,
      });
    if (t.enabled && count === 0)
      ctx.addIssue({ code: 'custom', path: ['ranges'], message: 'tuning is enabled but no range is given' });
    if (t.strategy === 'Grid' && t.ranges.continuous.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['ranges', 'continuous'],
        message: 'Grid search takes only categorical and integer ranges',
      });
    if (t.strategy === 'Hyperband' && t.earlyStopping !== 'Off')
      ctx.addIssue({
        code: 'custom',
        path: ['earlyStopping'],
        message: 'Hyperband stops trials itself; earlyStopping must be Off',
      });
    if (t.maxParallelJobs > t.maxJobs)
      ctx.addIssue({ code: 'custom', path: ['maxParallelJobs'], message: `must not exceed maxJobs (${t.maxJobs})` });
  });

const ObjectiveSpec = z.strictObject({
  metricName: z.string().min(1).max(255).default('val_loss'),
  type: z.enum(['Minimize', 'Maximize']).default('Minimize'),
});

const RegistrySpec = z.strictObject({
  modelPackageGroup: sageMakerName(63),
  approval: z
    .strictObject({
      policy: z.enum(['auto', 'manual']).default('auto'),
      margin: z.number().min(0).default(0),
      approveFirstVersion: z.boolean().default(true),
      timeoutSeconds: seconds(60, 30 * 24 * 3600).default(7 * 24 * 3600),
    })
    .prefault({}),
  contentTypes: z.array(z.string().min(1)).min(1).default(['application/json']),
  inferenceInstanceTypes: z.array(endpointInstanceType).min(1).optional(),
});

const Size = z.strictObject({ type: z.enum(['INSTANCE_COUNT', 'CAPACITY_PERCENT']), value: z.number().int().min(1) });
const TrafficRouting = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ALL_AT_ONCE'), waitIntervalSeconds: seconds(0, 3600).default(0) }),
  z.strictObject({ type: z.literal('CANARY'), canarySize: Size, waitIntervalSeconds: seconds(0, 3600).default(300) }),
  z.strictObject({
    type: z.literal('LINEAR'),
    linearStepSize: Size,
    waitIntervalSeconds: seconds(0, 3600).default(300),
  }),
]);

const DeploymentSpec = z
  .strictObject({
    enabled: z.boolean().default(true),
    endpointName: sageMakerName(63),
    instanceType: endpointInstanceType.default('ml.g5.2xlarge'),
    instanceCount: z.number().int().min(1).max(100).default(2),
    startupHealthCheckTimeoutSeconds: seconds(60, 3600).default(600),
    /** The team's own inference handler (model_fn/input_fn/predict_fn/output_fn), repacked into model.tar.gz. */
    code: UserCodeSpec.optional(),
    blueGreen: z
      .strictObject({
        trafficRouting: TrafficRouting.default({
          type: 'CANARY',
          canarySize: { type: 'CAPACITY_PERCENT', value: 25 },
          waitIntervalSeconds: 300,
        }),
        terminationWaitSeconds: seconds(0, 3600).default(300),
        maximumExecutionTimeoutSeconds: seconds(600, 28800).default(3600),
      })
      .prefault({}),
    rollback: z
      .strictObject({
        max5xxErrors: z.number().int().min(0).default(0),
        maxModelLatencyMs: z.number().int().min(1).default(5000),
        // Whole minutes (validateSpec refuses 10 and 30, which the schema parses only for runs started earlier).
        periodSeconds: RollbackAlarmPeriod.default(60),
        extraAlarmNames: z.array(z.string().min(1).max(255)).max(8).default([]),
      })
      .prefault({}),
    autoscaling: z
      .strictObject({
        enabled: z.boolean().default(true),
        minCapacity: z.number().int().min(1).default(1),
        maxCapacity: z.number().int().min(1).default(4),
        targetInvocationsPerInstance: z.number().positive().default(100),
        scaleInCooldownSeconds: seconds(0, 86400).default(300),
        scaleOutCooldownSeconds: seconds(0, 86400).default(60),
      })
      .prefault({}),
  })
  .superRefine((d, ctx) => {
    const r = d.blueGreen.trafficRouting;
    const size = r.type === 'CANARY' ? r.canarySize : r.type === 'LINEAR' ? r.linearStepSize : undefined;
    const field = r.type === 'CANARY' ? 'canarySize' : 'linearStepSize';
    const path = ['blueGreen', 'trafficRouting', field, 'value'];
    if (size?.type === 'CAPACITY_PERCENT') {
      const [lo, hi] = r.type === 'CANARY' ? [1, 50] : [10, 50];
      if (size.value < lo || size.value > hi)
        ctx.addIssue({ code: 'custom', path, message: `${r.type} percent must be ${lo}-${hi}` });
    }
    if (size?.type === 'INSTANCE_COUNT') {
      const [lo, hi] =
        r.type === 'CANARY'
          ? [1, Math.floor(d.instanceCount / 2)]
          : [Math.ceil(d.instanceCount / 10), Math.floor(d.instanceCount / 2)];
      if (size.value < lo || size.value > hi)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${r.type} size must be ${lo}-${hi} instances (10-50% of ${d.instanceCount})`,
        });
    }
    if (d.autoscaling.minCapacity > d.autoscaling.maxCapacity)
      ctx.addIssue({ code: 'custom', path: ['autoscaling', 'maxCapacity'], message: 'must be >= minCapacity' });
  });

/** True when `prepare`'s arguments select the built-in corpus (`--source builtin`), which reads no input. */
export function preparesBuiltinSource(args: readonly string[]): boolean {
  return args.some((a, i) => a === '--source=builtin' || (a === '--source' && args[i + 1] === 'builtin'));
}

// The image's `prepare` as a Processing job (API_CreateProcessingJob: ProcessingClusterConfig, ContainerArguments at
// most 100 of 256 characters, MaxRuntimeInSeconds at most 777600).
const PrepareDataSpec = z.strictObject({
  enabled: z.boolean().default(false),
  instanceType: processingInstanceType.default('ml.m5.xlarge'),
  // `prepare` reads its whole input on one host: two hosts would each write (and clash on) the same outputs.
  instanceCount: z
    .number()
    .int()
    .min(1)
    .max(1, 'prepare runs on one instance (it does not shard its input; more would write the same outputs twice)')
    .default(1),
  volumeSizeGb: z.number().int().min(1).max(16384).default(30),
  maxRuntimeSeconds: seconds(1, 777600).default(3600),
  arguments: z
    .array(z.string().max(256, 'each argument is at most 256 characters (ContainerArguments)'))
    .max(99, 'at most 99 arguments (ContainerArguments allows 100, "prepare" takes one)')
    .default([]),
});

// Batch Transform over held-out scoring records (API_CreateTransformJob). It has no runtime limit of its own: past
// maxRuntimeSeconds the step stops the job and fails, which also bounds the cost guard's estimate.
const EvaluationSpec = z.strictObject({
  enabled: z.boolean().default(false),
  /**
   * JSON Lines of {"score": "<text>"}: an S3 object or prefix, or a local file (relative to the spec file) uploaded
   * by content hash; defaults to prepareData's `eval` output when prepareData is enabled.
   */
  input: DataSource.optional(),
  instanceType: transformInstanceType.default('ml.m5.xlarge'),
  /**
   * Transform instances. Batch Transform hands each instance whole input objects, so with more than one the step
   * splits the records into as many objects first (activities/transform-input.ts).
   */
  instanceCount: z.number().int().min(1).max(100).default(1),
  /**
   * The most one request packs (MultiRecord): AWS allows up to 100 MB, but the serving container answers 413 above its
   * 6 MiB body limit (container/jaxsm/serving/server.py MAX_BODY).
   */
  maxPayloadMb: z
    .number()
    .int()
    .min(1)
    .max(MAX_SCORING_PAYLOAD_MB, `at most ${MAX_SCORING_PAYLOAD_MB}: the serving container refuses bodies over 6 MiB`)
    .default(MAX_SCORING_PAYLOAD_MB),
  /**
   * Seconds the model takes per scoring record on instanceType, at the container's full batch throughput (a request's
   * wall time divided by its records). It sizes each request's invocation timeout (ModelClientConfig). The default is
   * an assumption, not a measurement: time one JSON Lines request of a few hundred records against your model on the
   * instance type and put the result here.
   */
  secondsPerRecord: z.number().positive().max(3600).default(DEFAULT_SECONDS_PER_RECORD),
  maxRuntimeSeconds: seconds(60, MAX_RUNTIME_LIMIT_S).default(3600),
  /** How much higher (nats) the candidate's eval_nll may be than the approved champion's and still be auto-approved. */
  maxRegression: z.number().min(0).default(0),
});

const CostGuardSpec = z.strictObject({
  maxSpendUsd: z.number().positive().default(5000),
  override: z.boolean().default(false),
  /**
   * A run whose actual spend (its jobs' billable time × the price table) passes its estimate × this factor is
   * flagged as overspent in its result, `cli status` and its report.
   */
  overspendFactor: z.number().min(0.01).max(100).default(DEFAULT_OVERSPEND_FACTOR),
});

/** The whole pipeline spec; parse with `validateSpec` for readable errors. */
export const PipelineSpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    pipelineName: sageMakerName(20),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
      .optional(),
    roleArn,
    bucket: z.string().regex(S3_BUCKET, 'must be a valid S3 bucket name'),
    // SageMaker allows 50 tags per resource and the pipeline adds up to 4 of its own (workflow ID, pipeline name,
    // model package, update requested); keys starting with "aws:" are reserved by AWS.
    tags: z
      .record(
        z
          .string()
          .min(1)
          .max(128)
          .refine((k) => !k.toLowerCase().startsWith('aws:'), 'tag keys starting with "aws:" are reserved by AWS'),
        z.string().max(256),
      )
      .refine(
        (t) => Object.keys(t).length <= 46,
        'at most 46 tags (SageMaker allows 50 per resource; the pipeline adds up to 4 of its own)',
      )
      .default({}),
    pollIntervalSeconds: seconds(1, 3600).default(60),
    image: ImageSpec,
    data: DataSpec,
    objective: ObjectiveSpec.prefault({}),
    training: TrainingSpec.prefault({}),
    prepareData: PrepareDataSpec.prefault({}),
    tuning: TuningSpec.prefault({ enabled: false }),
    evaluation: EvaluationSpec.prefault({}),
    registry: RegistrySpec,
    deployment: DeploymentSpec,
    costGuard: CostGuardSpec.prefault({}),
  })
  .superRefine((s, ctx) => {
    const metricNames = s.training.metricDefinitions.map((m) => m.name);
    if (!metricNames.includes(s.objective.metricName))
      ctx.addIssue({
        code: 'custom',
        path: ['objective', 'metricName'],
        message: `must be one of training.metricDefinitions (${metricNames.join(', ')})`,
      });
    const tuned = [...s.tuning.ranges.continuous, ...s.tuning.ranges.integer, ...s.tuning.ranges.categorical].map(
      (r) => r.name,
    );
    for (const name of tuned.filter((n) => n in s.training.hyperparameters))
      ctx.addIssue({
        code: 'custom',
        path: ['tuning', 'ranges'],
        message: `"${name}" is both tuned and a static hyperparameter`,
      });
    const reserved = Object.values(SCRIPT_MODE_HYPERPARAMETERS) as string[];
    // automatic-model-tuning-define-ranges: at most 100 hyperparameters in all, static plus tunable, and SageMaker
    // adds _tuning_objective_metric to every trial.
    const statics = Object.keys(s.training.hyperparameters).length + (s.training.code ? reserved.length : 0);
    if (s.tuning.enabled && statics + tuned.length + 1 > MAX_TUNING_HYPERPARAMETERS)
      ctx.addIssue({
        code: 'custom',
        path: ['tuning', 'ranges'],
        message: `a tuning job takes at most ${MAX_TUNING_HYPERPARAMETERS} hyperparameters in all: ${statics} static + ${tuned.length} tuned + 1 SageMaker adds`,
      });
    for (const name of tuned.filter((n) => s.training.code && reserved.includes(n)))
      ctx.addIssue({
        code: 'custom',
        path: ['tuning', 'ranges'],
        message: `"${name}" is set by the pipeline from training.code and cannot be tuned`,
      });
    if (s.evaluation.enabled && !s.evaluation.input && !s.prepareData.enabled)
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'input'],
        message: 'evaluation is enabled: give its input ({"s3Uri": …}), or enable prepareData to score its eval output',
      });
    const alarms = 2 + s.deployment.rollback.extraAlarmNames.length;
    if (alarms > 10)
      ctx.addIssue({
        code: 'custom',
        path: ['deployment', 'rollback', 'extraAlarmNames'],
        message: 'at most 10 rollback alarms in all',
      });
  });

/** A spec as written by a user (defaults optional). */
export type PipelineSpecInput = z.input<typeof PipelineSpecSchema>;
/** A validated spec with every default filled in. */
export type PipelineSpec = z.output<typeof PipelineSpecSchema>;

/**
 * Most environment variables a tuning job's training definition may set (botocore's
 * HyperParameterTrainingJobEnvironmentMap, max 48), fewer than a training job's 100 (TrainingEnvironmentMap).
 */
export const MAX_TUNING_ENVIRONMENT = 48;

/**
 * Why the spec's training environment cannot go into its tuning job (CreateHyperParameterTuningJob's
 * TrainingJobDefinition.Environment), or undefined. The pipeline sends `training.environment` there unchanged and
 * adds no variable of its own, so the spec's count is the request's.
 */
export function tuningEnvironmentIssue(spec: PipelineSpec): string | undefined {
  const count = Object.keys(spec.training.environment).length;
  if (!spec.tuning.enabled || count <= MAX_TUNING_ENVIRONMENT) return undefined;
  return (
    `at most ${MAX_TUNING_ENVIRONMENT} environment variables when tuning is enabled (SageMaker's limit for a ` +
    `tuning job's TrainingJobDefinition.Environment), got ${count}`
  );
}
