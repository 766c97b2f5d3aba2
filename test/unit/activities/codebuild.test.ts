import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  CreateProjectCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
  UpdateProjectCommand,
} from '@aws-sdk/client-codebuild';
import { CancelledFailure } from '@temporalio/common';
import { mockClient } from 'aws-sdk-client-mock';
import type { BuildResult } from '../../../contracts/build-image';
import { buildEnvironment, buildIdempotencyToken, createCodeBuildActivities } from '../../../activities/codebuild';
import { accessDenied, activityEnv, awsError, expectFailure, testDeps, throttled } from './helpers';

const cb = mockClient(CodeBuildClient);
const logs = mockClient(CloudWatchLogsClient);
const acts = createCodeBuildActivities(testDeps());

const start = {
  projectName: 'p-image-build',
  sourceBucket: 'b',
  sourceKey: 'ctx/abc.zip',
  repositoryUri: '1.dkr.ecr.us-east-1.amazonaws.com/jax',
  imageTag: 'abc',
  dockerfile: 'Dockerfile',
  buildArgs: { PYTHON: '3.11', BASE_IMAGE: 'nvidia/cuda:12' },
  workflowId: 'wf-1/buildImage',
};

const buildFor = (
  id: string,
  workflowId: string,
  imageTag: string,
  buildStatus: Build['buildStatus'] = 'IN_PROGRESS',
): Build => ({
  id,
  buildStatus,
  environment: {
    type: 'LINUX_CONTAINER',
    image: 'x',
    computeType: 'BUILD_GENERAL1_SMALL',
    environmentVariables: [
      { name: 'PIPELINE_WORKFLOW_ID', value: workflowId },
      { name: 'IMAGE_TAG', value: imageTag },
    ],
  },
});

beforeEach(() => {
  cb.reset();
  logs.reset();
});

describe('ensureCodeBuildProject', () => {
  const input = {
    projectName: 'p-image-build',
    serviceRoleArn: 'arn:aws:iam::1:role/cb',
    computeType: 'BUILD_GENERAL1_MEDIUM',
    image: 'aws/codebuild/standard:7.0',
    timeoutMinutes: 60,
    tags: { team: 'lm' },
  };

  it('creates a privileged project without artifacts whose source comes per build', async () => {
    cb.on(CreateProjectCommand).resolves({ project: { name: 'p-image-build' } });
    expect(await acts.ensureCodeBuildProject(input)).toEqual({ projectName: 'p-image-build', created: true });
    expect(cb).toHaveReceivedCommandWith(CreateProjectCommand, {
      name: 'p-image-build',
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: expect.objectContaining({
        type: 'LINUX_CONTAINER',
        privilegedMode: true,
        computeType: 'BUILD_GENERAL1_MEDIUM',
        image: 'aws/codebuild/standard:7.0',
      }),
      serviceRole: 'arn:aws:iam::1:role/cb',
      timeoutInMinutes: 60,
      tags: [{ key: 'team', value: 'lm' }],
    });
  });

  it('updates an existing project to the spec', async () => {
    cb.on(CreateProjectCommand).rejects(awsError('ResourceAlreadyExistsException'));
    cb.on(UpdateProjectCommand).resolves({});
    expect(await acts.ensureCodeBuildProject(input)).toEqual({ projectName: 'p-image-build', created: false });
    expect(cb).toHaveReceivedCommandWith(UpdateProjectCommand, {
      name: 'p-image-build',
      environment: expect.objectContaining({ computeType: 'BUILD_GENERAL1_MEDIUM' }),
    });
  });

  it('refuses, before any call, a project without a service role (CodeBuild requires one)', async () => {
    const { serviceRoleArn: _role, ...withoutRole } = input;
    await expectFailure(acts.ensureCodeBuildProject(withoutRole), 'SpecInvalid', true);
    expect(cb).not.toHaveReceivedCommand(CreateProjectCommand);
  });

  it('classifies failures', async () => {
    cb.on(CreateProjectCommand).rejects(accessDenied());
    await expectFailure(acts.ensureCodeBuildProject(input), 'AccessDenied', true);
    cb.on(CreateProjectCommand).rejects(awsError('InvalidInputException', 400));
    await expectFailure(acts.ensureCodeBuildProject(input), 'AwsValidation', true);
    cb.on(CreateProjectCommand).rejects(throttled());
    await expectFailure(acts.ensureCodeBuildProject(input), 'AwsTransient', false);
  });
});

describe('startImageBuild', () => {
  it('starts a build from the S3 zip with the image coordinates and an idempotency token', async () => {
    cb.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    cb.on(StartBuildCommand).resolves({ build: { id: 'p-image-build:1' } });
    expect(await acts.startImageBuild(start)).toEqual({ buildId: 'p-image-build:1', reattached: false });
    const call = cb.commandCalls(StartBuildCommand)[0]?.args[0].input;
    expect(call).toMatchObject({
      projectName: 'p-image-build',
      sourceTypeOverride: 'S3',
      sourceLocationOverride: 'b/ctx/abc.zip',
      buildspecOverride: 'buildspec.yml',
    });
    const env = Object.fromEntries((call?.environmentVariablesOverride ?? []).map((v) => [v.name, v.value]));
    expect(env).toEqual({
      REPOSITORY_URI: start.repositoryUri,
      ECR_REPOSITORY_URI: start.repositoryUri,
      IMAGE_TAG: 'abc',
      SOURCE_HASH: 'abc',
      DOCKERFILE: 'Dockerfile',
      BUILD_ARGS: '--build-arg BASE_IMAGE=nvidia/cuda:12 --build-arg PYTHON=3.11',
      PIPELINE_WORKFLOW_ID: 'wf-1/buildImage',
      BASE_IMAGE: 'nvidia/cuda:12',
      PYTHON: '3.11',
    });
    expect(call?.idempotencyToken).toBe(buildIdempotencyToken('wf-1/buildImage', 'abc'));
    expect(buildIdempotencyToken('wf-1/buildImage', 'abc')).not.toBe(buildIdempotencyToken('wf-2/buildImage', 'abc'));
  });

  it('re-attaches to the build this workflow already started for this tag', async () => {
    cb.on(ListBuildsForProjectCommand).resolves({ ids: ['p:3', 'p:2', 'p:1'] });
    cb.on(BatchGetBuildsCommand).resolves({
      builds: [
        buildFor('p:3', 'other-wf', 'abc'),
        buildFor('p:2', 'wf-1/buildImage', 'abc'),
        buildFor('p:1', 'wf-1/buildImage', 'old'),
      ],
    });
    expect(await acts.startImageBuild(start)).toEqual({ buildId: 'p:2', reattached: true });
    expect(cb).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('lists builds without a sort order, which CodeBuild refuses once a project has more than 100 builds', async () => {
    cb.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    cb.on(StartBuildCommand).resolves({ build: { id: 'p:101' } });
    await acts.startImageBuild(start);
    const listed = cb.commandCalls(ListBuildsForProjectCommand)[0]?.args[0].input;
    expect(listed).toEqual({ projectName: 'p-image-build' });
  });

  it('does not re-attach to a failed build of ours', async () => {
    cb.on(ListBuildsForProjectCommand).resolves({ ids: ['p:2'] });
    cb.on(BatchGetBuildsCommand).resolves({ builds: [buildFor('p:2', 'wf-1/buildImage', 'abc', 'FAILED')] });
    cb.on(StartBuildCommand).resolves({ build: { id: 'p:3' } });
    expect(await acts.startImageBuild(start)).toEqual({ buildId: 'p:3', reattached: false });
  });

  it('never lets a build arg shadow our variables or those of CodeBuild', () => {
    const names = buildEnvironment({
      ...start,
      buildArgs: { IMAGE_TAG: 'evil', CODEBUILD_X: '1', 'not-a-name': '1', JAX_VARIANT: 'cpu' },
    }).map(([n]) => n);
    expect(names.filter((n) => n === 'IMAGE_TAG')).toHaveLength(1);
    expect(names).not.toContain('CODEBUILD_X');
    expect(names).not.toContain('not-a-name');
    expect(names).toContain('JAX_VARIANT');
  });

  it('rejects build args the buildspec would split', async () => {
    cb.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    await expectFailure(
      acts.startImageBuild({ ...start, buildArgs: { FLAGS: '-O2 -g' } }),
      'SpecInvalid',
      true,
      /FLAGS/,
    );
  });

  it('classifies failures', async () => {
    cb.on(ListBuildsForProjectCommand).rejects(throttled());
    await expectFailure(acts.startImageBuild(start), 'AwsTransient', false);
    cb.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    const queue = (n: number) =>
      awsError('AccountLimitExceededException', 400, `Cannot have more than ${n} builds in queue for the account`);
    cb.on(StartBuildCommand).rejects(queue(30));
    await expectFailure(acts.startImageBuild(start), 'CapacityWait', false, /^waiting for capacity: 'builds in queue/);
    cb.on(StartBuildCommand).rejects(queue(0));
    await expectFailure(acts.startImageBuild(start), 'AwsValidation', true, /limit 0 builds, 1 asked/);
  });
});

describe('waitForImageBuild', () => {
  it('polls with heartbeats until the build succeeds', async () => {
    cb.on(BatchGetBuildsCommand)
      .resolvesOnce({ builds: [{ id: 'b:1', buildStatus: 'IN_PROGRESS', currentPhase: 'PROVISIONING' }] })
      .resolvesOnce({ builds: [{ id: 'b:1', buildStatus: 'IN_PROGRESS', currentPhase: 'BUILD' }] })
      .resolves({ builds: [{ id: 'b:1', buildStatus: 'SUCCEEDED', currentPhase: 'COMPLETED' }] });
    const sleeps: number[] = [];
    const env = activityEnv();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const wait = createCodeBuildActivities(
      testDeps({ sleep: (ms) => (sleeps.push(ms), Promise.resolve()) }),
    ).waitForImageBuild;
    expect(await env.run(wait, { buildId: 'b:1', pollIntervalSeconds: 15 })).toEqual({
      buildId: 'b:1',
      status: 'SUCCEEDED',
      logTail: [],
    });
    expect(sleeps).toEqual([10_000, 5_000, 10_000, 5_000]);
    expect(beats).toContainEqual({ status: 'IN_PROGRESS', currentPhase: 'PROVISIONING' });
    expect(beats).toContainEqual({ status: 'IN_PROGRESS', currentPhase: 'BUILD' });
  });

  it('reports the failed phase, its message and the log tail', async () => {
    cb.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: 'b:1',
          buildStatus: 'FAILED',
          phases: [
            { phaseType: 'INSTALL', phaseStatus: 'SUCCEEDED' },
            {
              phaseType: 'BUILD',
              phaseStatus: 'FAILED',
              contexts: [
                {
                  statusCode: 'COMMAND_EXECUTION_ERROR',
                  message: 'Error while executing command: docker build. Reason: exit status 1',
                },
              ],
            },
            { phaseType: 'POST_BUILD', phaseStatus: 'FAILED' },
          ],
          logs: { groupName: '/aws/codebuild/p', streamName: 's-1' },
        },
      ],
    });
    logs
      .on(GetLogEventsCommand, {
        logGroupName: '/aws/codebuild/p',
        logStreamName: 's-1',
        startFromHead: false,
        limit: 20,
      })
      .resolves({
        events: [{ message: 'Step 3/9 : RUN pip install\n' }, { message: 'ERROR: no matching distribution\n' }],
      });
    const result = await activityEnv().run(acts.waitForImageBuild, { buildId: 'b:1', pollIntervalSeconds: 5 });
    expect(result).toEqual({
      buildId: 'b:1',
      status: 'FAILED',
      failedPhase: 'BUILD',
      failureMessage: 'COMMAND_EXECUTION_ERROR: Error while executing command: docker build. Reason: exit status 1',
      logTail: ['Step 3/9 : RUN pip install', 'ERROR: no matching distribution'],
    });
  });

  it('returns the verdict even when the log is missing or unreadable', async () => {
    cb.on(BatchGetBuildsCommand).resolves({
      builds: [{ id: 'b:1', buildStatus: 'TIMED_OUT', logs: { groupName: 'g', streamName: 's' } }],
    });
    logs.on(GetLogEventsCommand).rejects(awsError('ResourceNotFoundException'));
    expect(await activityEnv().run(acts.waitForImageBuild, { buildId: 'b:1', pollIntervalSeconds: 5 })).toEqual({
      buildId: 'b:1',
      status: 'TIMED_OUT',
      logTail: [],
    });
    logs.on(GetLogEventsCommand).rejects(accessDenied());
    const denied = (await activityEnv().run(acts.waitForImageBuild, {
      buildId: 'b:1',
      pollIntervalSeconds: 5,
    })) as BuildResult;
    expect(denied.logTail[0]).toMatch(/unreadable/);
  });

  it('stops waiting when the activity is cancelled', async () => {
    cb.on(BatchGetBuildsCommand).resolves({ builds: [{ id: 'b:1', buildStatus: 'IN_PROGRESS' }] });
    const env = activityEnv();
    const wait = createCodeBuildActivities(testDeps({ sleep: () => new Promise(() => undefined) })).waitForImageBuild;
    const running = env.run(wait, { buildId: 'b:1', pollIntervalSeconds: 30 });
    setTimeout(() => env.cancel(), 10);
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('classifies failures', async () => {
    cb.on(BatchGetBuildsCommand).rejects(throttled());
    await expectFailure(
      activityEnv().run(acts.waitForImageBuild, { buildId: 'b:1', pollIntervalSeconds: 5 }),
      'AwsTransient',
      false,
    );
    cb.on(BatchGetBuildsCommand).resolves({ builds: [], buildsNotFound: ['b:1'] });
    await expectFailure(
      activityEnv().run(acts.waitForImageBuild, { buildId: 'b:1', pollIntervalSeconds: 5 }),
      'AwsValidation',
      true,
      /does not exist/,
    );
  });
});

describe('stopImageBuild', () => {
  it('stops a running build', async () => {
    cb.on(BatchGetBuildsCommand).resolves({ builds: [{ id: 'b:1', buildStatus: 'IN_PROGRESS' }] });
    cb.on(StopBuildCommand).resolves({ build: { id: 'b:1', buildStatus: 'STOPPED' } });
    expect(await acts.stopImageBuild({ buildId: 'b:1' })).toEqual({ stopped: true, status: 'STOPPED' });
  });

  it('tolerates builds that already ended, before or during the call', async () => {
    cb.on(BatchGetBuildsCommand).resolves({ builds: [{ id: 'b:1', buildStatus: 'SUCCEEDED' }] });
    expect(await acts.stopImageBuild({ buildId: 'b:1' })).toEqual({ stopped: false, status: 'SUCCEEDED' });
    expect(cb).not.toHaveReceivedCommand(StopBuildCommand);
    cb.on(BatchGetBuildsCommand)
      .resolvesOnce({ builds: [{ id: 'b:1', buildStatus: 'IN_PROGRESS' }] })
      .resolves({ builds: [{ id: 'b:1', buildStatus: 'FAILED' }] });
    cb.on(StopBuildCommand).rejects(awsError('InvalidInputException'));
    expect(await acts.stopImageBuild({ buildId: 'b:1' })).toEqual({ stopped: false, status: 'FAILED' });
  });

  it('classifies failures', async () => {
    cb.on(BatchGetBuildsCommand).resolves({ builds: [{ id: 'b:1', buildStatus: 'IN_PROGRESS' }] });
    cb.on(StopBuildCommand).rejects(throttled());
    await expectFailure(acts.stopImageBuild({ buildId: 'b:1' }), 'AwsTransient', false);
    cb.on(StopBuildCommand).rejects(accessDenied());
    await expectFailure(acts.stopImageBuild({ buildId: 'b:1' }), 'AccessDenied', true);
  });
});
