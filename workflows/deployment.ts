/**
 * What deployModel's two paths (deploy-new-endpoint.ts, deploy-blue-green.ts) share: the parsed input, the step's
 * status and activities, how the endpoint is followed to InService on the new config, and its autoscaling.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { z } from 'zod';
import { type DeployModelInput, type EndpointSnapshot, VARIANT_NAME } from '../contracts/deploy-model';
import { ErrorType } from '../contracts/errors';
import type { StepStatus } from '../contracts/status';
import { type ActivityProxy, longActivities, quickActivities, waitingActivities } from './activity-options';

/** One deployment as both paths see it. */
export interface Deployment {
  input: z.output<typeof DeployModelInput>;
  status: StepStatus;
  workflowId: string;
  /** Quick AWS calls. */
  quick: ActivityProxy;
  /** Calls that may last as long as the rollout itself (rolling an update back). */
  rollout: ActivityProxy;
  /** The heartbeating endpoint wait. */
  wait: ActivityProxy;
}

/** The deployment of `input`, with activity timeouts sized from its health check and blue/green limits. */
export function deployment(input: Deployment['input'], status: StepStatus): Deployment {
  const bg = input.blueGreen;
  const maxWait =
    input.startupHealthCheckTimeoutSeconds + bg.maximumExecutionTimeoutSeconds + bg.terminationWaitSeconds + 3600;
  return {
    input,
    status,
    workflowId: workflowInfo().workflowId,
    quick: quickActivities(),
    rollout: longActivities(`${maxWait}s`),
    wait: waitingActivities(maxWait),
  };
}

/** Which change of the endpoint a wait follows: the config it leaves, the alarms that roll it back, since when. */
export interface EndpointTarget {
  previous: string | null;
  alarmNames: string[];
  since?: string;
}

/** The follow half of a deployment's job (JobStep's wait, observe, position and stepFailures). */
export interface EndpointFollow {
  wait(last: EndpointPosition | null): Promise<EndpointSnapshot>;
  observe(seen: EndpointSnapshot, last: EndpointPosition | null): boolean;
  position(seen: EndpointSnapshot): EndpointPosition;
  stepFailures: readonly string[];
}

/** What the next endpoint wait must see change. */
export interface EndpointPosition {
  status: string;
}

/**
 * The follow half of a deployment's job: waits until the endpoint is InService on the new config. A rollback or a
 * failed endpoint fails the step with the wait's own failure type; a state the wait cannot move on from fails it too.
 */
export function followEndpoint(d: Deployment, target: () => EndpointTarget): EndpointFollow {
  const { endpointName: endpoint, endpointConfigName: config } = d.input;
  return {
    wait: (last) => {
      const { previous, alarmNames, since } = target();
      return d.wait.waitForEndpoint.executeWithOptions(
        {
          summary:
            `Wait for endpoint ${endpoint} to leave ${last ? last.status : 'its first state'} ` +
            `on the way to ${config}`,
        },
        [
          {
            endpointName: endpoint,
            endpointConfigName: config,
            previousEndpointConfigName: previous,
            alarmNames,
            last,
            pollIntervalSeconds: d.input.pollIntervalSeconds,
            since,
            failOnRollback: true,
          },
        ],
      );
    },
    stepFailures: [ErrorType.DeploymentRolledBack, ErrorType.JobFailed],
    observe: (seen, last) => {
      d.status.phase = `endpoint ${seen.status}`;
      d.status.lastObserved = {
        status: seen.status,
        endpointConfigName: seen.endpointConfigName,
        pendingEndpointConfigName: seen.pendingEndpointConfigName,
        outcome: seen.outcome,
      };
      if (seen.outcome === 'deployed') return true;
      if (seen.outcome !== 'inProgress' || (last !== null && seen.status === last.status)) {
        // A state the wait cannot move on from (OutOfService, or an outcome it did not turn into a failure).
        throw ApplicationFailure.nonRetryable(
          `Endpoint ${endpoint} is ${seen.status} (${seen.outcome}) instead of InService on ${config}: ` +
            (seen.failureReason ?? 'no FailureReason'),
          ErrorType.JobFailed,
          seen,
        );
      }
      return false;
    },
    position: (seen) => ({ status: seen.status }),
  };
}

/** Registers the endpoint's variant as an autoscaling target with its policy (`why` ends the activity summary). */
export async function registerAutoscaling(d: Deployment, why: string): Promise<void> {
  const a = d.input.autoscaling;
  const endpoint = d.input.endpointName;
  const res = await d.quick.registerAutoscaling.executeWithOptions(
    {
      summary:
        `Register autoscaling of ${endpoint}/${VARIANT_NAME} (${a.minCapacity}-${a.maxCapacity} instances, ` +
        `${a.targetInvocationsPerInstance} invocations/instance)${why}`,
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
  d.status.resources.scalingPolicyArn = res.policyArn;
}
