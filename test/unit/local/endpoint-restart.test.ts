/**
 * A blue/green update interrupted by a restart of the local service (found by the chaos service-restart campaign):
 * the new incarnation brings the endpoint back on its previous config, and DescribeEndpoint keeps saying why the
 * update never finished, so the deploy step can fail naming the restart instead of an unexplained rollback.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  type SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import { type Moto, ROLE, s3, sagemaker, seedBucket, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(90_000);

let moto: Moto;
let svc: LocalService | undefined;
const bucket = 'models';

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

async function waitStatus(
  sm: SageMakerClient,
  ok: (d: DescribeEndpointCommandOutput) => boolean,
): Promise<DescribeEndpointCommandOutput> {
  let d: DescribeEndpointCommandOutput | undefined;
  await waitUntil(
    async () => ok((d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ep' })))),
    60_000,
    'endpoint ep',
    100,
  );
  return d as DescribeEndpointCommandOutput;
}

test(
  'an update interrupted by a restart ends InService on the ' + 'old config with a FailureReason naming the restart',
  async () => {
    const dir = tmpDir('local-ep-restart-');
    fs.mkdirSync(path.join(dir, 'model'));
    fs.writeFileSync(path.join(dir, 'model', 'model.json'), JSON.stringify({ steps: 1 }));
    execFileSync('tar', ['-czf', path.join(dir, 'model.tar.gz'), '-C', path.join(dir, 'model'), '.']);
    await seedBucket(s3(moto.url), bucket, {});
    await s3(moto.url).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'm/model.tar.gz',
        Body: fs.readFileSync(path.join(dir, 'model.tar.gz')),
      }),
    );
    const state = path.join(dir, 'state');
    svc = await startService(moto.url, state);
    let sm = sagemaker(svc.url);
    for (const [model, cfg] of [
      ['m-old', 'cfg-old'],
      ['m-new', 'cfg-new'],
    ] as const) {
      await sm.send(
        new CreateModelCommand({
          ModelName: model,
          ExecutionRoleArn: ROLE,
          PrimaryContainer: { Image: 'jax:latest', ModelDataUrl: `s3://${bucket}/m/model.tar.gz` },
        }),
      );
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: cfg,
          ProductionVariants: [
            { VariantName: 'AllTraffic', ModelName: model, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' },
          ],
        }),
      );
    }
    await sm.send(new CreateEndpointCommand({ EndpointName: 'ep', EndpointConfigName: 'cfg-old' }));
    await waitStatus(sm, (d) => d.EndpointStatus === 'InService');
    // A long canary wait keeps the update in Updating until the service goes away. The canary is half the variant
    // (a canary of 1 instance out of 1 is more than the 50% AWS allows: endpoint.blue-green-step-size).
    await sm.send(
      new UpdateEndpointCommand({
        EndpointName: 'ep',
        EndpointConfigName: 'cfg-new',
        DeploymentConfig: {
          BlueGreenUpdatePolicy: {
            TrafficRoutingConfiguration: {
              Type: 'CANARY',
              CanarySize: { Type: 'CAPACITY_PERCENT', Value: 50 },
              WaitIntervalInSeconds: 600,
            },
            TerminationWaitInSeconds: 0,
          },
        },
      }),
    );
    await waitStatus(sm, (d) => d.EndpointStatus === 'Updating');
    await svc.close();

    svc = await startService(moto.url, state);
    sm = sagemaker(svc.url);
    const after = await waitStatus(sm, (d) => d.EndpointStatus === 'InService');
    expect(after.EndpointConfigName).toBe('cfg-old');
    expect(after.FailureReason).toMatch(/update to cfg-new was interrupted by a restart of the local service/);
  },
);
