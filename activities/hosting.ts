/**
 * SageMaker hosting (step 7): models, endpoint configs and endpoints. Creates re-attach by deterministic name and
 * workflow ID tag; an endpoint update is started at most once per config; the wait reports a rollback with the
 * alarm that caused it.
 */
import { SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import {
  AddTagsCommand,
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteTagsCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListTagsCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import {
  CreateEndpointConfigInput,
  type CreateEndpointConfigOutput,
  CreateEndpointInput,
  type CreateEndpointOutput,
  CreateModelInput,
  type CreateModelOutput,
  DeleteCreatedEndpointInput,
  type DeleteCreatedEndpointOutput,
  type DescribeEndpointInput,
  type EndpointSnapshot,
  type EndpointState,
  IN_PROGRESS_ENDPOINT_STATUSES,
  StopEndpointUpdateInput,
  type StopEndpointUpdateOutput,
  UpdateEndpointInput,
  type UpdateEndpointOutput,
  WaitEndpointInput,
} from '../contracts/deploy-model';
import { ErrorType } from '../contracts/errors';
import { UPDATED_BY_TAG } from '../contracts/job-events';
import { firedAlarm } from './alarms';
import { aws, failure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { activityWorkflowId, pollUntil } from './polling';
import { assertOwned, isAlreadyExists, isNotFound, sageMakerTags } from './sagemaker-owner';
import { deleteEndpointDashboard } from './dashboards';

/** Tag written on the endpoint just before UpdateEndpoint: `<config>@<ISO time>`, so a retry knows it already asked. */
export const UPDATE_REQUESTED_TAG = 'pipeline:update-requested';
/** Tag recording a model's model package, for lineage. */
export const MODEL_PACKAGE_TAG = 'pipeline:model-package';
const TERMINAL_ENDPOINT = new Set(['InService', 'Failed', 'UpdateRollbackFailed', 'OutOfService']);

const IN_PROGRESS_ENDPOINT = new Set<string>(IN_PROGRESS_ENDPOINT_STATUSES);

/** SageMaker's refusal of a call on an endpoint with an operation in progress. */
function isInProgressRefusal(err: unknown): boolean {
  for (
    let e = err as { name?: string; message?: string; cause?: unknown } | undefined, d = 0;
    e && d < 3;
    e = e.cause as typeof e, d++
  )
    if (e.name === 'ValidationException' && /in-progress endpoint/i.test(e.message ?? '')) return true;
  return false;
}

/** A retryable ResourceBusy failure: the endpoint is mid-operation, and the call is tried again once it settles. */
function endpointBusy(name: string, status: string | undefined, what: string) {
  return failure(
    ErrorType.ResourceBusy,
    `Endpoint ${name} is ${status ?? 'busy'}: SageMaker refuses to ${what} until the operation in progress ends; waiting for it`,
  );
}

/** The outcome a DescribeEndpoint answer means for an update to `newConfig`. */
export function endpointOutcome(res: DescribeEndpointCommandOutput, newConfig: string): EndpointSnapshot['outcome'] {
  const status = res.EndpointStatus;
  if (status === 'Failed' || status === 'UpdateRollbackFailed') return 'failed';
  if (status === 'InService') return res.EndpointConfigName === newConfig ? 'deployed' : 'rolledBack';
  return 'inProgress';
}

/** Creates the hosting activities. */
export function createHostingActivities(deps: ActivityDeps) {
  const sm = deps.clients.sagemaker;
  const describeEndpointRaw = (name: string) =>
    aws(`DescribeEndpoint ${name}`, () => sm.send(new DescribeEndpointCommand({ EndpointName: name })));

  return {
    /** CreateModel (image by digest + model data); an existing model with our tag is re-attached. */
    async createModel(raw: CreateModelInput): Promise<CreateModelOutput> {
      const input = parseInput(CreateModelInput, raw, 'createModel input');
      const name = input.modelName;
      const tags = { ...input.tags, ...(input.modelPackageArn ? { [MODEL_PACKAGE_TAG]: input.modelPackageArn } : {}) };
      try {
        const res = await aws(`CreateModel ${name}`, () =>
          sm.send(
            new CreateModelCommand({
              ModelName: name,
              PrimaryContainer: {
                Image: input.imageUri,
                ModelDataUrl: input.modelDataUrl,
                Environment: input.environment,
              },
              ExecutionRoleArn: input.roleArn,
              Tags: sageMakerTags(input.workflowId, tags),
            }),
          ),
        );
        return { modelArn: res.ModelArn ?? '', reattached: false };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await aws(`DescribeModel ${name}`, () => sm.send(new DescribeModelCommand({ ModelName: name })));
      await assertOwned(deps, existing.ModelArn ?? '', input.workflowId, `Model ${name}`);
      return { modelArn: existing.ModelArn ?? '', reattached: true };
    },

    /** CreateEndpointConfig with one variant (instance type and count, startup health-check timeout). */
    async createEndpointConfig(raw: CreateEndpointConfigInput): Promise<CreateEndpointConfigOutput> {
      const input = parseInput(CreateEndpointConfigInput, raw, 'createEndpointConfig input');
      const name = input.endpointConfigName;
      try {
        const res = await aws(`CreateEndpointConfig ${name}`, () =>
          sm.send(
            new CreateEndpointConfigCommand({
              EndpointConfigName: name,
              ProductionVariants: [
                {
                  VariantName: input.variantName,
                  ModelName: input.modelName,
                  InstanceType: input.instanceType as never,
                  InitialInstanceCount: input.instanceCount,
                  InitialVariantWeight: 1,
                  ContainerStartupHealthCheckTimeoutInSeconds: input.startupHealthCheckTimeoutSeconds,
                },
              ],
              Tags: sageMakerTags(input.workflowId, input.tags),
            }),
          ),
        );
        return { endpointConfigArn: res.EndpointConfigArn ?? '', reattached: false };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await aws(`DescribeEndpointConfig ${name}`, () =>
        sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })),
      );
      await assertOwned(deps, existing.EndpointConfigArn ?? '', input.workflowId, `Endpoint config ${name}`);
      return { endpointConfigArn: existing.EndpointConfigArn ?? '', reattached: true };
    },

    /** Whether the endpoint exists; if so its status, configs and variants (instance types from its current config). */
    async describeEndpoint(input: DescribeEndpointInput): Promise<EndpointState> {
      let res: DescribeEndpointCommandOutput;
      try {
        res = await describeEndpointRaw(input.endpointName);
      } catch (err) {
        if (isNotFound(err))
          return {
            exists: false,
            endpointArn: null,
            status: null,
            endpointConfigName: null,
            pendingEndpointConfigName: null,
            variants: [],
          };
        throw err;
      }
      const types = new Map<string, string>();
      if (res.EndpointConfigName) {
        try {
          const cfg = await aws(`DescribeEndpointConfig ${res.EndpointConfigName}`, () =>
            sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: res.EndpointConfigName })),
          );
          for (const v of cfg.ProductionVariants ?? [])
            if (v.VariantName && v.InstanceType) types.set(v.VariantName, v.InstanceType);
        } catch (err) {
          if (!isNotFound(err)) throw err; // a deleted config leaves the instance types unknown
        }
      }
      return {
        exists: true,
        endpointArn: res.EndpointArn ?? null,
        status: (res.EndpointStatus ?? null) as EndpointState['status'],
        endpointConfigName: res.EndpointConfigName ?? null,
        pendingEndpointConfigName: res.PendingDeploymentSummary?.EndpointConfigName ?? null,
        variants: (res.ProductionVariants ?? []).map((v) => ({
          variantName: v.VariantName ?? '',
          instanceType: types.get(v.VariantName ?? '') ?? null,
          currentInstanceCount: v.CurrentInstanceCount ?? null,
          desiredInstanceCount: v.DesiredInstanceCount ?? null,
        })),
        ...(res.FailureReason ? { failureReason: res.FailureReason } : {}),
      };
    },

    /** CreateEndpoint for a new endpoint; an existing one is re-attached only when it carries our tag. */
    async createEndpoint(raw: CreateEndpointInput): Promise<CreateEndpointOutput> {
      const input = parseInput(CreateEndpointInput, raw, 'createEndpoint input');
      const name = input.endpointName;
      try {
        const res = await aws(`CreateEndpoint ${name}`, () =>
          sm.send(
            new CreateEndpointCommand({
              EndpointName: name,
              EndpointConfigName: input.endpointConfigName,
              Tags: sageMakerTags(input.workflowId, input.tags),
            }),
          ),
        );
        return { endpointArn: res.EndpointArn ?? '', reattached: false };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await describeEndpointRaw(name);
      await assertOwned(deps, existing.EndpointArn ?? '', input.workflowId, `Endpoint ${name}`);
      return { endpointArn: existing.EndpointArn ?? '', reattached: true };
    },

    /**
     * Cancellation cleanup of a first deployment: deletes the endpoint this workflow created (checked by its tag), so
     * a cancelled run leaves no fleet billing. SageMaker refuses DeleteEndpoint while the endpoint is Creating (or
     * another operation is in progress): the activity then fails with ResourceBusy, which Temporal retries until the
     * endpoint settles (InService or Failed) and the delete goes through. Gone already, or someone else's: nothing is
     * deleted, and it says why.
     */
    async deleteCreatedEndpoint(raw: DeleteCreatedEndpointInput): Promise<DeleteCreatedEndpointOutput> {
      const input = parseInput(DeleteCreatedEndpointInput, raw, 'deleteCreatedEndpoint input');
      const name = input.endpointName;
      let current: DescribeEndpointCommandOutput;
      try {
        current = await describeEndpointRaw(name);
      } catch (err) {
        if (isNotFound(err)) return { deleted: false, reason: `endpoint ${name} does not exist` };
        throw err;
      }
      const arn = current.EndpointArn ?? '';
      try {
        await assertOwned(deps, arn, input.workflowId, `Endpoint ${name}`);
      } catch (err) {
        return { deleted: false, reason: (err as Error).message };
      }
      if (current.EndpointStatus === 'Deleting') {
        await deleteEndpointDashboard(deps.clients.cloudwatch, name); // a retry after the delete went through
        return { deleted: true, reason: null };
      }
      if (IN_PROGRESS_ENDPOINT.has(current.EndpointStatus ?? ''))
        throw endpointBusy(name, current.EndpointStatus, 'delete it');
      try {
        await aws(`DeleteEndpoint ${name}`, () => sm.send(new DeleteEndpointCommand({ EndpointName: name })));
      } catch (err) {
        if (isNotFound(err)) return { deleted: false, reason: `endpoint ${name} does not exist` };
        if (isInProgressRefusal(err)) throw endpointBusy(name, 'in progress', 'delete it');
        throw err;
      }
      // The endpoint's dashboard goes with it (a first deployment that is cancelled leaves nothing to look at).
      await deleteEndpointDashboard(deps.clients.cloudwatch, name);
      return { deleted: true, reason: null };
    },

    /**
     * UpdateEndpoint with a blue/green policy and auto-rollback alarms, at most once per config: a retry that finds
     * the endpoint on (or updating to) the config, or finds our request tag older than the endpoint's last change
     * (the update ran and rolled back), re-attaches instead of starting a second update.
     */
    async updateEndpoint(raw: UpdateEndpointInput): Promise<UpdateEndpointOutput> {
      const input = parseInput(UpdateEndpointInput, raw, 'updateEndpoint input');
      const name = input.endpointName;
      const cfg = input.endpointConfigName;
      const current = await describeEndpointRaw(name);
      const arn = current.EndpointArn ?? '';
      const previous = current.EndpointConfigName ?? null;
      const tags = await aws(`ListTags ${arn}`, () =>
        sm.send(new ListTagsCommand({ ResourceArn: arn, MaxResults: 100 })),
      );
      const requested = tags.Tags?.find((t) => t.Key === UPDATE_REQUESTED_TAG)?.Value ?? '';
      const requestedAt = requested.startsWith(`${cfg}@`) ? requested.slice(cfg.length + 1) : null;
      if (previous === cfg || current.PendingDeploymentSummary?.EndpointConfigName === cfg) {
        return {
          reattached: true,
          previousEndpointConfigName: previous === cfg ? null : previous,
          startedAt: requestedAt ?? new Date().toISOString(),
        };
      }
      if (
        requestedAt !== null &&
        current.LastModifiedTime &&
        current.LastModifiedTime.getTime() > Date.parse(requestedAt)
      ) {
        return { reattached: true, previousEndpointConfigName: previous, startedAt: requestedAt };
      }
      // Updating with no deployment pending is a capacity change (Application Auto Scaling, or
      // UpdateEndpointWeightsAndCapacities): it ends on its own, so it is waited out. So are Creating and RollingBack.
      if (IN_PROGRESS_ENDPOINT.has(current.EndpointStatus ?? '') && !current.PendingDeploymentSummary) {
        throw endpointBusy(name, current.EndpointStatus, `update it to ${cfg}`);
      }
      if (current.EndpointStatus !== 'InService') {
        const pending = current.PendingDeploymentSummary?.EndpointConfigName;
        throw failure(
          ErrorType.ResourceConflict,
          `Endpoint ${name} is ${current.EndpointStatus}` +
            `${current.PendingDeploymentSummary ? ` (updating to ${pending})` : ''}` +
            `; not starting a second update to ${cfg}`,
        );
      }
      const startedAt = new Date().toISOString();
      const updatedBy = activityWorkflowId();
      await aws(`AddTags ${arn}`, () =>
        sm.send(
          new AddTagsCommand({
            ResourceArn: arn,
            Tags: [
              { Key: UPDATE_REQUESTED_TAG, Value: `${cfg}@${startedAt}` },
              // The endpoint's state-change events name the step that waits on this update (docs/events.md).
              ...(updatedBy ? [{ Key: UPDATED_BY_TAG, Value: updatedBy }] : []),
            ],
          }),
        ),
      );
      const r = input.blueGreen.trafficRouting;
      try {
        await aws(`UpdateEndpoint ${name}`, () =>
          sm.send(
            new UpdateEndpointCommand({
              EndpointName: name,
              EndpointConfigName: cfg,
              RetainAllVariantProperties: input.retainVariantProperties,
              DeploymentConfig: {
                BlueGreenUpdatePolicy: {
                  TrafficRoutingConfiguration: {
                    Type: r.type,
                    WaitIntervalInSeconds: r.waitIntervalSeconds,
                    ...(r.type === 'CANARY'
                      ? { CanarySize: { Type: r.canarySize.type, Value: r.canarySize.value } }
                      : {}),
                    ...(r.type === 'LINEAR'
                      ? { LinearStepSize: { Type: r.linearStepSize.type, Value: r.linearStepSize.value } }
                      : {}),
                  },
                  TerminationWaitInSeconds: input.blueGreen.terminationWaitSeconds,
                  MaximumExecutionTimeoutInSeconds: input.blueGreen.maximumExecutionTimeoutSeconds,
                },
                AutoRollbackConfiguration: { Alarms: input.alarmNames.map((AlarmName) => ({ AlarmName })) },
              },
            }),
          ),
        );
      } catch (err) {
        if (!isInProgressRefusal(err)) throw err;
        // A capacity change started between our Describe and the update: take our request tag back (the update never
        // ran, and the tag would read as "ran and rolled back" once the capacity change moves LastModifiedTime).
        await aws(`DeleteTags ${arn}`, () =>
          sm.send(new DeleteTagsCommand({ ResourceArn: arn, TagKeys: [UPDATE_REQUESTED_TAG] })),
        );
        throw endpointBusy(name, 'in progress', `update it to ${cfg}`);
      }
      return { reattached: false, previousEndpointConfigName: previous, startedAt };
    },

    /**
     * Polls DescribeEndpoint, heartbeating the snapshot; returns on a status change or a terminal state. InService on
     * another config than the new one is a rollback: DeploymentRolledBack (non-retryable) naming the alarm, unless
     * `failOnRollback` is false. Failed / UpdateRollbackFailed fail with JobFailed and SageMaker's FailureReason.
     */
    async waitForEndpoint(raw: WaitEndpointInput): Promise<EndpointSnapshot> {
      const input = parseInput(WaitEndpointInput, raw, 'waitForEndpoint input');
      const snap = await pollUntil<EndpointSnapshot>(deps, input.pollIntervalSeconds, async () => {
        const res = await describeEndpointRaw(input.endpointName);
        const s: EndpointSnapshot = {
          endpointName: input.endpointName,
          status: (res.EndpointStatus ?? 'Creating') as EndpointSnapshot['status'],
          endpointConfigName: res.EndpointConfigName ?? null,
          pendingEndpointConfigName: res.PendingDeploymentSummary?.EndpointConfigName ?? null,
          outcome: endpointOutcome(res, input.endpointConfigName),
          alarmName: null,
          ...(res.FailureReason ? { failureReason: res.FailureReason } : {}),
        };
        const changed = input.last === null || input.last.status !== s.status;
        if (!changed && !TERMINAL_ENDPOINT.has(s.status)) return { done: false, details: s };
        if (s.outcome === 'rolledBack') {
          const names =
            input.alarmNames.length > 0
              ? input.alarmNames
              : (res.LastDeploymentConfig?.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName ?? '');
          s.alarmName =
            names.find((n) => n && s.failureReason?.includes(n)) ??
            (await firedAlarm(deps.clients.cloudwatch, names.filter(Boolean), input.since));
        }
        return { done: true, value: s };
      });
      if (snap.outcome === 'rolledBack' && input.failOnRollback) {
        const why = snap.alarmName
          ? `alarm "${snap.alarmName}" fired`
          : 'no rollback alarm is in ALARM (the new fleet may have failed to start)';
        throw failure(
          ErrorType.DeploymentRolledBack,
          `Endpoint ${snap.endpointName} rolled back to ${snap.endpointConfigName ?? 'its previous config'} ` +
            `instead of ${input.endpointConfigName}: ${why}` +
            (snap.failureReason ? `. FailureReason: ${snap.failureReason}` : ''),
          snap,
        );
      }
      if (snap.outcome === 'failed') {
        throw failure(
          ErrorType.JobFailed,
          `Endpoint ${snap.endpointName} is ${snap.status}: ${snap.failureReason ?? 'no FailureReason given'}`,
          snap,
        );
      }
      return snap;
    },

    /**
     * Stops our in-progress blue/green update. SageMaker has no "cancel update" call and refuses UpdateEndpoint while
     * an endpoint is Updating; deleting the endpoint would take the old model down too. The documented way to abort
     * is auto-rollback: SageMaker rolls back to the old fleet when an AutoRollbackConfiguration alarm is in ALARM
     * during the deployment. So this forces the update's own alarm to ALARM (CloudWatch SetAlarmState, reason
     * naming the cancellation) and repeats that each poll until the endpoint leaves the update, because the alarm
     * returns to its real state at its next evaluation. A finished update, or someone else's, is left alone.
     */
    async stopEndpointUpdate(raw: StopEndpointUpdateInput): Promise<StopEndpointUpdateOutput> {
      const input = parseInput(StopEndpointUpdateInput, raw, 'stopEndpointUpdate input');
      const alarm = input.alarmNames[0] as string;
      let forced = false;
      return pollUntil<StopEndpointUpdateOutput>(deps, 10, async () => {
        let res: DescribeEndpointCommandOutput;
        try {
          res = await describeEndpointRaw(input.endpointName);
        } catch (err) {
          if (isNotFound(err))
            return { done: true, value: { stopped: forced, status: null, alarmName: forced ? alarm : null } };
          throw err;
        }
        const status = res.EndpointStatus ?? null;
        const ours =
          status === 'Updating' && res.PendingDeploymentSummary?.EndpointConfigName === input.endpointConfigName;
        if (!ours) return { done: true, value: { stopped: forced, status, alarmName: forced ? alarm : null } };
        await aws(`SetAlarmState ${alarm}`, () =>
          deps.clients.cloudwatch.send(
            new SetAlarmStateCommand({
              AlarmName: alarm,
              StateValue: 'ALARM',
              StateReason: `Forced by the pipeline to roll back ${input.endpointName}: ${input.reason}`,
            }),
          ),
        );
        forced = true;
        return { done: false, details: { status, forcedAlarm: alarm } };
      });
    },
  };
}
