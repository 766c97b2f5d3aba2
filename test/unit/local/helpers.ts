/** Shared test plumbing: a moto server on a free port, a local service on an ephemeral port, SDK clients. */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  SageMakerClient,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, httpStatus, waitUntil } from '../../../local/shared/procs';
import { mulberry32 } from '../../../local/shared/random';
import { startLocalService, type LocalService } from '../../../local/service/server';
import { IamEnforcer } from '../../../local/service/iam/enforcer';
import { extraRolesFromEnv, iamEnabled, PolicySet } from '../../../local/service/iam/policies';
import { POLICY_DIR } from '../../../infra/iam-roles';
import { TEST_ROLES_FILE } from '../../../testing/isolated-stack';
import { ADMIN_CREDENTIALS } from '../../../local/shared/credentials';
import type { ServiceOptions } from '../../../local/service/core/context';

export const REPO = path.resolve(__dirname, '../../..');
export const FAKE_BIN = path.join(REPO, 'test/fixtures/fake-container');
/** The tests act as the account's administrator (IAM does not restrict it); their jobs run as TEST_ROLES. */
export const credentials = ADMIN_CREDENTIALS;
export { TEST_ROLES_FILE };
export const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';

export interface Moto {
  url: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn(path.join(REPO, '.venv/bin/moto_server'), ['-p', String(port), '-H', '127.0.0.1'], {
    stdio: 'ignore',
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await httpStatus(`${url}/moto-api/`)) > 0, 30_000, 'moto_server');
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {
        /* gone */
      }
      await gone;
    },
  };
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const testRoles = extraRolesFromEnv({ LOCAL_IAM_ROLES: TEST_ROLES_FILE });

export async function startService(
  motoUrl: string,
  stateDir: string,
  extra: Partial<ServiceOptions> = {},
): Promise<LocalService> {
  return startLocalService({
    stateDir,
    motoEndpoint: motoUrl,
    containerBinDir: FAKE_BIN,
    stopGraceMs: 3_000,
    metricsFlushMs: 500,
    checkpointSyncMs: 500,
    log: () => undefined,
    // No deployment in these tests' moto: the documents of iam/ under infra's role names, plus the test roles.
    iam: iamEnabled() ? new IamEnforcer(PolicySet.fromDocuments(POLICY_DIR, testRoles.roles, testRoles.base)) : false,
    ...extra,
  });
}

export function sagemaker(url: string): SageMakerClient {
  return new SageMakerClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
}

export function s3(url: string): S3Client {
  return new S3Client({ endpoint: url, region: 'us-east-1', credentials, forcePathStyle: true });
}

export async function seedBucket(client: S3Client, bucket: string, files: Record<string, string>): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [Key, Body] of Object.entries(files))
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
}

export async function waitForJob(
  sm: SageMakerClient,
  name: string,
  done: (d: DescribeTrainingJobCommandOutput) => boolean,
  timeoutMs = 30_000,
): Promise<DescribeTrainingJobCommandOutput> {
  let last: DescribeTrainingJobCommandOutput | undefined;
  await waitUntil(
    async () => {
      last = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
      return done(last);
    },
    timeoutMs,
    `training job ${name}`,
    100,
  );
  return last as DescribeTrainingJobCommandOutput;
}

export function trainingRequest(name: string, bucket: string, hp: Record<string, string> = {}, instances = 1) {
  return {
    TrainingJobName: name,
    RoleArn: ROLE,
    AlgorithmSpecification: {
      TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:' + '0'.repeat(64),
      TrainingInputMode: 'File' as const,
      MetricDefinitions: [
        { Name: 'train:loss', Regex: 'train_loss=([0-9.]+)' },
        { Name: 'validation:loss', Regex: 'val_loss=(?P<v>[0-9.]+)' },
      ],
    },
    HyperParameters: { steps: '3', sleep: '0.05', ...hp },
    InputDataConfig: [
      {
        ChannelName: 'train',
        DataSource: {
          S3DataSource: {
            S3DataType: 'S3Prefix' as const,
            S3Uri: `s3://${bucket}/data/train/`,
            S3DataDistributionType: 'FullyReplicated' as const,
          },
        },
      },
      {
        ChannelName: 'val',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: `s3://${bucket}/data/val` } },
      },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${bucket}/output` },
    ResourceConfig: { InstanceType: 'ml.p4de.24xlarge' as const, InstanceCount: instances, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    CheckpointConfig: { S3Uri: `s3://${bucket}/checkpoints/${name}` },
  };
}

/** A LOCAL_FAULTS seed whose first draw lands below 0.5 and whose second does not (e.g. a fault once, then none). */
export function seedFailingOnce(): number {
  for (let seed = 0; ; seed++) {
    const draw = mulberry32(seed);
    if (draw() < 0.5 && draw() >= 0.5) return seed;
  }
}
