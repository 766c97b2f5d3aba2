/** Step 7, deployModel: inputs and outputs of the step workflow and its activities. */
import { z } from 'zod';

/**
 * The one production variant's name. Blue/green updates require the new endpoint config to keep the old
 * config's variant name (SageMaker "Deployment guardrails › Exclusions"), so it never changes.
 */
export const VARIANT_NAME = 'AllTraffic';

const Size = z.strictObject({ type: z.enum(['INSTANCE_COUNT', 'CAPACITY_PERCENT']), value: z.number().int().min(1) });
/** How traffic moves to the new fleet (SageMaker TrafficRoutingConfig). */
export const TrafficRouting = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ALL_AT_ONCE'), waitIntervalSeconds: z.number().int().min(0).max(3600) }),
  z.strictObject({
    type: z.literal('CANARY'),
    canarySize: Size,
    waitIntervalSeconds: z.number().int().min(0).max(3600),
  }),
  z.strictObject({
    type: z.literal('LINEAR'),
    linearStepSize: Size,
    waitIntervalSeconds: z.number().int().min(0).max(3600),
  }),
]);
/** How traffic moves to the new fleet. */
export type TrafficRouting = z.infer<typeof TrafficRouting>;

/** BlueGreenUpdatePolicy settings. */
export const BlueGreenPolicy = z.strictObject({
  trafficRouting: TrafficRouting,
  terminationWaitSeconds: z.number().int().min(0).max(3600),
  maximumExecutionTimeoutSeconds: z.number().int().min(600).max(28800),
});
/** BlueGreenUpdatePolicy settings. */
export type BlueGreenPolicy = z.infer<typeof BlueGreenPolicy>;

/** Sub-minute periods specs could name before periods had to be whole minutes (runs started then still carry them). */
const LEGACY_SUB_MINUTE_PERIODS: readonly number[] = [10, 30];

/**
 * Why a rollback alarm period is refused, or undefined when it is a multiple of 60 s. SageMaker publishes endpoint
 * metrics once a minute (developer guide, "Monitor SageMaker with CloudWatch"); CloudWatch documents that an alarm
 * with a 10, 20 or 30 s period on such a metric gets no data in most periods (PutMetricAlarm, Period), so it would
 * rarely roll anything back.
 */
export function subMinuteRollbackPeriod(seconds: number): string | undefined {
  if (seconds >= 60 && seconds % 60 === 0) return undefined;
  return `must be a multiple of 60 s, got ${seconds}: SageMaker publishes endpoint metrics once a minute, so an alarm with a shorter period sees no data in most periods and would rarely roll back`;
}

/**
 * The period of a rollback alarm: a multiple of 60 s up to an hour. The schema still parses the sub-minute values
 * earlier specs allowed, so workflows started with them replay; `validateSpec` refuses them for new runs, and the
 * workflows refuse them behind a patch (workflows/patches.ts).
 */
export const RollbackAlarmPeriod = z
  .number()
  .int()
  .max(3600)
  .refine((s) => LEGACY_SUB_MINUTE_PERIODS.includes(s) || subMinuteRollbackPeriod(s) === undefined, {
    error: (issue) => subMinuteRollbackPeriod(Number(issue.input)) ?? 'invalid period',
  });

/** Thresholds of the rollback alarms the step creates for the new fleet. */
export const RollbackAlarmSettings = z.strictObject({
  max5xxErrors: z.number().int().min(0),
  maxModelLatencyMs: z.number().int().min(1),
  periodSeconds: RollbackAlarmPeriod,
  /** Alarms the operator already has; they join the AutoRollbackConfiguration as they are. */
  extraAlarmNames: z.array(z.string().min(1).max(255)).max(8).default([]),
});
/** Thresholds of the rollback alarms. */
export type RollbackAlarmSettings = z.input<typeof RollbackAlarmSettings>;

/** Target-tracking autoscaling of the variant. */
export const AutoscalingSettings = z.strictObject({
  enabled: z.boolean(),
  minCapacity: z.number().int().min(1),
  maxCapacity: z.number().int().min(1),
  targetInvocationsPerInstance: z.number().positive(),
  scaleInCooldownSeconds: z.number().int().min(0),
  scaleOutCooldownSeconds: z.number().int().min(0),
});
/** Target-tracking autoscaling of the variant. */
export type AutoscalingSettings = z.infer<typeof AutoscalingSettings>;

/** Input of the deployModel step workflow. */
export const DeployModelInput = z.strictObject({
  endpointName: z.string().min(1).max(63),
  modelName: z.string().min(1).max(63),
  endpointConfigName: z.string().min(1).max(63),
  imageUri: z.string(),
  modelDataUrl: z.string(),
  roleArn: z.string(),
  modelPackageArn: z.string().optional(),
  environment: z.record(z.string(), z.string()).default({}),
  instanceType: z.string(),
  instanceCount: z.number().int().min(1),
  startupHealthCheckTimeoutSeconds: z.number().int().min(60).max(3600).default(600),
  blueGreen: BlueGreenPolicy,
  rollback: RollbackAlarmSettings,
  autoscaling: AutoscalingSettings,
  tags: z.record(z.string(), z.string()).default({}),
  pollIntervalSeconds: z.number().int().min(1).default(30),
});
/** Input of the deployModel step workflow. */
export type DeployModelInput = z.input<typeof DeployModelInput>;

/** Output of deployModel (a rollback is a failure of type DeploymentRolledBack, not an output). */
export const DeployModelOutput = z.strictObject({
  endpointName: z.string(),
  endpointArn: z.string(),
  endpointConfigName: z.string(),
  previousEndpointConfigName: z.string().nullable(),
  modelName: z.string(),
  action: z.enum(['created', 'updated', 'unchanged']),
  alarmNames: z.array(z.string()),
  autoscalingRegistered: z.boolean(),
});
/** Output of deployModel. */
export type DeployModelOutput = z.infer<typeof DeployModelOutput>;

/** Input of the createModel activity. */
export const CreateModelInput = z.strictObject({
  modelName: z.string().min(1).max(63),
  workflowId: z.string(),
  imageUri: z.string(),
  modelDataUrl: z.string(),
  roleArn: z.string(),
  environment: z.record(z.string(), z.string()).default({}),
  /** Recorded as a tag for lineage; the container is still given by image and model data. */
  modelPackageArn: z.string().optional(),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Input of the createModel activity. */
export type CreateModelInput = z.input<typeof CreateModelInput>;
/** `reattached` is true when the model already existed with our workflow ID tag. */
export const CreateModelOutput = z.strictObject({ modelArn: z.string(), reattached: z.boolean() });
/** Output of the createModel activity. */
export type CreateModelOutput = z.infer<typeof CreateModelOutput>;

/** Input of the createEndpointConfig activity. */
export const CreateEndpointConfigInput = z.strictObject({
  endpointConfigName: z.string().min(1).max(63),
  workflowId: z.string(),
  modelName: z.string(),
  variantName: z.string().default(VARIANT_NAME),
  instanceType: z.string(),
  instanceCount: z.number().int().min(1),
  startupHealthCheckTimeoutSeconds: z.number().int().min(60).max(3600),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Input of the createEndpointConfig activity. */
export type CreateEndpointConfigInput = z.input<typeof CreateEndpointConfigInput>;
/** `reattached` is true when the config already existed with our workflow ID tag. */
export const CreateEndpointConfigOutput = z.strictObject({ endpointConfigArn: z.string(), reattached: z.boolean() });
/** Output of the createEndpointConfig activity. */
export type CreateEndpointConfigOutput = z.infer<typeof CreateEndpointConfigOutput>;

/** SageMaker's EndpointStatus values. */
export const EndpointStatus = z.enum([
  'OutOfService',
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'InService',
  'Deleting',
  'Failed',
  'UpdateRollbackFailed',
]);
/** SageMaker's EndpointStatus values. */
export type EndpointStatus = z.infer<typeof EndpointStatus>;

/**
 * Endpoint statuses in which an operation is in progress: SageMaker refuses UpdateEndpoint and DeleteEndpoint then
 * ("Cannot update in-progress endpoint"), until the endpoint is InService or Failed again.
 */
export const IN_PROGRESS_ENDPOINT_STATUSES: readonly EndpointStatus[] = [
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'Deleting',
];

/** Input of the describeEndpoint activity. */
export const DescribeEndpointInput = z.strictObject({ endpointName: z.string() });
/** Input of the describeEndpoint activity. */
export type DescribeEndpointInput = z.infer<typeof DescribeEndpointInput>;
/** One production variant as deployed now (the instance type comes from the current endpoint config). */
export const VariantState = z.strictObject({
  variantName: z.string(),
  instanceType: z.string().nullable(),
  currentInstanceCount: z.number().int().nullable(),
  desiredInstanceCount: z.number().int().nullable(),
});
/** One production variant as deployed now. */
export type VariantState = z.infer<typeof VariantState>;
/** Whether the endpoint exists, and if so its status, current config and variants. */
export const EndpointState = z.strictObject({
  exists: z.boolean(),
  endpointArn: z.string().nullable(),
  status: EndpointStatus.nullable(),
  endpointConfigName: z.string().nullable(),
  pendingEndpointConfigName: z.string().nullable(),
  variants: z.array(VariantState),
  failureReason: z.string().optional(),
});
/** Output of the describeEndpoint activity. */
export type EndpointState = z.infer<typeof EndpointState>;

/**
 * Whether autoscaling must be deregistered before updating to a config that runs `variantName` on `newInstanceType`.
 * AWS ("Update endpoints that use auto scaling", SageMaker developer guide): an UpdateEndpoint fails when it would
 * change the instance type of a variant that is an autoscaling target, or remove such a variant; delete the scaling
 * policies and DeregisterScalableTarget first, update, then register again. Changing only the model is allowed.
 */
export function autoscalingMustBeDeregistered(
  current: EndpointState,
  variantName: string,
  newInstanceType: string,
): boolean {
  if (!current.exists) return false;
  const variant = current.variants.find((v) => v.variantName === variantName);
  if (!variant) return current.variants.length > 0;
  return variant.instanceType !== null && variant.instanceType !== newInstanceType;
}

/** Input of the createEndpoint activity. */
export const CreateEndpointInput = z.strictObject({
  endpointName: z.string().min(1).max(63),
  endpointConfigName: z.string(),
  workflowId: z.string(),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Input of the createEndpoint activity. */
export type CreateEndpointInput = z.input<typeof CreateEndpointInput>;
/** `reattached` is true when the endpoint already existed, created by this workflow with this config. */
export const CreateEndpointOutput = z.strictObject({ endpointArn: z.string(), reattached: z.boolean() });
/** Output of the createEndpoint activity. */
export type CreateEndpointOutput = z.infer<typeof CreateEndpointOutput>;

/** Input of the ensureRollbackAlarms activity: alarms on the new fleet (dimension EndpointConfigName). */
export const EnsureRollbackAlarmsInput = z.strictObject({
  endpointName: z.string(),
  endpointConfigName: z.string(),
  variantName: z.string().default(VARIANT_NAME),
  max5xxErrors: z.number().int().min(0),
  maxModelLatencyMs: z.number().int().min(1),
  periodSeconds: z.number().int(),
  tags: z.record(z.string(), z.string()).default({}),
});
/** Input of the ensureRollbackAlarms activity. */
export type EnsureRollbackAlarmsInput = z.input<typeof EnsureRollbackAlarmsInput>;
/** The alarm names, 5xx first, then model latency. */
export const EnsureRollbackAlarmsOutput = z.strictObject({ alarmNames: z.array(z.string()) });
/** Output of the ensureRollbackAlarms activity. */
export type EnsureRollbackAlarmsOutput = z.infer<typeof EnsureRollbackAlarmsOutput>;

/** Deterministic names of the rollback alarms of one new endpoint config (≤ 255 characters). */
export function rollbackAlarmNames(endpointConfigName: string): { errors5xx: string; modelLatency: string } {
  return {
    errors5xx: `${endpointConfigName}-rollback-5xx`,
    modelLatency: `${endpointConfigName}-rollback-model-latency`,
  };
}

/** Prefix of every endpoint dashboard: the worker's policy may write only dashboards named so. */
export const ENDPOINT_DASHBOARD_PREFIX = 'sagemaker-endpoint-';

/**
 * The CloudWatch dashboard of an endpoint, one per endpoint (PutDashboard replaces it on each deployment). Endpoint
 * names are `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, so the name keeps within PutDashboard's A-Z, a-z, 0-9, `-`, `_` and
 * 255 characters.
 */
export function endpointDashboardName(endpointName: string): string {
  return `${ENDPOINT_DASHBOARD_PREFIX}${endpointName}`;
}

/** Input of the ensureEndpointDashboard activity: what the dashboard shows of one endpoint and its new config. */
export const EnsureEndpointDashboardInput = z.strictObject({
  endpointName: z.string().min(1).max(63),
  endpointConfigName: z.string().min(1).max(63),
  variantName: z.string().default(VARIANT_NAME),
  instanceType: z.string(),
  instanceCount: z.number().int().min(1),
  rollback: RollbackAlarmSettings,
  autoscaling: AutoscalingSettings,
});
/** Input of the ensureEndpointDashboard activity. */
export type EnsureEndpointDashboardInput = z.input<typeof EnsureEndpointDashboardInput>;
/** The dashboard's name. */
export const EnsureEndpointDashboardOutput = z.strictObject({ dashboardName: z.string() });
/** Output of the ensureEndpointDashboard activity. */
export type EnsureEndpointDashboardOutput = z.infer<typeof EnsureEndpointDashboardOutput>;

/** Input of the updateEndpoint activity. */
export const UpdateEndpointInput = z.strictObject({
  endpointName: z.string(),
  endpointConfigName: z.string(),
  /** Every AutoRollbackConfiguration alarm: the step's own plus the spec's extras (1-10). */
  alarmNames: z.array(z.string()).min(1).max(10),
  blueGreen: BlueGreenPolicy,
  /**
   * Keep the live DesiredInstanceCount/weight of same-named variants (RetainAllVariantProperties). True when
   * autoscaling stays registered through the update, so the scaled-out capacity is not cut back to the config's count.
   */
  retainVariantProperties: z.boolean().default(false),
});
/** Input of the updateEndpoint activity. */
export type UpdateEndpointInput = z.input<typeof UpdateEndpointInput>;
/**
 * `reattached`: this update had already been requested (the endpoint is updating to, or is on, the config,
 * or it already rolled back from it); `startedAt` is when the update was requested, for alarm history.
 */
export const UpdateEndpointOutput = z.strictObject({
  reattached: z.boolean(),
  previousEndpointConfigName: z.string().nullable(),
  startedAt: z.string(),
});
/** Output of the updateEndpoint activity. */
export type UpdateEndpointOutput = z.infer<typeof UpdateEndpointOutput>;

/** Input of the waitForEndpoint activity: returns on a status change or a terminal state. */
export const WaitEndpointInput = z.strictObject({
  endpointName: z.string(),
  endpointConfigName: z.string(),
  previousEndpointConfigName: z.string().nullable(),
  alarmNames: z.array(z.string()).default([]),
  last: z.strictObject({ status: z.string() }).nullable(),
  pollIntervalSeconds: z.number().int().min(1),
  /** ISO time the update was requested; alarm history is searched from there. */
  since: z.string().optional(),
  /** Throw DeploymentRolledBack (non-retryable, naming the alarm) instead of returning the rollback. */
  failOnRollback: z.boolean().default(true),
});
/** Input of the waitForEndpoint activity. */
export type WaitEndpointInput = z.input<typeof WaitEndpointInput>;

/** What the endpoint looks like now, and what that means for the deployment. */
export const EndpointSnapshot = z.strictObject({
  endpointName: z.string(),
  status: EndpointStatus,
  endpointConfigName: z.string().nullable(),
  pendingEndpointConfigName: z.string().nullable(),
  /**
   * `deployed`: InService on the new config; `rolledBack`: InService on the old one; `failed`: Failed or
   * UpdateRollbackFailed.
   */
  outcome: z.enum(['inProgress', 'deployed', 'rolledBack', 'failed']),
  alarmName: z.string().nullable(),
  failureReason: z.string().optional(),
});
/** Output of the waitForEndpoint activity. */
export type EndpointSnapshot = z.infer<typeof EndpointSnapshot>;

/** Input of the registerAutoscaling activity. */
export const RegisterAutoscalingInput = AutoscalingSettings.omit({ enabled: true }).extend({
  endpointName: z.string(),
  variantName: z.string().default(VARIANT_NAME),
});
/** Input of the registerAutoscaling activity. */
export type RegisterAutoscalingInput = z.input<typeof RegisterAutoscalingInput>;
/** The scalable target's resource ID and the target-tracking policy's ARN. */
export const RegisterAutoscalingOutput = z.strictObject({
  resourceId: z.string(),
  policyName: z.string(),
  policyArn: z.string(),
});
/** Output of the registerAutoscaling activity. */
export type RegisterAutoscalingOutput = z.infer<typeof RegisterAutoscalingOutput>;

/** Input of the deregisterAutoscaling activity. */
export const DeregisterAutoscalingInput = z.strictObject({
  endpointName: z.string(),
  variantName: z.string().default(VARIANT_NAME),
});
/** Input of the deregisterAutoscaling activity. */
export type DeregisterAutoscalingInput = z.input<typeof DeregisterAutoscalingInput>;
/** `deregistered` is false when no scalable target was registered. */
export const DeregisterAutoscalingOutput = z.strictObject({
  deregistered: z.boolean(),
  policiesDeleted: z.array(z.string()),
});
/** Output of the deregisterAutoscaling activity. */
export type DeregisterAutoscalingOutput = z.infer<typeof DeregisterAutoscalingOutput>;

/** Input of the deleteCreatedEndpoint activity (cancellation cleanup of a first deployment). */
export const DeleteCreatedEndpointInput = z.strictObject({ endpointName: z.string(), workflowId: z.string() });
/** Input of the deleteCreatedEndpoint activity. */
export type DeleteCreatedEndpointInput = z.infer<typeof DeleteCreatedEndpointInput>;
/** `deleted` is true when DeleteEndpoint was sent; `reason` says why not otherwise. */
export const DeleteCreatedEndpointOutput = z.strictObject({ deleted: z.boolean(), reason: z.string().nullable() });
/** Output of the deleteCreatedEndpoint activity. */
export type DeleteCreatedEndpointOutput = z.infer<typeof DeleteCreatedEndpointOutput>;

/** Input of the stopEndpointUpdate activity (cancellation cleanup). */
export const StopEndpointUpdateInput = z.strictObject({
  endpointName: z.string(),
  endpointConfigName: z.string(),
  /** The update's own rollback alarms; the first is forced to ALARM to make SageMaker roll back. */
  alarmNames: z.array(z.string()).min(1),
  reason: z.string().default('pipeline cancelled'),
});
/** Input of the stopEndpointUpdate activity. */
export type StopEndpointUpdateInput = z.input<typeof StopEndpointUpdateInput>;
/** `stopped` is true when a rollback was triggered; `status` is the endpoint status seen. */
export const StopEndpointUpdateOutput = z.strictObject({
  stopped: z.boolean(),
  status: z.string().nullable(),
  alarmName: z.string().nullable(),
});
/** Output of the stopEndpointUpdate activity. */
export type StopEndpointUpdateOutput = z.infer<typeof StopEndpointUpdateOutput>;
