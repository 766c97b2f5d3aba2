/**
 * The local CodeBuild: projects, builds of a "process image" from an S3 zip, recorded in moto ECR with a real digest.
 */
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  CreateProjectCommand,
  BatchGetProjectsCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import { CreateRepositoryCommand, DescribeImagesCommand, BatchGetImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import {
  credentials,
  FAKE_BIN,
  type Moto,
  s3,
  sagemaker,
  seedBucket,
  startMoto,
  startService,
  tmpDir,
  trainingRequest,
  waitForJob,
} from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
let cb: CodeBuildClient;
let ecr: ECRClient;
let work: string;
const bucket = 'ctx';
const repoUri = '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax-byoc';

async function uploadContext(key: string, setup: string): Promise<void> {
  const dir = path.join(work, key);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  fs.writeFileSync(path.join(dir, 'setup.sh'), setup);
  const zip = path.join(work, `${key}.zip`);
  execFileSync('zip', ['-qr', zip, '.'], { cwd: dir });
  await s3(moto.url).send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.zip`, Body: fs.readFileSync(zip) }));
}

function start(key: string, token?: string) {
  return cb.send(
    new StartBuildCommand({
      projectName: 'img',
      sourceTypeOverride: 'S3',
      sourceLocationOverride: `${bucket}/${key}.zip`,
      buildspecOverride: 'buildspec.yml',
      environmentVariablesOverride: [
        { name: 'REPOSITORY_URI', value: repoUri, type: 'PLAINTEXT' },
        { name: 'IMAGE_TAG', value: key, type: 'PLAINTEXT' },
      ],
      idempotencyToken: token,
    }),
  );
}

async function waitBuild(id: string): Promise<Build> {
  let b: Build | undefined;
  await waitUntil(
    async () =>
      (b = (await cb.send(new BatchGetBuildsCommand({ ids: [id] }))).builds?.[0])?.buildStatus !== 'IN_PROGRESS',
    30_000,
    `build ${id}`,
    100,
  );
  return b as Build;
}

beforeAll(async () => {
  moto = await startMoto();
  work = tmpDir('local-cb-');
  await seedBucket(s3(moto.url), bucket, { 'data/train/a.txt': 'a', 'data/val/b.txt': 'b' });
  svc = await startService(moto.url, path.join(work, 'state'));
  cb = new CodeBuildClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  ecr = new ECRClient({ endpoint: moto.url, region: 'us-east-1', credentials });
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'jax-byoc' }));
  await cb.send(
    new CreateProjectCommand({
      name: 'img',
      source: { type: 'NO_SOURCE', buildspec: 'version: 0.2' },
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: {
        type: 'LINUX_CONTAINER',
        computeType: 'BUILD_GENERAL1_SMALL',
        image: 'aws/codebuild/standard:7.0',
        privilegedMode: true,
      },
      serviceRole: 'arn:aws:iam::123456789012:role/cb',
    }),
  );
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

test('projects: create, duplicate, batch get', async () => {
  await expect(
    cb.send(
      new CreateProjectCommand({
        name: 'img',
        source: { type: 'NO_SOURCE' },
        artifacts: { type: 'NO_ARTIFACTS' },
        environment: { type: 'LINUX_CONTAINER', computeType: 'BUILD_GENERAL1_SMALL', image: 'x' },
        serviceRole: 'arn:aws:iam::123456789012:role/cb',
      }),
    ),
  ).rejects.toMatchObject({
    name: 'ResourceAlreadyExistsException',
  });
  const got = await cb.send(new BatchGetProjectsCommand({ names: ['img', 'nope'] }));
  expect(got.projects?.map((p) => p.name)).toEqual(['img']);
  expect(got.projectsNotFound).toEqual(['nope']);
  expect(got.projects?.[0]?.created).toBeInstanceOf(Date);
});

test(
  'StartBuild builds a process image through CodeBuild phases, pushes it to ECR with a real digest, and jobs run ' +
    'from it',
  async () => {
    await uploadContext(
      'v1',
      `set -e\nmkdir -p .venv/bin\nprintf '#!/bin/sh\\necho from-process-image\\nexec ${FAKE_BIN}/train\\n' > ` +
        `.venv/bin/train\nchmod +x .venv/bin/train\necho venv built\n`,
    );
    const { build } = await start('v1', 'tok-1');
    const again = await start('v1', 'tok-1');
    expect(again.build?.id).toBe(build?.id);
    const b = await waitBuild(build!.id!);
    expect(b.buildStatus).toBe('SUCCEEDED');
    expect(b.phases?.map((p) => p.phaseType)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'UPLOAD_ARTIFACTS',
      'FINALIZING',
      'COMPLETED',
    ]);
    expect(b.phases?.filter((p) => p.phaseType !== 'COMPLETED').every((p) => p.phaseStatus === 'SUCCEEDED')).toBe(true);
    const digest = b.exportedEnvironmentVariables?.find((v) => v.name === 'IMAGE_DIGEST')?.value;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const img = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'jax-byoc', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(img.imageDetails?.[0]?.imageDigest).toBe(digest);
    const manifest = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'jax-byoc', imageIds: [{ imageDigest: digest }] }),
    );
    const text = manifest.images?.[0]?.imageManifest ?? '';
    expect(`sha256:${createHash('sha256').update(text).digest('hex')}`).toBe(digest);
    const ids = await cb.send(new ListBuildsForProjectCommand({ projectName: 'img', sortOrder: 'DESCENDING' }));
    expect(ids.ids).toEqual([build!.id]);

    const sm = sagemaker(svc.url);
    const req = trainingRequest('job-from-image', bucket);
    req.AlgorithmSpecification.TrainingImage = `${repoUri}@${digest}`;
    await sm.send(new CreateTrainingJobCommand(req));
    expect(
      (await waitForJob(sm, 'job-from-image', (j) => j.TrainingJobStatus !== 'InProgress')).TrainingJobStatus,
    ).toBe('Completed');
    expect(fs.readFileSync(path.join(work, 'state/logs/training-jobs/job-from-image.log'), 'utf8')).toContain(
      '[algo-1] from-process-image',
    );
  },
);

test(
  'a failing build reports the failed phase; StopBuild stops a running one; unknown projects are ' +
    'ResourceNotFoundException',
  async () => {
    await uploadContext('bad', 'echo compiling; exit 3\n');
    const failed = await waitBuild((await start('bad')).build!.id!);
    expect(failed.buildStatus).toBe('FAILED');
    const phase = failed.phases?.find((p) => p.phaseStatus === 'FAILED');
    expect(phase?.phaseType).toBe('BUILD');
    expect(phase?.contexts?.[0]?.message).toMatch(/exit status 3/);

    await uploadContext('slow', 'sleep 30\n');
    const slow = (await start('slow')).build!.id!;
    await waitUntil(
      async () => (await cb.send(new BatchGetBuildsCommand({ ids: [slow] }))).builds?.[0]?.currentPhase === 'BUILD',
      20_000,
      'BUILD phase',
      100,
    );
    const stopped = await cb.send(new StopBuildCommand({ id: slow }));
    expect(stopped.build?.buildStatus).toBe('STOPPED');
    await expect(cb.send(new StopBuildCommand({ id: slow }))).rejects.toMatchObject({ name: 'InvalidInputException' });
    await expect(cb.send(new StartBuildCommand({ projectName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    const missing = await cb.send(new BatchGetBuildsCommand({ ids: ['img:nope'] }));
    expect(missing.buildsNotFound).toEqual(['img:nope']);
  },
);
