/** Endpoints of the local service: create → InService → invoke (real SDK clients), metrics, blue/green and rollback. */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  ListEndpointsCommand,
  UpdateEndpointCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import { roleCredentials } from '../../../local/shared/credentials';
import { credentials, type Moto, ROLE, s3, sagemaker, seedBucket, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
let cw: CloudWatchClient;
const bucket = 'models';

beforeAll(async () => {
  moto = await startMoto();
  const dir = tmpDir('local-ep-');
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.join(dir, 'model', 'model.json'), JSON.stringify({ steps: 42 }));
  execFileSync('tar', ['-czf', path.join(dir, 'model.tar.gz'), '-C', path.join(dir, 'model'), '.']);
  await seedBucket(s3(moto.url), bucket, {});
  await s3(moto.url).send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'm/model.tar.gz',
      Body: fs.readFileSync(path.join(dir, 'model.tar.gz')),
    }),
  );
  svc = await startService(moto.url, path.join(dir, 'state'));
  svc.endpoints.alarmPollMs = 100;
  sm = sagemaker(svc.url);
  rt = new SageMakerRuntimeClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  cw = new CloudWatchClient({ endpoint: moto.url, region: 'us-east-1', credentials });
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

async function model(name: string, env: Record<string, string> = {}): Promise<void> {
  await sm.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: ROLE,
      PrimaryContainer: { Image: 'jax:latest', ModelDataUrl: `s3://${bucket}/m/model.tar.gz`, Environment: env },
    }),
  );
}

async function config(
  name: string,
  variants: { name: string; model: string; count?: number; weight?: number }[],
): Promise<void> {
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: variants.map((v) => ({
        VariantName: v.name,
        ModelName: v.model,
        InitialInstanceCount: v.count ?? 1,
        InstanceType: 'ml.m5.large',
        InitialVariantWeight: v.weight ?? 1,
      })),
    }),
  );
}

async function waitStatus(
  name: string,
  ok: (d: DescribeEndpointCommandOutput) => boolean,
  timeoutMs = 30_000,
): Promise<DescribeEndpointCommandOutput> {
  let d: DescribeEndpointCommandOutput | undefined;
  await waitUntil(
    async () => ok((d = await sm.send(new DescribeEndpointCommand({ EndpointName: name })))),
    timeoutMs,
    `endpoint ${name}`,
    100,
  );
  return d as DescribeEndpointCommandOutput;
}

async function invoke(name: string, inputs: string): Promise<{ body: Record<string, unknown>; variant?: string }> {
  const res = await rt.send(
    new InvokeEndpointCommand({
      EndpointName: name,
      ContentType: 'application/json',
      Body: JSON.stringify({ inputs, parameters: { max_new_tokens: 4 } }),
    }),
  );
  return {
    body: JSON.parse(Buffer.from(res.Body).toString('utf8')) as Record<string, unknown>,
    variant: res.InvokedProductionVariant,
  };
}

test(
  'CreateEndpoint starts serve processes, is InService ' + 'after /ping, and InvokeEndpoint routes by weight',
  async () => {
    await model('m-a', { FAKE_TAG: 'a', FAKE_PING_DELAY: '0.5' });
    await config('cfg-1', [
      { name: 'blue', model: 'm-a', count: 2, weight: 3 },
      { name: 'small', model: 'm-a', weight: 1 },
    ]);
    await sm.send(
      new CreateEndpointCommand({
        EndpointName: 'ep-1',
        EndpointConfigName: 'cfg-1',
        Tags: [{ Key: 'k', Value: 'v' }],
      }),
    );
    expect((await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-1' }))).EndpointStatus).toBe('Creating');
    const d = await waitStatus('ep-1', (e) => e.EndpointStatus !== 'Creating');
    expect(d.EndpointStatus).toBe('InService');
    expect(d.ProductionVariants?.map((v) => [v.VariantName, v.CurrentInstanceCount])).toEqual([
      ['blue', 2],
      ['small', 1],
    ]);
    const seen: Record<string, number> = {};
    const pids = new Set<unknown>();
    for (let i = 0; i < 40; i++) {
      const r = await invoke('ep-1', 'hello');
      expect(r.body).toMatchObject({
        generated_text: 'hello ...',
        tag: 'a',
        model_steps: 42,
        // Each instance reaches AWS as a session of the model's execution role, through the local service's gateway.
        session_token: roleCredentials(ROLE).sessionToken,
        s3_endpoint: svc.url,
      });
      seen[r.variant ?? '?'] = (seen[r.variant ?? '?'] ?? 0) + 1;
      pids.add(r.body.pid);
    }
    expect(seen.blue).toBeGreaterThan(seen.small ?? 0);
    expect(pids.size).toBe(3);
    // Target a variant explicitly.
    const t = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'ep-1',
        TargetVariant: 'small',
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: 'x' }),
      }),
    );
    expect(t.InvokedProductionVariant).toBe('small');
    const list = await sm.send(new ListEndpointsCommand({}));
    expect(list.Endpoints?.map((e) => e.EndpointName)).toContain('ep-1');
  },
);

test(
  'runtime errors use AWS shapes: ModelError (424) with the container status, ValidationError for unknown ' +
    'endpoints',
  async () => {
    await expect(
      rt.send(
        new InvokeEndpointCommand({ EndpointName: 'ep-1', ContentType: 'application/json', Body: '{"nope": 1}' }),
      ),
    ).rejects.toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 400,
      $metadata: { httpStatusCode: 424 },
    });
    await expect(rt.send(new InvokeEndpointCommand({ EndpointName: 'missing', Body: '{}' }))).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(sm.send(new DescribeEndpointCommand({ EndpointName: 'missing' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/Could not find endpoint/),
    });
    await expect(
      sm.send(new CreateEndpointCommand({ EndpointName: 'ep-1', EndpointConfigName: 'cfg-1' })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/already existing/) });
    await expect(
      sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'cfg-x',
          ProductionVariants: [
            { VariantName: 'v', ModelName: 'nope', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' },
          ],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/Could not find model/),
    });
  },
);

test('invocation metrics reach moto CloudWatch (AWS/SageMaker, EndpointName + VariantName)', async () => {
  await svc.endpoints.publisher.flush();
  const dims = [
    { Name: 'EndpointName', Value: 'ep-1' },
    { Name: 'VariantName', Value: 'blue' },
  ];
  const span = { StartTime: new Date(Date.now() - 600_000), EndTime: new Date(Date.now() + 60_000), Period: 60 };
  const inv = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocations',
      Dimensions: dims,
      Statistics: ['Sum'],
      ...span,
    }),
  );
  const total = (inv.Datapoints ?? []).reduce((s, d) => s + (d.Sum ?? 0), 0);
  expect(total).toBeGreaterThan(10);
  const lat = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: 'AWS/SageMaker',
      MetricName: 'ModelLatency',
      Dimensions: dims,
      Statistics: ['Average'],
      ...span,
    }),
  );
  expect(lat.Datapoints?.length).toBeGreaterThan(0);
});

test('UpdateEndpoint blue/green (CANARY) shifts traffic to the new fleet and retires the old one', async () => {
  await model('m-b', { FAKE_TAG: 'b' });
  await config('cfg-2', [{ name: 'blue', model: 'm-b' }]);
  await cw.send(new PutMetricAlarmCommand(alarm('ep1-5xx', 'ep-1', 'blue')));
  const before = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-1' }));
  await sm.send(
    new UpdateEndpointCommand({
      EndpointName: 'ep-1',
      EndpointConfigName: 'cfg-2',
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: 'CANARY',
            CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 },
            WaitIntervalInSeconds: 1,
          },
          TerminationWaitInSeconds: 0,
        },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'ep1-5xx' }] },
      },
    }),
  );
  const updating = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-1' }));
  expect(updating.EndpointStatus).toBe('Updating');
  expect(updating.PendingDeploymentSummary?.EndpointConfigName).toBe('cfg-2');
  await expect(
    sm.send(new UpdateEndpointCommand({ EndpointName: 'ep-1', EndpointConfigName: 'cfg-2' })),
  ).rejects.toMatchObject({ name: 'ValidationException' });
  const tags = new Set<unknown>();
  while ((await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-1' }))).EndpointStatus === 'Updating')
    tags.add((await invoke('ep-1', 'x')).body.tag);
  const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-1' }));
  expect(d.EndpointStatus).toBe('InService');
  expect(d.EndpointConfigName).toBe('cfg-2');
  expect(d.FailureReason).toBeUndefined();
  expect(tags).toEqual(new Set(['a', 'b']));
  expect((await invoke('ep-1', 'y')).body.tag).toBe('b');
  expect(d.LastModifiedTime!.getTime()).toBeGreaterThan(before.LastModifiedTime!.getTime());
});

test(
  'a failing green fleet trips the rollback alarm: ' + 'RollingBack → InService on the old config, with the reason',
  async () => {
    await model('m-bad', { FAKE_TAG: 'bad', FAKE_STATUS: '500' });
    await config('cfg-bad', [{ name: 'blue', model: 'm-bad' }]);
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'ep-1',
        EndpointConfigName: 'cfg-bad',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: {
              Type: 'LINEAR',
              LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 50 },
              WaitIntervalInSeconds: 5,
            },
            TerminationWaitInSeconds: 0,
          },
          AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'ep1-5xx' }] },
        },
      }),
    );
    const statuses = new Set<string>();
    let d: DescribeEndpointCommandOutput;
    for (;;) {
      d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep-1' }));
      statuses.add(d.EndpointStatus ?? '');
      if (d.EndpointStatus === 'InService') break;
      await invoke('ep-1', 'x').catch(() => undefined);
    }
    expect(statuses).toContain('RollingBack');
    expect(d.EndpointConfigName).toBe('cfg-2');
    expect(d.FailureReason).toMatch(/ep1-5xx/);
    expect((await invoke('ep-1', 'z')).body.tag).toBe('b');
    const a = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['ep1-5xx'] }));
    expect(a.MetricAlarms?.[0]?.StateValue).toBe('ALARM');
  },
);

test('DeleteEndpoint stops the serve processes', async () => {
  const pids = new Set<number>();
  for (let i = 0; i < 5; i++) pids.add((await invoke('ep-1', 'p')).body.pid as number);
  await sm.send(new DeleteEndpointCommand({ EndpointName: 'ep-1' }));
  await waitUntil(
    async () => !(await sm.send(new ListEndpointsCommand({}))).Endpoints?.some((e) => e.EndpointName === 'ep-1'),
    15_000,
    'endpoint deleted',
  );
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
});

function alarm(name: string, endpoint: string, variant: string) {
  return {
    AlarmName: name,
    Namespace: 'AWS/SageMaker',
    MetricName: 'Invocation5XXErrors',
    Dimensions: [
      { Name: 'EndpointName', Value: endpoint },
      { Name: 'VariantName', Value: variant },
    ],
    Statistic: 'Sum' as const,
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold' as const,
  };
}
