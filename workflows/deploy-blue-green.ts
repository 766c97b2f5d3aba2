/**
 * deployModel's update of an existing endpoint: rollback alarms for the new fleet, autoscaling moved out of the way
 * when AWS requires it, then a blue/green UpdateEndpoint with auto-rollback, followed to InService (a rollback fails
 * the step naming the alarm). A cancel rolls the update back (stopEndpointUpdate) so the old fleet keeps serving.
 */
import { autoscalingMustBeDeregistered, type EndpointState, VARIANT_NAME } from '../contracts/deploy-model';
import { type Deployment, followEndpoint, registerAutoscaling } from './deployment';
import { runJobStep } from './job-step';

/** What the update replaced and which alarms guarded it. */
export interface BlueGreenResult {
  previousConfig: string | null;
  alarmNames: string[];
}

/** Updates the endpoint in `state` to the new config, blue/green, and returns what it replaced. */
export async function deployBlueGreen(deploying: Deployment, state: EndpointState): Promise<BlueGreenResult> {
  const { input, status, quick } = deploying;
  const { endpointName: endpoint, endpointConfigName: config } = input;
  const bg = input.blueGreen;
  status.resources.endpointArn = state.endpointArn ?? '';
  status.phase = 'creating rollback alarms';
  const alarms = await quick.ensureRollbackAlarms.executeWithOptions(
    {
      summary:
        `Create rollback alarms (5xx > ${input.rollback.max5xxErrors}, ` +
        `model latency > ${input.rollback.maxModelLatencyMs} ms) for the new fleet ${config}`,
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
  const alarmNames = [...ownAlarms, ...input.rollback.extraAlarmNames.filter((n) => !ownAlarms.includes(n))];
  status.resources.rollbackAlarms = alarmNames.join(',');

  // AWS refuses an update that changes the instance type of (or removes) a variant that is an autoscaling target.
  const mustDeregister = autoscalingMustBeDeregistered(state, VARIANT_NAME, input.instanceType);
  let deregistered = false;
  if (mustDeregister) {
    status.phase = 'deregistering autoscaling';
    const dereg = await quick.deregisterAutoscaling.executeWithOptions(
      { summary: `Deregister autoscaling of ${endpoint}/${VARIANT_NAME} before moving it to ${input.instanceType}` },
      [{ endpointName: endpoint, variantName: VARIANT_NAME }],
    );
    deregistered = dereg.deregistered;
    status.lastObserved = {
      ...status.lastObserved,
      autoscalingDeregistered: dereg.deregistered,
      policiesDeleted: dereg.policiesDeleted,
    };
  }
  // The old fleet keeps serving after a rollback or a cancel: it gets its autoscaling back.
  const reregister = deregistered && input.autoscaling.enabled;

  const routing = bg.trafficRouting;
  const shift =
    routing.type === 'CANARY'
      ? `canary ${routing.canarySize.value} ${routing.canarySize.type}`
      : routing.type === 'LINEAR'
        ? `linear steps of ${routing.linearStepSize.value} ${routing.linearStepSize.type}`
        : 'all at once';
  let previousConfig: string | null = null;
  let startedAt: string | undefined;
  await runJobStep({
    status,
    creating: 'updating endpoint (blue/green)',
    create: () =>
      quick.updateEndpoint.executeWithOptions(
        {
          summary:
            `Update endpoint ${endpoint} to ${config}: blue/green ${shift}, ` +
            `auto-rollback on ${alarmNames.length} alarm(s)`,
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
      ),
    created: (update) => {
      previousConfig = update.previousEndpointConfigName ?? state.endpointConfigName;
      startedAt = update.startedAt;
      status.resources.previousEndpointConfigName = previousConfig ?? '';
    },
    ...followEndpoint(deploying, () => ({ previous: previousConfig, alarmNames, since: startedAt })),
    stop: async () => {
      const stop = await deploying.rollout.stopEndpointUpdate.executeWithOptions(
        { summary: `Roll back the update of ${endpoint} to ${config} (force alarm ${ownAlarms[0]})` },
        [
          {
            endpointName: endpoint,
            endpointConfigName: config,
            alarmNames: ownAlarms,
            reason: `workflow ${deploying.workflowId} cancelled`,
          },
        ],
      );
      if (reregister) await registerAutoscaling(deploying, ' again for the old fleet');
      return stop.stopped
        ? `endpoint update ${endpoint} -> ${config} (rolled back via alarm ${stop.alarmName ?? ownAlarms[0]})`
        : null;
    },
    restore: reregister
      ? () => registerAutoscaling(deploying, ' again for the old fleet after the failed update')
      : undefined,
  });
  return { previousConfig, alarmNames };
}
