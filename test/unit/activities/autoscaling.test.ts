import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { createAutoscalingActivities } from '../../../activities/autoscaling';
import { awsError, expectFailure, invalid, testDeps, throttled } from './helpers';

const aas = mockClient(ApplicationAutoScalingClient);
const acts = createAutoscalingActivities(testDeps());
const RESOURCE = 'endpoint/jax-lm/variant/AllTraffic';
const DIM = 'sagemaker:variant:DesiredInstanceCount';
const settings = {
  endpointName: 'jax-lm',
  minCapacity: 1,
  maxCapacity: 4,
  targetInvocationsPerInstance: 100,
  scaleInCooldownSeconds: 300,
  scaleOutCooldownSeconds: 60,
};

beforeEach(() => aas.reset());

describe('registerAutoscaling', () => {
  it('registers the variant and a target-tracking policy on invocations per instance', async () => {
    aas.on(RegisterScalableTargetCommand).resolves({});
    aas.on(PutScalingPolicyCommand).resolves({ PolicyARN: 'arn:policy' });
    await expect(acts.registerAutoscaling(settings)).resolves.toEqual({
      resourceId: RESOURCE,
      policyName: 'jax-lm-AllTraffic-invocations-target',
      policyArn: 'arn:policy',
    });
    expect(aas).toHaveReceivedCommandWith(RegisterScalableTargetCommand, {
      ServiceNamespace: 'sagemaker',
      ResourceId: RESOURCE,
      ScalableDimension: DIM,
      MinCapacity: 1,
      MaxCapacity: 4,
    });
    expect(aas).toHaveReceivedCommandWith(PutScalingPolicyCommand, {
      ServiceNamespace: 'sagemaker',
      ResourceId: RESOURCE,
      ScalableDimension: DIM,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 100,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    });
  });

  it('throttling retries, validation does not', async () => {
    aas.on(RegisterScalableTargetCommand).rejectsOnce(throttled()).rejectsOnce(invalid());
    await expectFailure(acts.registerAutoscaling(settings), 'AwsTransient', false);
    await expectFailure(
      acts.registerAutoscaling(settings),
      'AwsValidation',
      true,
      /RegisterScalableTarget endpoint\/jax-lm/,
    );
  });
});

describe('registerAutoscaling right after a register, or during a scaling activity', () => {
  it('retries ObjectNotFoundException from PutScalingPolicy (the new target is not visible yet)', async () => {
    aas.on(RegisterScalableTargetCommand).resolves({});
    aas
      .on(PutScalingPolicyCommand)
      .rejects(
        awsError(
          'ObjectNotFoundException',
          400,
          `No scalable target registered for service namespace: sagemaker, resource ID: ${RESOURCE}, scalable dimension: ${DIM}`,
        ),
      );
    await expectFailure(acts.registerAutoscaling(settings), 'AwsTransient', false, /No scalable target registered/);
  });

  it('retries ConcurrentUpdateException (a scaling activity of the target is in progress)', async () => {
    aas
      .on(RegisterScalableTargetCommand)
      .rejects(
        awsError('ConcurrentUpdateException', 400, 'You already have a pending update to an Auto Scaling resource.'),
      );
    await expectFailure(acts.registerAutoscaling(settings), 'AwsTransient', false);
  });
});

describe('deregisterAutoscaling (before an update that changes the instance type)', () => {
  it('deletes the policies, then deregisters the target', async () => {
    aas.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [{ ResourceId: RESOURCE } as never] });
    aas
      .on(DescribeScalingPoliciesCommand)
      .resolves({ ScalingPolicies: [{ PolicyName: 'p1' } as never, { PolicyName: 'p2' } as never] });
    aas.on(DeleteScalingPolicyCommand, { PolicyName: 'p2' }).rejects(awsError('ObjectNotFoundException'));
    aas.on(DeleteScalingPolicyCommand, { PolicyName: 'p1' }).resolves({});
    aas.on(DeregisterScalableTargetCommand).resolves({});
    await expect(acts.deregisterAutoscaling({ endpointName: 'jax-lm' })).resolves.toEqual({
      deregistered: true,
      policiesDeleted: ['p1'],
    });
    expect(aas).toHaveReceivedCommandWith(DeregisterScalableTargetCommand, {
      ServiceNamespace: 'sagemaker',
      ResourceId: RESOURCE,
      ScalableDimension: DIM,
    });
  });

  it('does nothing when no target is registered (a retry after it succeeded)', async () => {
    aas.on(DescribeScalableTargetsCommand).resolves({ ScalableTargets: [] });
    await expect(acts.deregisterAutoscaling({ endpointName: 'jax-lm' })).resolves.toEqual({
      deregistered: false,
      policiesDeleted: [],
    });
    expect(aas).not.toHaveReceivedCommand(DeregisterScalableTargetCommand);
  });
});
