/**
 * Step 7: model + endpoint config, then CreateEndpoint for a new endpoint (deploy-new-endpoint.ts) or a blue/green
 * UpdateEndpoint with auto-rollback alarms for an existing one (deploy-blue-green.ts); wait to InService (a rollback
 * fails the step naming the alarm), then register autoscaling. Cancelling during an update rolls it back so the old
 * fleet keeps serving; cancelling a first deployment deletes the endpoint this run created.
 */
import { ApplicationFailure, deprecatePatch, patched } from '@temporalio/workflow';
import {
  DeployModelInput,
  type DeployModelOutput,
  subMinuteRollbackPeriod,
  VARIANT_NAME,
} from '../contracts/deploy-model';
import { ErrorType } from '../contracts/errors';
import { deployBlueGreen } from './deploy-blue-green';
import { deployNewEndpoint } from './deploy-new-endpoint';
import { deployment, registerAutoscaling } from './deployment';
import { PATCH } from './patches';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

/** Deploys the model to the endpoint named in the input and returns what was done. */
export async function deployModel(rawInput: DeployModelInput): Promise<DeployModelOutput> {
  const input = parseStepInput(DeployModelInput, rawInput, 'deployModel input');
  const period = subMinuteRollbackPeriod(input.rollback.periodSeconds);
  // A sub-minute rollback period is refused up front (v3; retired: every open run took this path).
  if (period) {
    deprecatePatch(PATCH.rollbackPeriodWholeMinutes);
    throw ApplicationFailure.create({
      type: ErrorType.SpecInvalid,
      nonRetryable: true,
      message: `Invalid deployModel input:\n$.rollback.periodSeconds: ${period}`,
    });
  }
  const status = trackStatus('deployModel');
  const deploying = deployment(input, status);
  const { quick, workflowId } = deploying;
  const endpoint = input.endpointName;
  const config = input.endpointConfigName;
  status.resources.endpointName = endpoint;

  status.phase = 'creating model';
  const model = await quick.createModel.executeWithOptions(
    { summary: `Create model ${input.modelName} from ${input.modelDataUrl}` },
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
    { summary: `Create endpoint config ${config} (${input.instanceCount} x ${input.instanceType})` },
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

  const state = await quick.describeEndpoint.executeWithOptions({ summary: `Describe endpoint ${endpoint}` }, [
    { endpointName: endpoint },
  ]);
  status.lastObserved = { status: state.status, endpointConfigName: state.endpointConfigName };

  if (patched(PATCH.endpointDashboard)) {
    // Before the rollout, so the dashboard shows it (and the new fleet's rollback metrics) as it happens.
    status.phase = 'putting the endpoint dashboard';
    const dashboard = await quick.ensureEndpointDashboard.executeWithOptions(
      { summary: `Put CloudWatch dashboard of ${endpoint}` },
      [
        {
          endpointName: endpoint,
          endpointConfigName: config,
          variantName: VARIANT_NAME,
          instanceType: input.instanceType,
          instanceCount: input.instanceCount,
          rollback: input.rollback,
          autoscaling: input.autoscaling,
        },
      ],
    );
    status.resources.dashboardName = dashboard.dashboardName;
  }

  let action: DeployModelOutput['action'];
  let endpointArn = state.endpointArn ?? '';
  let previousConfig: string | null = null;
  let alarmNames: string[] = [];
  if (!state.exists || (state.status === 'Creating' && state.endpointConfigName === config)) {
    // New endpoint (or ours, still being created by an earlier attempt: createEndpoint re-attaches after checking the
    // tag).
    endpointArn = await deployNewEndpoint(deploying);
    action = 'created';
  } else if (state.status === 'InService' && state.endpointConfigName === config) {
    status.phase = `endpoint already InService on ${config}`;
    action = 'unchanged';
  } else {
    ({ previousConfig, alarmNames } = await deployBlueGreen(deploying, state));
    action = 'updated';
  }

  let autoscalingRegistered = false;
  if (input.autoscaling.enabled) {
    status.phase = 'registering autoscaling';
    await registerAutoscaling(deploying, '');
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
