/**
 * LOCAL_FAULTS reaches all three APIs the local service speaks (SageMaker, SageMaker Runtime, CodeBuild), is off
 * without it, and every call is counted per operation at GET /_local/stats (what the chaos campaigns read).
 */
import { CodeBuildClient, ListProjectsCommand } from '@aws-sdk/client-codebuild';
import { ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { LocalService } from '../../../local/sagemaker/server';
import { credentials, sagemaker, startService, tmpDir } from './helpers';

const runtime = (url: string) => new SageMakerRuntimeClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
const codebuild = (url: string) => new CodeBuildClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
const stats = async (url: string) => (await fetch(`${url}/_local/stats`)).json() as Promise<Record<string, { calls: number; ok: number; errors: number; throttled: number; error500: number }>>;

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
    await expect(runtime(svc.url).send(new InvokeEndpointCommand({ EndpointName: 'ep', Body: '{}', ContentType: 'application/json' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(codebuild(svc.url).send(new ListProjectsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(sagemaker(svc.url).send(new ListTrainingJobsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(await stats(svc.url)).toEqual({
      'Runtime.InvokeEndpoint': { calls: 1, ok: 0, errors: 0, throttled: 1, error500: 0 },
      'CodeBuild.ListProjects': { calls: 1, ok: 0, errors: 0, throttled: 1, error500: 0 },
      'SageMaker.ListTrainingJobs': { calls: 1, ok: 0, errors: 0, throttled: 1, error500: 0 },
    });
  });

  test('error500:1 answers the Runtime with HTTP 500', async () => {
    svc = await startService('http://127.0.0.1:9', tmpDir('local-fault-cov-'), { faults: 'error500:1' });
    await expect(runtime(svc.url).send(new InvokeEndpointCommand({ EndpointName: 'ep', Body: '{}', ContentType: 'application/json' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect((await stats(svc.url))['Runtime.InvokeEndpoint']).toMatchObject({ calls: 1, error500: 1 });
  });

  test('without LOCAL_FAULTS nothing is injected; successes and AWS errors are counted apart', async () => {
    svc = await startService('http://127.0.0.1:9', tmpDir('local-fault-cov-'));
    for (let i = 0; i < 20; i++) await sagemaker(svc.url).send(new ListTrainingJobsCommand({}));
    await expect(runtime(svc.url).send(new InvokeEndpointCommand({ EndpointName: 'missing', Body: '{}', ContentType: 'application/json' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    const s = await stats(svc.url);
    expect(s['SageMaker.ListTrainingJobs']).toEqual({ calls: 20, ok: 20, errors: 0, throttled: 0, error500: 0 });
    expect(s['Runtime.InvokeEndpoint']).toEqual({ calls: 1, ok: 0, errors: 1, throttled: 0, error500: 0 });
  });
});
