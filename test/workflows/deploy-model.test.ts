import { Context } from '@temporalio/activity';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type DeployModelInput, type EndpointSnapshot, type EndpointState, rollbackAlarmNames } from '../../contracts';
import { deployModel } from '../../workflows';
import { statusQuery } from '../../contracts/workflow-api';
import { cancelAndReport } from '../../worker/pipeline-client';
import { createTestWorker, createTimeSkippingEnv, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const OLD_CONFIG = 'wf-0000aaaa-epc';
const NEW_CONFIG = 'wf-0123abcd-epc';
const ALARMS = rollbackAlarmNames(NEW_CONFIG);
const ENDPOINT_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/jax-lm';

const input: DeployModelInput = {
  endpointName: 'jax-lm',
  modelName: 'wf-0123abcd-model',
  endpointConfigName: NEW_CONFIG,
  imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-lm@sha256:' + 'a'.repeat(64),
  modelDataUrl: 's3://b/output/wf-tune-005/output/model.tar.gz',
  roleArn: 'arn:aws:iam::123456789012:role/SageMaker',
  modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/jax-lm/7',
  instanceType: 'ml.g5.2xlarge',
  instanceCount: 2,
  blueGreen: {
    trafficRouting: { type: 'CANARY', canarySize: { type: 'CAPACITY_PERCENT', value: 10 }, waitIntervalSeconds: 300 },
    terminationWaitSeconds: 120,
    maximumExecutionTimeoutSeconds: 1800,
  },
  rollback: { max5xxErrors: 1, maxModelLatencyMs: 2000, periodSeconds: 60, extraAlarmNames: ['ops-jax-lm-errors'] },
  autoscaling: {
    enabled: true,
    minCapacity: 2,
    maxCapacity: 6,
    targetInvocationsPerInstance: 100,
    scaleInCooldownSeconds: 300,
    scaleOutCooldownSeconds: 60,
  },
};

const missing: EndpointState = {
  exists: false,
  endpointArn: null,
  status: null,
  endpointConfigName: null,
  pendingEndpointConfigName: null,
  variants: [],
};
const existing = (instanceType = 'ml.g5.2xlarge'): EndpointState => ({
  exists: true,
  endpointArn: ENDPOINT_ARN,
  status: 'InService',
  endpointConfigName: OLD_CONFIG,
  pendingEndpointConfigName: null,
  variants: [{ variantName: 'AllTraffic', instanceType, currentInstanceCount: 4, desiredInstanceCount: 4 }],
});
const snap = (
  status: EndpointSnapshot['status'],
  outcome: EndpointSnapshot['outcome'],
  endpointConfigName: string | null = OLD_CONFIG,
): EndpointSnapshot => ({
  endpointName: input.endpointName,
  status,
  endpointConfigName,
  pendingEndpointConfigName: outcome === 'inProgress' ? NEW_CONFIG : null,
  outcome,
  alarmName: null,
});
const rolledBack = () =>
  ApplicationFailure.create({
    type: 'DeploymentRolledBack',
    nonRetryable: true,
    message: `Endpoint jax-lm rolled back to ${OLD_CONFIG} instead of ${NEW_CONFIG}: alarm "${ALARMS.errors5xx}" fired`,
    details: [{ ...snap('InService', 'rolledBack'), alarmName: ALARMS.errors5xx }],
  });

function activities(
  state: EndpointState,
  sequence: Array<EndpointSnapshot | (() => Promise<EndpointSnapshot>)>,
  overrides: Record<string, unknown> = {},
) {
  const calls: Record<string, unknown[]> = {};
  const order: string[] = [];
  const record = (name: string, arg: unknown) => {
    (calls[name] ??= []).push(arg);
    order.push(name);
  };
  let i = 0;
  return {
    calls,
    order,
    impl: {
      createModel: async (a: unknown) => {
        record('createModel', a);
        return { modelArn: 'arn:aws:sagemaker:us-east-1:123456789012:model/wf-0123abcd-model', reattached: false };
      },
      createEndpointConfig: async (a: unknown) => {
        record('createEndpointConfig', a);
        return {
          endpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${NEW_CONFIG}`,
          reattached: false,
        };
      },
      describeEndpoint: async (a: unknown) => {
        record('describeEndpoint', a);
        return state;
      },
      createEndpoint: async (a: unknown) => {
        record('createEndpoint', a);
        return { endpointArn: ENDPOINT_ARN, reattached: false };
      },
      ensureEndpointDashboard: async (a: unknown) => {
        record('ensureEndpointDashboard', a);
        return { dashboardName: 'sagemaker-endpoint-jax-lm' };
      },
      ensureRollbackAlarms: async (a: unknown) => {
        record('ensureRollbackAlarms', a);
        return { alarmNames: [ALARMS.errors5xx, ALARMS.modelLatency] };
      },
      deregisterAutoscaling: async (a: unknown) => {
        record('deregisterAutoscaling', a);
        return { deregistered: true, policiesDeleted: ['jax-lm-AllTraffic-invocations'] };
      },
      updateEndpoint: async (a: unknown) => {
        record('updateEndpoint', a);
        return { reattached: false, previousEndpointConfigName: OLD_CONFIG, startedAt: '2026-01-01T00:00:00.000Z' };
      },
      waitForEndpoint: async (a: unknown) => {
        record('waitForEndpoint', a);
        const next = sequence[Math.min(i++, sequence.length - 1)];
        return typeof next === 'function' ? next() : next;
      },
      registerAutoscaling: async (a: unknown) => {
        record('registerAutoscaling', a);
        return {
          resourceId: 'endpoint/jax-lm/variant/AllTraffic',
          policyName: 'p',
          policyArn: 'arn:aws:autoscaling:policy/p',
        };
      },
      stopEndpointUpdate: async (a: unknown) => {
        record('stopEndpointUpdate', a);
        return { stopped: true, status: 'RollingBack', alarmName: ALARMS.errors5xx };
      },
      deleteCreatedEndpoint: async (a: unknown) => {
        record('deleteCreatedEndpoint', a);
        return { deleted: true, reason: null };
      },
      ...overrides,
    },
  };
}

async function run(acts: ReturnType<typeof activities>, workflowId: string) {
  const taskQueue = uniqueTaskQueue();
  const worker = await createTestWorker(env, taskQueue, acts.impl);
  return worker.runUntil(
    env.client.workflow.execute(deployModel, { taskQueue, workflowId, args: [input] }).catch((e: unknown) => e),
  );
}

describe('deployModel workflow', () => {
  it('creates a new endpoint (no update, no alarms), waits to InService and registers autoscaling', async () => {
    const acts = activities(missing, [snap('Creating', 'inProgress', null), snap('InService', 'deployed', NEW_CONFIG)]);
    const result = await run(acts, 'deploy-new');
    expect(result).toEqual({
      endpointName: 'jax-lm',
      endpointArn: ENDPOINT_ARN,
      endpointConfigName: NEW_CONFIG,
      previousEndpointConfigName: null,
      modelName: input.modelName,
      action: 'created',
      alarmNames: [],
      autoscalingRegistered: true,
    });
    expect(acts.order).toEqual([
      'createModel',
      'createEndpointConfig',
      'describeEndpoint',
      'ensureEndpointDashboard',
      'createEndpoint',
      'waitForEndpoint',
      'waitForEndpoint',
      'registerAutoscaling',
    ]);
    expect(acts.calls.createModel?.[0]).toMatchObject({
      modelName: input.modelName,
      workflowId: 'deploy-new',
      modelDataUrl: input.modelDataUrl,
      modelPackageArn: input.modelPackageArn,
    });
    expect(acts.calls.createEndpointConfig?.[0]).toMatchObject({
      endpointConfigName: NEW_CONFIG,
      modelName: input.modelName,
      variantName: 'AllTraffic',
      instanceType: 'ml.g5.2xlarge',
      instanceCount: 2,
    });
    expect(acts.calls.createEndpoint).toEqual([
      { endpointName: 'jax-lm', endpointConfigName: NEW_CONFIG, workflowId: 'deploy-new', tags: {} },
    ]);
    expect(acts.calls.waitForEndpoint?.[1]).toMatchObject({
      last: { status: 'Creating' },
      previousEndpointConfigName: null,
    });
    // The dashboard is put before the rollout, with what it shows of the new config and its rollback alarms.
    expect(acts.calls.ensureEndpointDashboard).toEqual([
      {
        endpointName: 'jax-lm',
        endpointConfigName: NEW_CONFIG,
        variantName: 'AllTraffic',
        instanceType: 'ml.g5.2xlarge',
        instanceCount: 2,
        rollback: expect.objectContaining({ max5xxErrors: input.rollback.max5xxErrors }),
        autoscaling: expect.objectContaining({ minCapacity: 2, maxCapacity: 6 }),
      },
    ]);
    expect(acts.calls.registerAutoscaling?.[0]).toMatchObject({
      endpointName: 'jax-lm',
      variantName: 'AllTraffic',
      minCapacity: 2,
      maxCapacity: 6,
      targetInvocationsPerInstance: 100,
    });
  });

  it('updates an existing endpoint blue/green with the policy and auto-rollback alarms', async () => {
    const acts = activities(existing(), [snap('Updating', 'inProgress'), snap('InService', 'deployed', NEW_CONFIG)]);
    const result = await run(acts, 'deploy-update');
    expect(result).toMatchObject({
      action: 'updated',
      previousEndpointConfigName: OLD_CONFIG,
      endpointArn: ENDPOINT_ARN,
      alarmNames: [ALARMS.errors5xx, ALARMS.modelLatency, 'ops-jax-lm-errors'],
      autoscalingRegistered: true,
    });
    expect(acts.order).toEqual([
      'createModel',
      'createEndpointConfig',
      'describeEndpoint',
      'ensureEndpointDashboard',
      'ensureRollbackAlarms',
      'updateEndpoint',
      'waitForEndpoint',
      'waitForEndpoint',
      'registerAutoscaling',
    ]);
    expect(acts.calls.ensureRollbackAlarms?.[0]).toMatchObject({
      endpointName: 'jax-lm',
      endpointConfigName: NEW_CONFIG,
      max5xxErrors: 1,
      maxModelLatencyMs: 2000,
      periodSeconds: 60,
    });
    expect(acts.calls.updateEndpoint).toEqual([
      {
        endpointName: 'jax-lm',
        endpointConfigName: NEW_CONFIG,
        alarmNames: [ALARMS.errors5xx, ALARMS.modelLatency, 'ops-jax-lm-errors'],
        blueGreen: input.blueGreen,
        retainVariantProperties: true,
      },
    ]);
    expect(acts.calls.waitForEndpoint?.[0]).toMatchObject({
      previousEndpointConfigName: OLD_CONFIG,
      since: '2026-01-01T00:00:00.000Z',
      failOnRollback: true,
      alarmNames: [ALARMS.errors5xx, ALARMS.modelLatency, 'ops-jax-lm-errors'],
    });
    expect(acts.calls.createEndpoint).toBeUndefined();
    expect(acts.calls.deregisterAutoscaling).toBeUndefined();
  });

  it('fails non-retryably with DeploymentRolledBack naming the alarm when the update rolls back', async () => {
    const acts = activities(existing(), [
      snap('Updating', 'inProgress'),
      async () => {
        throw rolledBack();
      },
    ]);
    const err = await run(acts, 'deploy-rollback');
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('DeploymentRolledBack');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain(`alarm "${ALARMS.errors5xx}" fired`);
    expect(acts.calls.registerAutoscaling).toBeUndefined();
    expect(acts.calls.stopEndpointUpdate).toBeUndefined();
  });

  it('deregisters autoscaling before an instance-type change and registers it again after', async () => {
    const acts = activities(existing('ml.g5.xlarge'), [
      snap('Updating', 'inProgress'),
      snap('InService', 'deployed', NEW_CONFIG),
    ]);
    const result = await run(acts, 'deploy-autoscaling');
    expect(result).toMatchObject({ action: 'updated', autoscalingRegistered: true });
    expect(acts.order).toEqual([
      'createModel',
      'createEndpointConfig',
      'describeEndpoint',
      'ensureEndpointDashboard',
      'ensureRollbackAlarms',
      'deregisterAutoscaling',
      'updateEndpoint',
      'waitForEndpoint',
      'waitForEndpoint',
      'registerAutoscaling',
    ]);
    expect(acts.calls.deregisterAutoscaling).toEqual([{ endpointName: 'jax-lm', variantName: 'AllTraffic' }]);
    expect(acts.calls.updateEndpoint?.[0]).toMatchObject({ retainVariantProperties: false });
  });

  it('gives the old fleet its autoscaling back when an update that needed deregistration rolls back', async () => {
    const acts = activities(existing('ml.g5.xlarge'), [
      async () => {
        throw rolledBack();
      },
    ]);
    const err = await run(acts, 'deploy-autoscaling-rollback');
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('DeploymentRolledBack');
    expect(acts.order.slice(-3)).toEqual(['updateEndpoint', 'waitForEndpoint', 'registerAutoscaling']);
  });

  it('rolls the update back with stopEndpointUpdate when cancelled during the deployment', async () => {
    const acts = activities(existing(), [
      snap('Updating', 'inProgress'),
      async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      },
    ]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(deployModel, {
        taskQueue,
        workflowId: 'deploy-cancel',
        args: [input],
      });
      while ((acts.calls.waitForEndpoint?.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, handle.workflowId, 60_000);
      const err = 'failure' in report ? report.failure : report;
      return { err, status: await handle.query(statusQuery) };
    });
    expect((result.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(acts.calls.stopEndpointUpdate).toEqual([
      {
        endpointName: 'jax-lm',
        endpointConfigName: NEW_CONFIG,
        alarmNames: [ALARMS.errors5xx, ALARMS.modelLatency],
        reason: 'workflow deploy-cancel cancelled',
      },
    ]);
    expect(result.status.stopped).toEqual([
      `endpoint update jax-lm -> ${NEW_CONFIG} (rolled back via alarm ${ALARMS.errors5xx})`,
    ]);
    expect(acts.calls.registerAutoscaling).toBeUndefined();
  });

  it('deletes the endpoint it created when cancelled during a first deployment (nothing left billing)', async () => {
    const acts = activities(missing, [
      snap('Creating', 'inProgress', null),
      async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(50);
        }
      },
    ]);
    const taskQueue = uniqueTaskQueue();
    const worker = await createTestWorker(env, taskQueue, acts.impl);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(deployModel, {
        taskQueue,
        workflowId: 'deploy-new-cancel',
        args: [input],
      });
      while ((acts.calls.waitForEndpoint?.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 50));
      const report = await cancelAndReport(env.client, handle.workflowId, 60_000);
      const err = 'failure' in report ? report.failure : report;
      return { err, status: await handle.query(statusQuery) };
    });
    expect((result.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(acts.calls.deleteCreatedEndpoint).toEqual([{ endpointName: 'jax-lm', workflowId: 'deploy-new-cancel' }]);
    expect(acts.calls.stopEndpointUpdate).toBeUndefined();
    expect(result.status.stopped).toEqual(['endpoint jax-lm (deleted: created by this run)']);
    expect(acts.calls.registerAutoscaling).toBeUndefined();
  });

  it('leaves an endpoint already InService on this config unchanged', async () => {
    const acts = activities({ ...existing(), endpointConfigName: NEW_CONFIG }, []);
    const result = await run(acts, 'deploy-unchanged');
    expect(result).toMatchObject({ action: 'unchanged', autoscalingRegistered: true });
    expect(acts.calls.updateEndpoint).toBeUndefined();
    expect(acts.calls.createEndpoint).toBeUndefined();
  });
});
