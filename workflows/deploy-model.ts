/**
 * Step 7: model + endpoint config, then CreateEndpoint for a new endpoint or a blue/green UpdateEndpoint with
 * auto-rollback alarms for an existing one; wait to InService (a rollback fails the step naming the alarm), then
 * register autoscaling. Cancelling during an update rolls it back (stopEndpointUpdate) so the old fleet keeps serving;
 * cancelling a first deployment deletes the endpoint this run created (deleteCreatedEndpoint).
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import {
  autoscalingMustBeDeregistered,
  DeployModelInput,
  type DeployModelOutput,
  type EndpointSnapshot,
  subMinuteRollbackPeriod,
  VARIANT_NAME,
} from '../contracts/deploy-model';
import { ErrorType } from '../contracts/errors';
import { quickActivities, waitingActivities } from './activity-options';
import { ROLLBACK_PERIOD_WHOLE_MINUTES } from './patches';
import { parseStepInput } from './step-input';
import { reportStopped, trackStatus } from './step-status';

/** An activity's failure of one of `types` as this workflow's own failure (same type, message and details), else `err`. */
function asStepFailure(err: unknown, types: readonly string[]): unknown {
  if (
    err instanceof ActivityFailure &&
    err.cause instanceof ApplicationFailure &&
    types.includes(err.cause.type ?? '')
  ) {
    return ApplicationFailure.create({
      type: err.cause.type ?? undefined,
      message: err.cause.message,
      nonRetryable: true,
      details: err.cause.details ?? undefined,
      cause: err,
    });
  }
  return err;
}

/** Deploys the model to the endpoint named in the input and returns what was done. */
export async function deployModel(rawInput: DeployModelInput): Promise<DeployModelOutput> {
  const input = parseStepInput(DeployModelInput, rawInput, 'deployModel input');
  const period = subMinuteRollbackPeriod(input.rollback.periodSeconds);
  // New runs refuse a sub-minute rollback period up front; a run started before the rule replays on its old path.
  if (period && patched(ROLLBACK_PERIOD_WHOLE_MINUTES))
    throw ApplicationFailure.create({
      type: ErrorType.SpecInvalid,
      nonRetryable: true,
      message: `Invalid deployModel input:\n$.rollback.periodSeconds: ${period}`,
    });
  const status = trackStatus('deployModel');
  const quick = quickActivities();
  const workflowId = workflowInfo().workflowId;
  const endpoint = input.endpointName;
  const config = input.endpointConfigName;
  status.resources.endpointName = endpoint;

  status.phase = 'creating model';
  const model = await quick.createModel.executeWithOptions(
    { startToCloseTimeout: '2m', summary: `Create model ${input.modelName} from ${input.modelDataUrl}` },
    [
      {
        modelName: input.modelName,
        workflowId,
        imageUri: input.imageUri,
        modelDataUrl: input.modelDataUrl,
        roleArn: input.roleArn,
        environment: input.environment,
        modelPackageArn: input.modelPackageArn,
        tags: input.tags,
      },
    ],
  );
  status.resources.modelArn = model.modelArn;
  const endpointConfig = await quick.createEndpointConfig.executeWithOptions(
    {
      startToCloseTimeout: '2m',
      summary: `Create endpoint config ${config} (${input.instanceCount} x ${input.instanceType})`,
    },
    [
      {
        endpointConfigName: config,
        workflowId,
        modelName: input.modelName,
        variantName: VARIANT_NAME,
        instanceType: input.instanceType,
        instanceCount: input.instanceCount,
        startupHealthCheckTimeoutSeconds: input.startupHealthCheckTimeoutSeconds,
        tags: input.tags,
      },
    ],
  );
  status.resources.endpointConfigArn = endpointConfig.endpointConfigArn;

  const state = await quick.describeEndpoint.executeWithOptions(
    { startToCloseTimeout: '2m', summary: `Describe endpoint ${endpoint}` },
    [{ endpointName: endpoint }],
  );
  status.lastObserved = { status: state.status, endpointConfigName: state.endpointConfigName };

  const bg = input.blueGreen;
  const maxWait =
    input.startupHealthCheckTimeoutSeconds + bg.maximumExecutionTimeoutSeconds + bg.terminationWaitSeconds + 3600;
  const wait = waitingActivities(maxWait);
  /** Follows the endpoint until it is InService on the new config; a rollback or failure throws from the activity. */
  const follow = async (previous: string | null, alarmNames: string[], since?: string): Promise<EndpointSnapshot> => {
    let last: { status: string } | null = null;
    for (;;) {
      const seen: EndpointSnapshot = await wait.waitForEndpoint
        .executeWithOptions(
          {
            startToCloseTimeout: `${maxWait + 6 * 3600}s`,
            summary: `Wait for endpoint ${endpoint} to leave ${last ? last.status : 'its first state'} on the way to ${config}`,
          },
          [
            {
              endpointName: endpoint,
              endpointConfigName: config,
              previousEndpointConfigName: previous,
              alarmNames,
              last,
              pollIntervalSeconds: input.pollIntervalSeconds,
              since,
              failOnRollback: true,
            },
          ],
        )
        .catch((err: unknown) => {
          throw asStepFailure(err, [ErrorType.DeploymentRolledBack, ErrorType.JobFailed]);
        });
      status.phase = `endpoint ${seen.status}`;
      status.lastObserved = {
        status: seen.status,
        endpointConfigName: seen.endpointConfigName,
        pendingEndpointConfigName: seen.pendingEndpointConfigName,
        outcome: seen.outcome,
      };
      if (seen.outcome === 'deployed') return seen;
      if (seen.outcome !== 'inProgress' || (last !== null && seen.status === last.status)) {
        // A state the wait cannot move on from (OutOfService, or an outcome it did not turn into a failure).
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${endpoint} is ${seen.status} (${seen.outcome}) instead of InService on ${config}: ${seen.failureReason ?? 'no FailureReason'}`,
          ErrorType.JobFailed,
          seen,
        );
      }
      last = { status: seen.status };
    }
  };

  const registerAutoscaling = async (why: string) => {
    const a = input.autoscaling;
    const res = await quick.registerAutoscaling.executeWithOptions(
      {
        startToCloseTimeout: '2m',
        summary: `Register autoscaling of ${endpoint}/${VARIANT_NAME} (${a.minCapacity}-${a.maxCapacity} instances, ${a.targetInvocationsPerInstance} invocations/instance)${why}`,
      },
      [
        {
          endpointName: endpoint,
          variantName: VARIANT_NAME,
          minCapacity: a.minCapacity,
          maxCapacity: a.maxCapacity,
          targetInvocationsPerInstance: a.targetInvocationsPerInstance,
          scaleInCooldownSeconds: a.scaleInCooldownSeconds,
          scaleOutCooldownSeconds: a.scaleOutCooldownSeconds,
        },
      ],
    );
    status.resources.scalingPolicyArn = res.policyArn;
  };

  let action: DeployModelOutput['action'];
  let endpointArn = state.endpointArn ?? '';
  let previousConfig: string | null = null;
  let alarmNames: string[] = [];

  if (!state.exists || (state.status === 'Creating' && state.endpointConfigName === config)) {
    // New endpoint (or ours, still being created by an earlier attempt: createEndpoint re-attaches after checking the tag).
    status.phase = 'creating endpoint';
    try {
      // A cancel while CreateEndpoint is in flight waits for it to land, so the handler below deletes what it made.
      const created = await quick.createEndpoint.executeWithOptions(
        {
          startToCloseTimeout: '2m',
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          summary: `Create endpoint ${endpoint} with ${config}`,
        },
        [{ endpointName: endpoint, endpointConfigName: config, workflowId, tags: input.tags }],
      );
      endpointArn = created.endpointArn;
      status.resources.endpointArn = endpointArn;
      await follow(null, []);
    } catch (err) {
      if (isCancellation(err)) {
        // Nothing served from this endpoint before this run: cancelling the first deployment removes it.
        await CancellationScope.nonCancellable(async () => {
          const del = await quick.deleteCreatedEndpoint.executeWithOptions(
            { startToCloseTimeout: '2m', summary: `Delete endpoint ${endpoint}, created by this cancelled run` },
            [{ endpointName: endpoint, workflowId }],
          );
          await reportStopped(status, del.deleted ? `endpoint ${endpoint} (deleted: created by this run)` : null);
        });
      }
      throw err;
    }
    action = 'created';
  } else if (state.status === 'InService' && state.endpointConfigName === config) {
    status.phase = `endpoint already InService on ${config}`;
    action = 'unchanged';
  } else {
    status.resources.endpointArn = endpointArn;
    status.phase = 'creating rollback alarms';
    const alarms = await quick.ensureRollbackAlarms.executeWithOptions(
      {
        startToCloseTimeout: '2m',
        summary: `Create rollback alarms (5xx > ${input.rollback.max5xxErrors}, model latency > ${input.rollback.maxModelLatencyMs} ms) for the new fleet ${config}`,
      },
      [
        {
          endpointName: endpoint,
          endpointConfigName: config,
          variantName: VARIANT_NAME,
          max5xxErrors: input.rollback.max5xxErrors,
          maxModelLatencyMs: input.rollback.maxModelLatencyMs,
          periodSeconds: input.rollback.periodSeconds,
          tags: input.tags,
        },
      ],
    );
    const ownAlarms = alarms.alarmNames;
    alarmNames = [...ownAlarms, ...input.rollback.extraAlarmNames.filter((n) => !ownAlarms.includes(n))];
    status.resources.rollbackAlarms = alarmNames.join(',');

    // AWS refuses an update that changes the instance type of (or removes) a variant that is an autoscaling target.
    const mustDeregister = autoscalingMustBeDeregistered(state, VARIANT_NAME, input.instanceType);
    let deregistered = false;
    if (mustDeregister) {
      status.phase = 'deregistering autoscaling';
      const d = await quick.deregisterAutoscaling.executeWithOptions(
        {
          startToCloseTimeout: '2m',
          summary: `Deregister autoscaling of ${endpoint}/${VARIANT_NAME} before moving it to ${input.instanceType}`,
        },
        [{ endpointName: endpoint, variantName: VARIANT_NAME }],
      );
      deregistered = d.deregistered;
      status.lastObserved = {
        ...status.lastObserved,
        autoscalingDeregistered: d.deregistered,
        policiesDeleted: d.policiesDeleted,
      };
    }

    const r = bg.trafficRouting;
    const shift =
      r.type === 'CANARY'
        ? `canary ${r.canarySize.value} ${r.canarySize.type}`
        : r.type === 'LINEAR'
          ? `linear steps of ${r.linearStepSize.value} ${r.linearStepSize.type}`
          : 'all at once';
    try {
      status.phase = 'updating endpoint (blue/green)';
      const update = await quick.updateEndpoint.executeWithOptions(
        {
          startToCloseTimeout: '2m',
          summary: `Update endpoint ${endpoint} to ${config}: blue/green ${shift}, auto-rollback on ${alarmNames.length} alarm(s)`,
        },
        [
          {
            endpointName: endpoint,
            endpointConfigName: config,
            alarmNames,
            blueGreen: bg,
            retainVariantProperties: input.autoscaling.enabled && !mustDeregister,
          },
        ],
      );
      previousConfig = update.previousEndpointConfigName ?? state.endpointConfigName;
      status.resources.previousEndpointConfigName = previousConfig ?? '';
      await follow(previousConfig, alarmNames, update.startedAt);
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(async () => {
          const stop = await quick.stopEndpointUpdate.executeWithOptions(
            {
              startToCloseTimeout: `${maxWait}s`,
              heartbeatTimeout: '2m',
              summary: `Roll back the update of ${endpoint} to ${config} (force alarm ${ownAlarms[0]})`,
            },
            [
              {
                endpointName: endpoint,
                endpointConfigName: config,
                alarmNames: ownAlarms,
                reason: `workflow ${workflowId} cancelled`,
              },
            ],
          );
          if (deregistered && input.autoscaling.enabled) await registerAutoscaling(' again for the old fleet');
          await reportStopped(
            status,
            stop.stopped
              ? `endpoint update ${endpoint} -> ${config} (rolled back via alarm ${stop.alarmName ?? ownAlarms[0]})`
              : null,
          );
        });
      } else if (deregistered && input.autoscaling.enabled) {
        // The old fleet keeps serving after a rollback: give it its autoscaling back before failing.
        await CancellationScope.nonCancellable(() =>
          registerAutoscaling(' again for the old fleet after the failed update'),
        );
      }
      throw err;
    }
    action = 'updated';
  }

  let autoscalingRegistered = false;
  if (input.autoscaling.enabled) {
    status.phase = 'registering autoscaling';
    await registerAutoscaling('');
    autoscalingRegistered = true;
  }
  status.phase = `InService on ${config} (${action})`;
  return {
    endpointName: endpoint,
    endpointArn,
    endpointConfigName: config,
    previousEndpointConfigName: previousConfig,
    modelName: input.modelName,
    action,
    alarmNames,
    autoscalingRegistered,
  };
}
