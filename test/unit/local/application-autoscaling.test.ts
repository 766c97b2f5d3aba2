/**
 * Application Auto Scaling in the local service (AnyScaleFrontendService), through the real SDK client: registering a
 * variant validates it, brings its capacity into range with a scaling activity that puts the endpoint in Updating,
 * a target just registered is invisible for a while (ObjectNotFoundException), an update during an activity gets
 * ConcurrentUpdateException, target tracking scales on the fleet's own invocations, and deleting the endpoint
 * deregisters its targets.
 */
import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingActivitiesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CreateEndpointConfigCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { sleep, waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import { deployEndpoint, seedModelTarball, waitEndpoint } from './hosting-fixture';
import { credentials, type Moto, sagemaker, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(120_000);

const CONSISTENCY_MS = 1_500;
const PERIOD_MS = 300;
let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
let aas: ApplicationAutoScalingClient;
const bucket = 'models';
const DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
const target = (endpoint: string) => ({
  ServiceNamespace: 'sagemaker' as const,
  ResourceId: `endpoint/${endpoint}/variant/AllTraffic`,
  ScalableDimension: DIMENSION as never,
});

/** A target-tracking policy on invocations per instance (the pipeline's kind). */
const policy = (
  endpoint: string,
  targetValue: number,
  cooldowns: { ScaleOutCooldown?: number; ScaleInCooldown?: number } = {},
) =>
  new PutScalingPolicyCommand({
    ...target(endpoint),
    PolicyName: `${endpoint}-tt`,
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: targetValue,
      PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
      ...cooldowns,
    },
  });

beforeAll(async () => {
  moto = await startMoto();
  await seedModelTarball(moto.url, bucket);
  svc = await startService(moto.url, tmpDir('local-aas-'), {
    autoscalingConsistencyMs: CONSISTENCY_MS,
    autoscalingPeriodMs: PERIOD_MS,
  });
  sm = sagemaker(svc.url);
  aas = new ApplicationAutoScalingClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

async function refused(call: Promise<unknown>): Promise<Error> {
  return call.then(
    () => {
      throw new Error('expected the call to be refused');
    },
    (e: unknown) => e as Error,
  );
}

test('a variant must be deployed, and its capacity range must make sense', async () => {
  const missing = await refused(
    aas.send(new RegisterScalableTargetCommand({ ...target('nowhere'), MinCapacity: 1, MaxCapacity: 2 })),
  );
  expect(missing.name).toBe('ValidationException');
  expect(missing.message).toMatch(/variant AllTraffic of endpoint nowhere does not exist/);
  await deployEndpoint(sm, bucket, 'aas-range');
  const zero = await refused(
    aas.send(new RegisterScalableTargetCommand({ ...target('aas-range'), MinCapacity: 0, MaxCapacity: 2 })),
  );
  expect(zero.message).toMatch(/at least 1 instance/);
  const noMax = await refused(aas.send(new RegisterScalableTargetCommand({ ...target('aas-range'), MinCapacity: 1 })));
  expect(noMax.message).toMatch(/MinCapacity and MaxCapacity are required/);
});

test('registering brings capacity into range (endpoint Updating), and a new target is invisible for a while', async () => {
  await deployEndpoint(sm, bucket, 'aas-1');
  await aas.send(new RegisterScalableTargetCommand({ ...target('aas-1'), MinCapacity: 2, MaxCapacity: 3 }));

  // The scaling activity: the endpoint is Updating while the second instance starts.
  expect((await sm.send(new DescribeEndpointCommand({ EndpointName: 'aas-1' }))).EndpointStatus).toBe('Updating');
  const busy = await refused(
    aas.send(new RegisterScalableTargetCommand({ ...target('aas-1'), MinCapacity: 2, MaxCapacity: 4 })),
  );
  expect(busy.name).toBe('ConcurrentUpdateException');

  // Eventual consistency: the policy cannot see the target yet, nor can a describe.
  const early = await refused(aas.send(policy('aas-1', 100)));
  expect(early.name).toBe('ObjectNotFoundException');
  expect(early.message).toBe(
    `No scalable target registered for service namespace: sagemaker, resource ID: endpoint/aas-1/variant/AllTraffic, scalable dimension: ${DIMENSION}`,
  );
  expect(
    (
      await aas.send(
        new DescribeScalableTargetsCommand({
          ServiceNamespace: 'sagemaker',
          ResourceIds: [target('aas-1').ResourceId],
        }),
      )
    ).ScalableTargets,
  ).toEqual([]);

  const d = await waitEndpoint(sm, 'aas-1', (e) => e.EndpointStatus === 'InService');
  expect(d.ProductionVariants?.[0]).toMatchObject({ CurrentInstanceCount: 2, DesiredInstanceCount: 2 });
  const activities = await aas.send(new DescribeScalingActivitiesCommand(target('aas-1')));
  expect(activities.ScalingActivities?.[0]).toMatchObject({
    Description: 'Setting desired instance count to 2.',
    StatusCode: 'Successful',
  });
  expect(activities.ScalingActivities?.[0]?.Cause).toMatch(/^minimum capacity was set to 2/);

  await sleep(CONSISTENCY_MS);
  await aas.send(policy('aas-1', 100));
  const listed = await aas.send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [target('aas-1').ResourceId] }),
  );
  expect(listed.ScalableTargets?.[0]).toMatchObject({ MinCapacity: 2, MaxCapacity: 3 });
});

test('an update that changes the instance type of an autoscaled variant fails until it is deregistered', async () => {
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'aas-1-bigger',
      ProductionVariants: [
        { VariantName: 'AllTraffic', ModelName: 'aas-1', InitialInstanceCount: 1, InstanceType: 'ml.m5.xlarge' },
      ],
    }),
  );
  const err = await refused(
    sm.send(new UpdateEndpointCommand({ EndpointName: 'aas-1', EndpointConfigName: 'aas-1-bigger' })),
  );
  expect(err.name).toBe('ValidationException');
  expect(err.message).toMatch(/registered as Application Auto Scaling scalable targets/);
  await aas.send(new DeregisterScalableTargetCommand(target('aas-1')));
  await sm.send(new UpdateEndpointCommand({ EndpointName: 'aas-1', EndpointConfigName: 'aas-1-bigger' }));
  const d = await waitEndpoint(
    sm,
    'aas-1',
    (e) => e.EndpointStatus === 'InService' && e.EndpointConfigName === 'aas-1-bigger',
  );
  expect(d.EndpointConfigName).toBe('aas-1-bigger');
});

test("target tracking scales out on the fleet's invocations and back in without traffic; DeleteEndpoint deregisters", async () => {
  await deployEndpoint(sm, bucket, 'aas-tt');
  await aas.send(new RegisterScalableTargetCommand({ ...target('aas-tt'), MinCapacity: 1, MaxCapacity: 2 }));
  await sleep(CONSISTENCY_MS);
  await aas.send(policy('aas-tt', 1, { ScaleOutCooldown: 0, ScaleInCooldown: 0 }));
  const rt = new SageMakerRuntimeClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  let traffic = true;
  const load = (async () => {
    while (traffic) {
      await rt
        .send(
          new InvokeEndpointCommand({
            EndpointName: 'aas-tt',
            ContentType: 'application/json',
            Body: '{"inputs":"x"}',
          }),
        )
        .catch(() => undefined);
      await sleep(20);
    }
  })();
  const scaledOut = await waitEndpoint(
    sm,
    'aas-tt',
    (e) => e.ProductionVariants?.[0]?.DesiredInstanceCount === 2,
    30_000,
  );
  expect(scaledOut.EndpointStatus).toBe('Updating');
  await waitEndpoint(
    sm,
    'aas-tt',
    (e) => e.EndpointStatus === 'InService' && e.ProductionVariants?.[0]?.CurrentInstanceCount === 2,
  );
  traffic = false;
  await load;
  await waitEndpoint(
    sm,
    'aas-tt',
    (e) => e.EndpointStatus === 'InService' && e.ProductionVariants?.[0]?.CurrentInstanceCount === 1,
    30_000,
  );
  const activities = await aas.send(new DescribeScalingActivitiesCommand(target('aas-tt')));
  expect(activities.ScalingActivities?.map((a) => a.Description)).toEqual([
    'Setting desired instance count to 1.',
    'Setting desired instance count to 2.',
  ]);

  await sm.send(new DeleteEndpointCommand({ EndpointName: 'aas-tt' }));
  await waitUntil(
    async () =>
      (
        (
          await aas.send(
            new DescribeScalableTargetsCommand({
              ServiceNamespace: 'sagemaker',
              ResourceIds: [target('aas-tt').ResourceId],
            }),
          )
        ).ScalableTargets ?? []
      ).length === 0,
    20_000,
    'target deregistered with its endpoint',
  );
});
