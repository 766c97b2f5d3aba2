/** Endpoints for tests of the local service: a model tarball in moto S3, and model → config → endpoint helpers. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from '../../../local/shared/procs';
import { ROLE, s3, seedBucket, tmpDir } from './helpers';

/** Puts `s3://<bucket>/m/model.tar.gz` (what the fake serve reads) into moto. */
export async function seedModelTarball(motoUrl: string, bucket: string): Promise<void> {
  const dir = tmpDir('local-model-');
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.join(dir, 'model', 'model.json'), JSON.stringify({ steps: 42 }));
  execFileSync('tar', ['-czf', path.join(dir, 'model.tar.gz'), '-C', path.join(dir, 'model'), '.']);
  await seedBucket(s3(motoUrl), bucket, {});
  await s3(motoUrl).send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'm/model.tar.gz',
      Body: fs.readFileSync(path.join(dir, 'model.tar.gz')),
    }),
  );
}

/** A model over the tarball, and a one-variant (`AllTraffic`) endpoint config for it. */
export async function modelAndConfig(
  sm: SageMakerClient,
  bucket: string,
  name: string,
  opts: { count?: number; instanceType?: string; env?: Record<string, string> } = {},
): Promise<void> {
  await sm.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: ROLE,
      PrimaryContainer: { Image: 'jax:latest', ModelDataUrl: `s3://${bucket}/m/model.tar.gz`, Environment: opts.env },
    }),
  );
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: name,
          InitialInstanceCount: opts.count ?? 1,
          InstanceType: (opts.instanceType ?? 'ml.m5.large') as never,
          InitialVariantWeight: 1,
        },
      ],
    }),
  );
}

/** Polls DescribeEndpoint until `ok`. */
export async function waitEndpoint(
  sm: SageMakerClient,
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

/** Model, config and endpoint `name`, InService. */
export async function deployEndpoint(
  sm: SageMakerClient,
  bucket: string,
  name: string,
  opts: { count?: number; instanceType?: string; env?: Record<string, string> } = {},
): Promise<DescribeEndpointCommandOutput> {
  await modelAndConfig(sm, bucket, name, opts);
  await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  return waitEndpoint(sm, name, (d) => d.EndpointStatus !== 'Creating');
}
