/**
 * Application Auto Scaling of the endpoint variant: a scalable target on `sagemaker:variant:DesiredInstanceCount`
 * with a target-tracking policy on `SageMakerVariantInvocationsPerInstance`.
 *
 * Updates: AWS ("Update endpoints that use auto scaling", SageMaker developer guide) says an UpdateEndpoint that
 * changes the instance type of an autoscaled variant, or removes it, fails; delete the scaling policies and call
 * DeregisterScalableTarget first, update, then register again. Changing only the model is allowed with autoscaling
 * in place. The workflow decides with `autoscalingMustBeDeregistered` (contracts/deploy-model.ts).
 */
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  DeregisterAutoscalingInput,
  type DeregisterAutoscalingOutput,
  RegisterAutoscalingInput,
  type RegisterAutoscalingOutput,
} from '../contracts/deploy-model';
import { aws } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';

/** The scalable dimension of a SageMaker variant's instance count. */
export const SCALABLE_DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
const NAMESPACE = 'sagemaker';

/** Application Auto Scaling's resource ID of a variant. */
export function variantResourceId(endpointName: string, variantName: string): string {
  return `endpoint/${endpointName}/variant/${variantName}`;
}

/** The target-tracking policy's deterministic name. */
export function scalingPolicyName(endpointName: string, variantName: string): string {
  return `${endpointName}-${variantName}-invocations-target`;
}

function isObjectNotFound(err: unknown): boolean {
  const e = err as { name?: string; cause?: { name?: string } } | undefined;
  return e?.name === 'ObjectNotFoundException' || e?.cause?.name === 'ObjectNotFoundException';
}

/** Creates the autoscaling activities. */
export function createAutoscalingActivities(deps: ActivityDeps) {
  const client = deps.clients.autoscaling;
  return {
    /**
     * RegisterScalableTarget + PutScalingPolicy (target tracking); both are upserts, so retries are harmless. A
     * registration that moves the variant into [min, max] puts the endpoint in Updating for a while (a scaling
     * activity); ConcurrentUpdateException while one is in progress is retried (aws-errors.ts).
     */
    async registerAutoscaling(raw: RegisterAutoscalingInput): Promise<RegisterAutoscalingOutput> {
      const input = parseInput(RegisterAutoscalingInput, raw, 'registerAutoscaling input');
      const resourceId = variantResourceId(input.endpointName, input.variantName);
      await aws(`RegisterScalableTarget ${resourceId}`, () =>
        client.send(
          new RegisterScalableTargetCommand({
            ServiceNamespace: NAMESPACE,
            ResourceId: resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
            MinCapacity: input.minCapacity,
            MaxCapacity: input.maxCapacity,
          }),
        ),
      );
      const policyName = scalingPolicyName(input.endpointName, input.variantName);
      // Right after RegisterScalableTarget the target may not be visible yet: "there might be a brief delay until the
      // operation achieves eventual consistency ... The typical strategy is to retry the request"
      // (API_RegisterScalableTarget). ObjectNotFoundException here is retried (both calls are upserts).
      const res = await aws(
        `PutScalingPolicy ${policyName}`,
        () =>
          client.send(
            new PutScalingPolicyCommand({
              PolicyName: policyName,
              ServiceNamespace: NAMESPACE,
              ResourceId: resourceId,
              ScalableDimension: SCALABLE_DIMENSION,
              PolicyType: 'TargetTrackingScaling',
              TargetTrackingScalingPolicyConfiguration: {
                TargetValue: input.targetInvocationsPerInstance,
                PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
                ScaleInCooldown: input.scaleInCooldownSeconds,
                ScaleOutCooldown: input.scaleOutCooldownSeconds,
              },
            }),
          ),
        { transientCodes: ['ObjectNotFoundException'] },
      );
      return { resourceId, policyName, policyArn: res.PolicyARN ?? '' };
    },

    /** Deletes the variant's scaling policies and deregisters its scalable target; nothing registered is fine. */
    async deregisterAutoscaling(raw: DeregisterAutoscalingInput): Promise<DeregisterAutoscalingOutput> {
      const input = parseInput(DeregisterAutoscalingInput, raw, 'deregisterAutoscaling input');
      const resourceId = variantResourceId(input.endpointName, input.variantName);
      const targets = await aws(`DescribeScalableTargets ${resourceId}`, () =>
        client.send(
          new DescribeScalableTargetsCommand({
            ServiceNamespace: NAMESPACE,
            ResourceIds: [resourceId],
            ScalableDimension: SCALABLE_DIMENSION,
          }),
        ),
      );
      if ((targets.ScalableTargets ?? []).length === 0) return { deregistered: false, policiesDeleted: [] };
      const policies = await aws(`DescribeScalingPolicies ${resourceId}`, () =>
        client.send(
          new DescribeScalingPoliciesCommand({
            ServiceNamespace: NAMESPACE,
            ResourceId: resourceId,
            ScalableDimension: SCALABLE_DIMENSION,
          }),
        ),
      );
      const deleted: string[] = [];
      for (const p of policies.ScalingPolicies ?? []) {
        const name = p.PolicyName ?? '';
        try {
          await aws(`DeleteScalingPolicy ${name}`, () =>
            client.send(
              new DeleteScalingPolicyCommand({
                PolicyName: name,
                ServiceNamespace: NAMESPACE,
                ResourceId: resourceId,
                ScalableDimension: SCALABLE_DIMENSION,
              }),
            ),
          );
          deleted.push(name);
        } catch (err) {
          if (!isObjectNotFound(err)) throw err;
        }
      }
      try {
        await aws(`DeregisterScalableTarget ${resourceId}`, () =>
          client.send(
            new DeregisterScalableTargetCommand({
              ServiceNamespace: NAMESPACE,
              ResourceId: resourceId,
              ScalableDimension: SCALABLE_DIMENSION,
            }),
          ),
        );
      } catch (err) {
        if (!isObjectNotFound(err)) throw err;
      }
      return { deregistered: true, policiesDeleted: deleted };
    },
  };
}
