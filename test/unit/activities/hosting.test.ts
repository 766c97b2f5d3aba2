import {
  CloudWatchClient,
  DeleteDashboardsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  AddTagsCommand,
  DeleteTagsCommand,
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListTagsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mockClient } from 'aws-sdk-client-mock';
import { createHostingActivities, UPDATE_REQUESTED_TAG } from '../../../activities/hosting';
import {
  autoscalingMustBeDeregistered,
  type EndpointSnapshot,
  type EndpointState,
  type UpdateEndpointInput,
} from '../../../contracts/deploy-model';
import { WORKFLOW_ID_TAG } from '../../../contracts/task-queue';
import { awsError, expectFailure, invalid, testDeps, throttled } from './helpers';

const sm = mockClient(SageMakerClient);
const cw = mockClient(CloudWatchClient);
const acts = createHostingActivities(testDeps());
const EP = 'jax-lm';
const EP_ARN = `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${EP}`;
const OLD = 'run-1-epc-11111111';
const NEW = 'run-2-epc-22222222';
const ALARMS = [`${NEW}-rollback-5xx`, `${NEW}-rollback-model-latency`];
const ours = { Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'wf-2' }] };

function endpoint(over: Partial<DescribeEndpointCommandOutput> = {}): DescribeEndpointCommandOutput {
  return {
    $metadata: {},
    EndpointName: EP,
    EndpointArn: EP_ARN,
    EndpointConfigName: OLD,
    EndpointStatus: 'InService',
    CreationTime: new Date(0),
    LastModifiedTime: new Date('2025-01-01T00:00:00Z'),
    ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 3, DesiredInstanceCount: 3 }],
    ...over,
  };
}

beforeEach(() => {
  sm.reset();
  cw.reset();
});

describe('createModel / createEndpointConfig / createEndpoint', () => {
  it('create with deterministic names, tags and the variant settings', async () => {
    sm.on(CreateModelCommand).resolves({ ModelArn: 'arn:model' });
    sm.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn:epc' });
    sm.on(CreateEndpointCommand).resolves({ EndpointArn: EP_ARN });
    await expect(
      acts.createModel({
        modelName: 'm-2',
        workflowId: 'wf-2',
        imageUri: 'img@sha256:' + 'c'.repeat(64),
        modelDataUrl: 's3://b/m.tar.gz',
        roleArn: 'arn:role',
        modelPackageArn: 'arn:pkg/5',
      }),
    ).resolves.toEqual({ modelArn: 'arn:model', reattached: false });
    expect(sm).toHaveReceivedCommandWith(CreateModelCommand, {
      ModelName: 'm-2',
      PrimaryContainer: { Image: 'img@sha256:' + 'c'.repeat(64), ModelDataUrl: 's3://b/m.tar.gz', Environment: {} },
      ExecutionRoleArn: 'arn:role',
      Tags: [
        { Key: 'pipeline:model-package', Value: 'arn:pkg/5' },
        { Key: WORKFLOW_ID_TAG, Value: 'wf-2' },
      ],
    });
    await acts.createEndpointConfig({
      endpointConfigName: NEW,
      workflowId: 'wf-2',
      modelName: 'm-2',
      instanceType: 'ml.g5.2xlarge',
      instanceCount: 2,
      startupHealthCheckTimeoutSeconds: 600,
    });
    expect(sm).toHaveReceivedCommandWith(CreateEndpointConfigCommand, {
      EndpointConfigName: NEW,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: 'm-2',
          InstanceType: 'ml.g5.2xlarge',
          InitialInstanceCount: 2,
          InitialVariantWeight: 1,
          ContainerStartupHealthCheckTimeoutInSeconds: 600,
        },
      ],
    });
    await expect(
      acts.createEndpoint({ endpointName: EP, endpointConfigName: NEW, workflowId: 'wf-2' }),
    ).resolves.toEqual({ endpointArn: EP_ARN, reattached: false });
    expect(sm).toHaveReceivedCommandWith(CreateEndpointCommand, { EndpointName: EP, EndpointConfigName: NEW });
  });

  it('re-attach on "Cannot create already existing" when the resource carries our tag', async () => {
    sm.on(CreateModelCommand).rejects(
      awsError('ValidationException', 400, 'Cannot create already existing model "arn:model".'),
    );
    sm.on(DescribeModelCommand).resolves({ ModelArn: 'arn:model' });
    sm.on(CreateEndpointConfigCommand).rejects(
      awsError('ValidationException', 400, 'Cannot create already existing endpoint configuration "arn:epc".'),
    );
    sm.on(DescribeEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn:epc' });
    sm.on(CreateEndpointCommand).rejects(
      awsError('ValidationException', 400, 'Cannot create already existing endpoint "arn".'),
    );
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointConfigName: NEW, EndpointStatus: 'Creating' }));
    sm.on(ListTagsCommand).resolves(ours);
    await expect(
      acts.createModel({ modelName: 'm-2', workflowId: 'wf-2', imageUri: 'i', modelDataUrl: 's3://b/m', roleArn: 'r' }),
    ).resolves.toEqual({ modelArn: 'arn:model', reattached: true });
    await expect(
      acts.createEndpointConfig({
        endpointConfigName: NEW,
        workflowId: 'wf-2',
        modelName: 'm-2',
        instanceType: 'ml.g5.2xlarge',
        instanceCount: 2,
        startupHealthCheckTimeoutSeconds: 600,
      }),
    ).resolves.toEqual({ endpointConfigArn: 'arn:epc', reattached: true });
    await expect(
      acts.createEndpoint({ endpointName: EP, endpointConfigName: NEW, workflowId: 'wf-2' }),
    ).resolves.toEqual({ endpointArn: EP_ARN, reattached: true });
  });

  it(
    'a same-named endpoint of someone else is a ' + 'ResourceConflict; throttling retries; validation does ' + 'not',
    async () => {
      sm.on(CreateEndpointCommand)
        .rejectsOnce(awsError('ValidationException', 400, 'Cannot create already existing endpoint'))
        .rejectsOnce(throttled())
        .rejectsOnce(invalid());
      sm.on(DescribeEndpointCommand).resolves(endpoint());
      sm.on(ListTagsCommand).resolves({ Tags: [] });
      await expectFailure(
        acts.createEndpoint({ endpointName: EP, endpointConfigName: NEW, workflowId: 'wf-2' }),
        'ResourceConflict',
        true,
        /missing/,
      );
      await expectFailure(
        acts.createEndpoint({ endpointName: EP, endpointConfigName: NEW, workflowId: 'wf-2' }),
        'AwsTransient',
        false,
      );
      await expectFailure(
        acts.createEndpoint({ endpointName: EP, endpointConfigName: NEW, workflowId: 'wf-2' }),
        'AwsValidation',
        true,
      );
    },
  );
});

describe('describeEndpoint', () => {
  it('reports a missing endpoint, and an existing one with its variants’ instance types', async () => {
    sm.on(DescribeEndpointCommand)
      .rejectsOnce(awsError('ValidationException', 400, `Could not find endpoint "${EP_ARN}".`))
      .resolves(endpoint());
    sm.on(DescribeEndpointConfigCommand).resolves({
      ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.g5.2xlarge' }],
    });
    await expect(acts.describeEndpoint({ endpointName: EP })).resolves.toMatchObject({ exists: false, variants: [] });
    const state: EndpointState = await acts.describeEndpoint({ endpointName: EP });
    expect(state).toEqual({
      exists: true,
      endpointArn: EP_ARN,
      status: 'InService',
      endpointConfigName: OLD,
      pendingEndpointConfigName: null,
      variants: [
        { variantName: 'AllTraffic', instanceType: 'ml.g5.2xlarge', currentInstanceCount: 3, desiredInstanceCount: 3 },
      ],
    });
    expect(autoscalingMustBeDeregistered(state, 'AllTraffic', 'ml.g5.2xlarge')).toBe(false); // only the model changes
    expect(autoscalingMustBeDeregistered(state, 'AllTraffic', 'ml.g6.2xlarge')).toBe(true); // instance type changes
    expect(
      autoscalingMustBeDeregistered({ ...state, exists: false, variants: [] }, 'AllTraffic', 'ml.g6.2xlarge'),
    ).toBe(false);
  });
});

describe('updateEndpoint', () => {
  const update: UpdateEndpointInput = {
    endpointName: EP,
    endpointConfigName: NEW,
    alarmNames: [...ALARMS, 'ops-p99'],
    blueGreen: {
      trafficRouting: {
        type: 'LINEAR',
        linearStepSize: { type: 'CAPACITY_PERCENT', value: 20 },
        waitIntervalSeconds: 120,
      },
      terminationWaitSeconds: 300,
      maximumExecutionTimeoutSeconds: 3600,
    },
    retainVariantProperties: true,
  };

  it('starts a blue/green update with auto-rollback alarms, tagging the request first', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint());
    sm.on(ListTagsCommand).resolves(ours);
    sm.on(AddTagsCommand).resolves({});
    sm.on(UpdateEndpointCommand).resolves({ EndpointArn: EP_ARN });
    const out = await acts.updateEndpoint(update);
    expect(out).toMatchObject({ reattached: false, previousEndpointConfigName: OLD });
    expect(sm).toHaveReceivedCommandWith(AddTagsCommand, {
      ResourceArn: EP_ARN,
      Tags: [{ Key: UPDATE_REQUESTED_TAG, Value: `${NEW}@${out.startedAt}` }],
    });
    expect(sm).toHaveReceivedCommandWith(UpdateEndpointCommand, {
      EndpointName: EP,
      EndpointConfigName: NEW,
      RetainAllVariantProperties: true,
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: 'LINEAR',
            WaitIntervalInSeconds: 120,
            LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 20 },
          },
          TerminationWaitInSeconds: 300,
          MaximumExecutionTimeoutInSeconds: 3600,
        },
        AutoRollbackConfiguration: {
          Alarms: [{ AlarmName: ALARMS[0] }, { AlarmName: ALARMS[1] }, { AlarmName: 'ops-p99' }],
        },
      },
    });
  });

  it('sends CANARY sizes', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint());
    sm.on(ListTagsCommand).resolves(ours);
    await acts.updateEndpoint({
      ...update,
      blueGreen: {
        ...update.blueGreen,
        trafficRouting: { type: 'CANARY', canarySize: { type: 'INSTANCE_COUNT', value: 1 }, waitIntervalSeconds: 300 },
      },
    });
    const call = sm.commandCalls(UpdateEndpointCommand)[0]!.args[0].input;
    expect(call.DeploymentConfig?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration).toEqual({
      Type: 'CANARY',
      WaitIntervalInSeconds: 300,
      CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
    });
  });

  it(
    're-attaches instead of starting a second update: ' + 'updating to the config, or already rolled back from it',
    async () => {
      sm.on(DescribeEndpointCommand).resolves(
        endpoint({ EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: NEW } }),
      );
      sm.on(ListTagsCommand).resolves({
        Tags: [{ Key: UPDATE_REQUESTED_TAG, Value: `${NEW}@2025-02-01T00:00:00.000Z` }],
      });
      await expect(acts.updateEndpoint(update)).resolves.toEqual({
        reattached: true,
        previousEndpointConfigName: OLD,
        startedAt: '2025-02-01T00:00:00.000Z',
      });

      sm.on(DescribeEndpointCommand).resolves(endpoint({ LastModifiedTime: new Date('2025-02-01T01:00:00Z') }));
      await expect(acts.updateEndpoint(update)).resolves.toMatchObject({
        reattached: true,
        previousEndpointConfigName: OLD,
      });
      expect(sm).not.toHaveReceivedCommand(UpdateEndpointCommand);
    },
  );

  it('a request tag without a later endpoint change means the call never happened: it is sent', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ LastModifiedTime: new Date('2025-01-01T00:00:00Z') }));
    sm.on(ListTagsCommand).resolves({
      Tags: [{ Key: UPDATE_REQUESTED_TAG, Value: `${NEW}@2025-02-01T00:00:00.000Z` }],
    });
    await expect(acts.updateEndpoint(update)).resolves.toMatchObject({ reattached: false });
    expect(sm).toHaveReceivedCommandTimes(UpdateEndpointCommand, 1);
  });

  it('refuses to start while someone else’s update runs', async () => {
    sm.on(DescribeEndpointCommand).resolves(
      endpoint({ EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: 'other' } }),
    );
    sm.on(ListTagsCommand).resolves({ Tags: [] });
    await expectFailure(acts.updateEndpoint(update), 'ResourceConflict', true, /updating to other/);
  });

  it('waits out an endpoint that Application Auto Scaling is resizing (Updating, no deployment pending)', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointStatus: 'Updating' }));
    sm.on(ListTagsCommand).resolves({ Tags: [] });
    await expectFailure(
      acts.updateEndpoint(update),
      'ResourceBusy',
      false,
      /is Updating: SageMaker refuses to update it/,
    );
    expect(sm).not.toHaveReceivedCommand(AddTagsCommand);
    expect(sm).not.toHaveReceivedCommand(UpdateEndpointCommand);
  });

  it('a capacity change that starts between Describe and UpdateEndpoint: the request tag is taken back, then it waits', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint());
    sm.on(ListTagsCommand).resolves({ Tags: [] });
    sm.on(AddTagsCommand).resolves({});
    sm.on(DeleteTagsCommand).resolves({});
    sm.on(UpdateEndpointCommand).rejects(
      awsError(
        'ValidationException',
        400,
        `Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:1:endpoint/${EP}".`,
      ),
    );
    await expectFailure(acts.updateEndpoint(update), 'ResourceBusy', false);
    expect(sm).toHaveReceivedCommandWith(DeleteTagsCommand, { TagKeys: [UPDATE_REQUESTED_TAG] });
  });
});

describe('waitForEndpoint', () => {
  const wait = {
    endpointName: EP,
    endpointConfigName: NEW,
    previousEndpointConfigName: OLD,
    alarmNames: ALARMS,
    pollIntervalSeconds: 1,
    since: '2025-02-01T00:00:00Z',
  };

  it('heartbeats while Updating and returns deployed once InService on the new config', async () => {
    sm.on(DescribeEndpointCommand)
      .resolvesOnce(endpoint({ EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: NEW } }))
      .resolves(endpoint({ EndpointConfigName: NEW }));
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const snap: EndpointSnapshot = await env.run(acts.waitForEndpoint, { ...wait, last: { status: 'Updating' } });
    expect(snap).toEqual({
      endpointName: EP,
      status: 'InService',
      endpointConfigName: NEW,
      pendingEndpointConfigName: null,
      outcome: 'deployed',
      alarmName: null,
    });
    expect(beats[0]).toMatchObject({ status: 'Updating', pendingEndpointConfigName: NEW, outcome: 'inProgress' });
  });

  it('detects a rollback and fails non-retryably naming the alarm in ALARM', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint());
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: ALARMS[0], StateValue: 'OK' },
        { AlarmName: ALARMS[1], StateValue: 'ALARM' },
      ],
    });
    const f = await expectFailure(
      new MockActivityEnvironment().run(acts.waitForEndpoint, { ...wait, last: { status: 'Updating' } }),
      'DeploymentRolledBack',
      true,
    );
    expect(f.message).toContain(`alarm "${ALARMS[1]}" fired`);
    expect(f.message).toContain(`rolled back to ${OLD}`);
    expect(cw).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: ALARMS });
  });

  it(
    'finds an alarm that is back to OK from its state ' + 'history, and can return the rollback instead of failing',
    async () => {
      sm.on(DescribeEndpointCommand).resolves(endpoint());
      cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: ALARMS[0], StateValue: 'OK' }] });
      cw.on(DescribeAlarmHistoryCommand, { AlarmName: ALARMS[0] }).resolves({
        AlarmHistoryItems: [
          { HistorySummary: 'Alarm updated from ALARM to OK' },
          { HistorySummary: 'Alarm updated from OK to ALARM' },
        ],
      });
      const snap: EndpointSnapshot = await new MockActivityEnvironment().run(acts.waitForEndpoint, {
        ...wait,
        last: null,
        failOnRollback: false,
      });
      expect(snap).toMatchObject({ outcome: 'rolledBack', alarmName: ALARMS[0], endpointConfigName: OLD });
      expect(cw).toHaveReceivedCommandWith(DescribeAlarmHistoryCommand, {
        AlarmName: ALARMS[0],
        HistoryItemType: 'StateUpdate',
        StartDate: new Date(wait.since),
      });
    },
  );

  it('fails with FailureReason when the endpoint is Failed', async () => {
    sm.on(DescribeEndpointCommand).resolves(
      endpoint({
        EndpointStatus: 'Failed',
        FailureReason: 'The primary container did not pass the ping health check.',
      }),
    );
    await expectFailure(
      new MockActivityEnvironment().run(acts.waitForEndpoint, { ...wait, last: null }),
      'JobFailed',
      true,
      /did not pass the ping health check/,
    );
  });
});

describe('stopEndpointUpdate', () => {
  it('forces the update’s alarm to ALARM until SageMaker rolls back', async () => {
    sm.on(DescribeEndpointCommand)
      .resolvesOnce(endpoint({ EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: NEW } }))
      .resolves(endpoint({ EndpointStatus: 'RollingBack' }));
    cw.on(SetAlarmStateCommand).resolves({});
    const out = await new MockActivityEnvironment().run(acts.stopEndpointUpdate, {
      endpointName: EP,
      endpointConfigName: NEW,
      alarmNames: ALARMS,
    });
    expect(out).toEqual({ stopped: true, status: 'RollingBack', alarmName: ALARMS[0] });
    expect(cw).toHaveReceivedCommandWith(SetAlarmStateCommand, { AlarmName: ALARMS[0], StateValue: 'ALARM' });
  });

  it('leaves a finished update alone', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointConfigName: NEW }));
    const out = await new MockActivityEnvironment().run(acts.stopEndpointUpdate, {
      endpointName: EP,
      endpointConfigName: NEW,
      alarmNames: ALARMS,
    });
    expect(out).toEqual({ stopped: false, status: 'InService', alarmName: null });
    expect(cw).not.toHaveReceivedCommand(SetAlarmStateCommand);
  });
});

describe('deleteCreatedEndpoint (cancelling a first deployment)', () => {
  it('deletes the endpoint when this workflow created it', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointStatus: 'InService' }));
    sm.on(ListTagsCommand).resolves(ours);
    sm.on(DeleteEndpointCommand).resolves({});
    await expect(acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' })).resolves.toEqual({
      deleted: true,
      reason: null,
    });
    expect(sm).toHaveReceivedCommandWith(DeleteEndpointCommand, { EndpointName: EP });
    // Its dashboard goes with it.
    expect(cw).toHaveReceivedCommandWith(DeleteDashboardsCommand, { DashboardNames: [`sagemaker-endpoint-${EP}`] });
  });

  it('deletes the dashboard on a retry that finds the endpoint Deleting, and tolerates one already gone', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointStatus: 'Deleting' }));
    sm.on(ListTagsCommand).resolves(ours);
    cw.on(DeleteDashboardsCommand).rejects(
      awsError('ResourceNotFound', 404, 'The specified dashboard does not exist.'),
    );
    await expect(acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' })).resolves.toEqual({
      deleted: true,
      reason: null,
    });
    expect(cw).toHaveReceivedCommandWith(DeleteDashboardsCommand, { DashboardNames: [`sagemaker-endpoint-${EP}`] });
    expect(sm).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it("leaves someone else's endpoint's dashboard alone", async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint());
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'other-run' }] });
    await acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' });
    expect(cw).not.toHaveReceivedCommand(DeleteDashboardsCommand);
  });

  it('waits (retryable ResourceBusy) while the endpoint is Creating, without calling DeleteEndpoint', async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointStatus: 'Creating' }));
    sm.on(ListTagsCommand).resolves(ours);
    await expectFailure(
      acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' }),
      'ResourceBusy',
      false,
      /is Creating: SageMaker refuses to delete it/,
    );
    expect(sm).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it("treats SageMaker's in-progress refusal of DeleteEndpoint (a race with the Describe) as busy", async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint({ EndpointStatus: 'InService' }));
    sm.on(ListTagsCommand).resolves(ours);
    sm.on(DeleteEndpointCommand).rejects(
      awsError(
        'ValidationException',
        400,
        `Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:1:endpoint/${EP}".`,
      ),
    );
    await expectFailure(acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' }), 'ResourceBusy', false);
  });

  it("leaves someone else's endpoint alone and says whose it is", async () => {
    sm.on(DescribeEndpointCommand).resolves(endpoint());
    sm.on(ListTagsCommand).resolves({ Tags: [{ Key: WORKFLOW_ID_TAG, Value: 'other-run' }] });
    const out = await acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' });
    expect(out.deleted).toBe(false);
    expect(out.reason).toMatch(/other-run/);
    expect(sm).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it('is a no-op when the endpoint is already gone (safe to run twice)', async () => {
    sm.on(DescribeEndpointCommand).rejects(awsError('ValidationException', 400, 'Could not find endpoint "jax-lm".'));
    await expect(acts.deleteCreatedEndpoint({ endpointName: EP, workflowId: 'wf-2' })).resolves.toEqual({
      deleted: false,
      reason: 'endpoint jax-lm does not exist',
    });
    expect(sm).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });
});
