/**
 * The local CodeBuild executing a source's buildspec through the CodeBuild API (LOCAL_CODEBUILD_BUILDER=podman), with
 * plain shell commands and no image build: BatchGetBuilds shows the phases, the exported variables, the artifacts'
 * location and, for a failing command, CodeBuild's phase context; `aws ecr get-login-password` in the build's shell
 * is answered by local mode as the project's service role.
 */
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  CreateProjectCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitUntil } from '../../../local/shared/procs';
import type { LocalService } from '../../../local/service/server';
import { credentials, type Moto, s3, seedBucket, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(120_000);

let moto: Moto;
let svc: LocalService;
let cb: CodeBuildClient;
let work: string;
const bucket = 'cb-src';
const savedBuilder = process.env.LOCAL_CODEBUILD_BUILDER;

async function uploadSource(key: string, files: Record<string, string>): Promise<void> {
  const dir = path.join(work, key);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const zip = path.join(work, `${key}.zip`);
  execFileSync('zip', ['-qr', zip, '.'], { cwd: dir });
  await s3(moto.url).send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.zip`, Body: fs.readFileSync(zip) }));
}

async function build(key: string, extra: Partial<ConstructorParameters<typeof StartBuildCommand>[0]> = {}) {
  const out = await cb.send(
    new StartBuildCommand({
      projectName: 'spec',
      sourceTypeOverride: 'S3',
      sourceLocationOverride: `${bucket}/${key}.zip`,
      environmentVariablesOverride: [{ name: 'FROM_START', value: 'start-value', type: 'PLAINTEXT' }],
      ...extra,
    }),
  );
  let b: Build | undefined;
  await waitUntil(
    async () =>
      (b = (await cb.send(new BatchGetBuildsCommand({ ids: [out.build?.id as string] }))).builds?.[0])?.buildStatus !==
      'IN_PROGRESS',
    90_000,
    `build ${key}`,
    200,
  );
  return b as Build;
}

async function logText(b: Build): Promise<string> {
  const logs = new CloudWatchLogsClient({ endpoint: svc.url, region: 'us-east-1', credentials });
  let text = '';
  await waitUntil(
    async () => {
      const out = await logs.send(
        new GetLogEventsCommand({
          logGroupName: b.logs?.groupName,
          logStreamName: b.logs?.streamName,
          startFromHead: true,
        }),
      );
      text = (out.events ?? []).map((e) => e.message).join('\n');
      return text.includes('Phase complete: UPLOAD_ARTIFACTS') || text.includes('Phase complete: POST_BUILD');
    },
    20_000,
    'build log',
    200,
  );
  return text;
}

const phases = (b: Build) => (b.phases ?? []).map((p) => [p.phaseType, p.phaseStatus]);

beforeAll(async () => {
  process.env.LOCAL_CODEBUILD_BUILDER = 'podman';
  moto = await startMoto();
  work = tmpDir('local-cb-spec-');
  await seedBucket(s3(moto.url), bucket, {});
  await seedBucket(s3(moto.url), 'cb-artifacts', {});
  svc = await startService(moto.url, path.join(work, 'state'));
  cb = new CodeBuildClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  await cb.send(
    new CreateProjectCommand({
      name: 'spec',
      source: { type: 'S3', location: `${bucket}/none.zip`, buildspec: 'buildspec.yml' },
      artifacts: { type: 'S3', location: 'cb-artifacts', path: 'out', namespaceType: 'BUILD_ID', name: 'result' },
      environment: {
        type: 'LINUX_CONTAINER',
        computeType: 'BUILD_GENERAL1_SMALL',
        image: 'aws/codebuild/standard:7.0',
        environmentVariables: [{ name: 'FROM_PROJECT', value: 'project-value', type: 'PLAINTEXT' }],
      },
      serviceRole: 'arn:aws:iam::123456789012:role/cb',
    }),
  );
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
  if (savedBuilder === undefined) delete process.env.LOCAL_CODEBUILD_BUILDER;
  else process.env.LOCAL_CODEBUILD_BUILDER = savedBuilder;
});

test('StartBuild runs the buildspec: phases, variables, ECR login through local mode, exports and artifacts', async () => {
  await uploadSource('ok', {
    'buildspec.yml': [
      'version: 0.2',
      'env:',
      '  variables:',
      '    FROM_SPEC: spec-value',
      '  exported-variables: [SUMMARY, LOGIN_BYTES]',
      'phases:',
      '  pre_build:',
      '    commands:',
      '      - set -eu',
      '      - LOGIN_BYTES="$(aws ecr get-login-password --region us-east-1 | wc -c)"',
      '      - test "$LOGIN_BYTES" -gt 10',
      '  build:',
      '    commands:',
      '      - mkdir -p dist && echo "$FROM_SPEC $FROM_PROJECT $FROM_START" > dist/summary.txt',
      '  post_build:',
      '    commands:',
      '      - SUMMARY="$(cat dist/summary.txt) ${CODEBUILD_BUILD_ID%%:*}"',
      'artifacts:',
      '  base-directory: dist',
      '  files: ["**/*"]',
    ].join('\n'),
  });
  const b = await build('ok');
  expect(b.buildStatus).toBe('SUCCEEDED');
  expect(phases(b)).toEqual([
    ['SUBMITTED', 'SUCCEEDED'],
    ['QUEUED', 'SUCCEEDED'],
    ['PROVISIONING', 'SUCCEEDED'],
    ['DOWNLOAD_SOURCE', 'SUCCEEDED'],
    ['INSTALL', 'SUCCEEDED'],
    ['PRE_BUILD', 'SUCCEEDED'],
    ['BUILD', 'SUCCEEDED'],
    ['POST_BUILD', 'SUCCEEDED'],
    ['UPLOAD_ARTIFACTS', 'SUCCEEDED'],
    ['FINALIZING', 'SUCCEEDED'],
    ['COMPLETED', undefined],
  ]);
  const exported = Object.fromEntries((b.exportedEnvironmentVariables ?? []).map((v) => [v.name, v.value]));
  expect(exported.SUMMARY).toBe('spec-value project-value start-value spec');
  expect(Number(exported.LOGIN_BYTES)).toBeGreaterThan(10);
  const buildNo = (b.id as string).split(':')[1];
  expect(b.artifacts?.location).toBe(`arn:aws:s3:::cb-artifacts/out/${buildNo}/result`);
  const obj = await s3(moto.url).send(
    new GetObjectCommand({ Bucket: 'cb-artifacts', Key: `out/${buildNo}/result/summary.txt` }),
  );
  expect((await obj.Body?.transformToString())?.trim()).toBe('spec-value project-value start-value');
  const text = await logText(b);
  expect(text).toMatch(/\[Container\] \S+ \S+ Running command set -eu/);
  expect(text).toContain('Phase complete: BUILD State: SUCCEEDED');
});

test('a failing command fails its phase with CodeBuild status and message; POST_BUILD still runs', async () => {
  await uploadSource('bad', {
    'buildspec.yml': [
      'version: 0.2',
      'phases:',
      '  build:',
      '    commands:',
      '      - echo building',
      '      - ls /no/such/dir',
      '  post_build:',
      '    commands:',
      '      - echo "post_build sees succeeding=$CODEBUILD_BUILD_SUCCEEDING"',
      'artifacts:',
      '  files: [missing.txt]',
    ].join('\n'),
  });
  const b = await build('bad');
  expect(b.buildStatus).toBe('FAILED');
  expect(phases(b)).toEqual([
    ['SUBMITTED', 'SUCCEEDED'],
    ['QUEUED', 'SUCCEEDED'],
    ['PROVISIONING', 'SUCCEEDED'],
    ['DOWNLOAD_SOURCE', 'SUCCEEDED'],
    ['INSTALL', 'SUCCEEDED'],
    ['PRE_BUILD', 'SUCCEEDED'],
    ['BUILD', 'FAILED'],
    ['POST_BUILD', 'SUCCEEDED'],
    ['UPLOAD_ARTIFACTS', 'FAILED'],
    ['FINALIZING', 'SUCCEEDED'],
    ['COMPLETED', undefined],
  ]);
  const buildPhase = b.phases?.find((p) => p.phaseType === 'BUILD');
  expect(buildPhase?.contexts).toEqual([
    {
      statusCode: 'COMMAND_EXECUTION_ERROR',
      message: 'Error while executing command: ls /no/such/dir. Reason: exit status 2',
    },
  ]);
  expect(b.phases?.find((p) => p.phaseType === 'UPLOAD_ARTIFACTS')?.contexts).toEqual([
    { statusCode: 'CLIENT_ERROR', message: 'no matching artifact paths found' },
  ]);
  const text = await logText(b);
  expect(text).toContain('post_build sees succeeding=0');
  expect(text).toContain('Command did not exit successfully ls /no/such/dir exit status 2');
});

test('a malformed buildspec fails DOWNLOAD_SOURCE with YAML_FILE_ERROR naming the key', async () => {
  await uploadSource('yaml', { 'buildspec.yml': 'version: 0.2\nphases:\n  compile:\n    commands: [make]\n' });
  const b = await build('yaml', {
    artifactsOverride: { type: 'NO_ARTIFACTS' },
  });
  expect(b.buildStatus).toBe('FAILED');
  const download = b.phases?.find((p) => p.phaseType === 'DOWNLOAD_SOURCE');
  expect(download?.phaseStatus).toBe('FAILED');
  expect(download?.contexts?.[0]?.statusCode).toBe('YAML_FILE_ERROR');
  expect(download?.contexts?.[0]?.message).toContain('unknown phase "compile"');
  expect(phases(b).map(([p]) => p)).not.toContain('BUILD');
});

test("StartBuild's artifactsOverride wins over the project's artifacts", async () => {
  await uploadSource('noart', {
    'buildspec.yml': 'version: 0.2\nphases:\n  build:\n    commands: [echo x > x.txt]\nartifacts:\n  files: [x.txt]\n',
  });
  const b = await build('noart', { artifactsOverride: { type: 'NO_ARTIFACTS' } });
  expect(b.buildStatus).toBe('SUCCEEDED');
  expect(b.artifacts).toBeUndefined();
});
