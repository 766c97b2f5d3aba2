/**
 * LOCAL_FAULTS reaches all three APIs the local service speaks (SageMaker, SageMaker Runtime, CodeBuild), is off
 * without it, and every call is counted per operation at GET /_local/stats (what the chaos campaigns read).
 */
import { CodeBuildClient, ListProjectsCommand } from '@aws-sdk/client-codebuild';
import {
  CreateModelPackageGroupCommand,
  DescribeModelPackageGroupCommand,
  ListTrainingJobsCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { loseAnswer, parseFaults } from '../../../local/service/core/faults';
import type { LocalService } from '../../../local/service/server';
import { credentials, sagemaker, startService, tmpDir } from './helpers';

const runtime = (url: string) =>
  new SageMakerRuntimeClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
const codebuild = (url: string) =>
  new CodeBuildClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
const stats = async (url: string) =>
  (await fetch(`${url}/_local/stats`)).json() as Promise<
    Record<string, { calls: number; ok: number; errors: number; throttled: number; error500: number; lost?: number }>
  >;

test('lost500 is read from LOCAL_FAULTS and fires only after a call', () => {
  expect(parseFaults('lost500:0.2')).toEqual({ throttle: 0, error500: 0, lost500: 0.2 });
  expect(loseAnswer({ throttle: 0, error500: 0 }, () => 0)).toBeUndefined();
  expect(loseAnswer({ throttle: 0, error500: 0, lost500: 0.5 }, () => 0.1)?.status).toBe(500);
});

describe('fault injection and call counters', () => {
  let svc: LocalService | undefined;
  const saved = process.env.LOCAL_FAULTS;
  beforeEach(() => delete process.env.LOCAL_FAULTS);
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
    if (saved === undefined) delete process.env.LOCAL_FAULTS;
    else process.env.LOCAL_FAULTS = saved;
  });

  test('throttle:1 throttles SageMaker Runtime and CodeBuild calls too, and the counters say so', async () => {
    // No moto needed: the fault fires before any handler runs.
    svc = await startService('http://127.0.0.1:9', tmpDir('local-fault-cov-'), { faults: 'throttle:1' });
    await expect(
      runtime(svc.url).send(
        new InvokeEndpointCommand({ EndpointName: 'ep', Body: '{}', ContentType: 'application/json' }),
      ),
    ).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(codebuild(svc.url).send(new ListProjectsCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    await expect(sagemaker(svc.url).send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    expect(await stats(svc.url)).toEqual({
      'Runtime.InvokeEndpoint': { calls: 1, ok: 0, errors: 0, throttled: 1, error500: 0 },
      'CodeBuild.ListProjects': { calls: 1, ok: 0, errors: 0, throttled: 1, error500: 0 },
      'SageMaker.ListTrainingJobs': { calls: 1, ok: 0, errors: 0, throttled: 1, error500: 0 },
    });
  });

  test('error500:1 answers the Runtime with HTTP 500', async () => {
    svc = await startService('http://127.0.0.1:9', tmpDir('local-fault-cov-'), { faults: 'error500:1' });
    await expect(
      runtime(svc.url).send(
        new InvokeEndpointCommand({ EndpointName: 'ep', Body: '{}', ContentType: 'application/json' }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect((await stats(svc.url))['Runtime.InvokeEndpoint']).toMatchObject({ calls: 1, error500: 1 });
  });

  test('without LOCAL_FAULTS nothing is injected; successes and AWS errors are counted apart', async () => {
    svc = await startService('http://127.0.0.1:9', tmpDir('local-fault-cov-'));
    for (let i = 0; i < 20; i++) await sagemaker(svc.url).send(new ListTrainingJobsCommand({}));
    await expect(
      runtime(svc.url).send(
        new InvokeEndpointCommand({ EndpointName: 'missing', Body: '{}', ContentType: 'application/json' }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    const s = await stats(svc.url);
    expect(s['SageMaker.ListTrainingJobs']).toEqual({ calls: 20, ok: 20, errors: 0, throttled: 0, error500: 0 });
    expect(s['Runtime.InvokeEndpoint']).toEqual({ calls: 1, ok: 0, errors: 1, throttled: 0, error500: 0 });
  });

  test(
    'lost500:1 does the call, then answers HTTP 500: the ' + 'create took effect and is counted as ok and lost',
    async () => {
      svc = await startService('http://127.0.0.1:9', tmpDir('local-fault-cov-'), { faults: 'lost500:1' });
      await expect(
        sagemaker(svc.url).send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'g' })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
      await expect(
        sagemaker(svc.url).send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'g' })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
      const s = await stats(svc.url);
      expect(s['SageMaker.CreateModelPackageGroup']).toEqual({
        calls: 1,
        ok: 1,
        errors: 0,
        throttled: 0,
        error500: 0,
        lost: 1,
      });
      // The describe found the group (ok, not a ValidationException): the lost create had taken effect.
      expect(s['SageMaker.DescribeModelPackageGroup']).toEqual({
        calls: 1,
        ok: 1,
        errors: 0,
        throttled: 0,
        error500: 0,
        lost: 1,
      });
    },
  );
});
