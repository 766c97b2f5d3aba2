/**
 * `local up` after moto died: moto keeps S3/ECR in memory, so the local service's persisted jobs and endpoints would
 * point at objects that no longer exist (a demo run after `local down`/`up` met a Failed endpoint). The service then
 * starts without them; a plain restart of the service alone keeps its state.
 */
import {
  CreateModelCommand,
  CreateProcessingJobCommand,
  DescribeProcessingJobCommand,
  ListModelsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, type StackConfig, workerEnv } from '../../local/stack/config';
import { isAlive, killGroup, readPid, waitUntil } from '../../local/shared/procs';
import { down, up } from '../../local/stack/launcher';
import { isolatedStackConfig, TEST_ROLES_FILE } from '../../testing/isolated-stack';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';

jest.setTimeout(600_000);

let cfg: StackConfig;
let sm: SageMakerClient;

beforeAll(async () => {
  cfg = await isolatedStackConfig('stack-restart-e2e', path.join(REPO_ROOT, 'test/fixtures/fake-container'));
  const env = workerEnv(cfg);
  sm = new SageMakerClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER,
    credentials: ADMIN_CREDENTIALS,
  });
  // The service (started by `up`) inherits the test roles its jobs run as.
  process.env.LOCAL_IAM_ROLES = TEST_ROLES_FILE;
  await up(cfg);
});

afterAll(async () => {
  await down(cfg);
  fs.rmSync(cfg.stateDir, { recursive: true, force: true });
});

async function modelNames(): Promise<string[]> {
  return ((await sm.send(new ListModelsCommand({}))).Models ?? []).map((m) => m.ModelName ?? '');
}

async function kill(component: string): Promise<void> {
  const pid = readPid(path.join(cfg.stateDir, 'pids', `${component}.pid`)) as number;
  killGroup(pid, 'SIGKILL');
  await waitUntil(() => !isAlive(pid), 20_000, `${component} exit`);
}

test('a processing job running when the service is killed runs again and completes after `up`', async () => {
  const name = 'restart-proc';
  await sm.send(
    new CreateProcessingJobCommand({
      ProcessingJobName: name,
      RoleArn: 'arn:aws:iam::123456789012:role/SageMakerRole',
      AppSpecification: { ImageUri: 'img:1', ContainerEntrypoint: ['prepare', '--sleep', '3'] },
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 5 } },
    }),
  );
  const log = path.join(cfg.stateDir, 'sagemaker', 'logs', 'processing-jobs', `${name}.log`);
  const starts = (): number => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('host=algo-1').length - 1 : 0);
  await waitUntil(() => Promise.resolve(starts() === 1), 30_000, 'processing job started');
  await kill('sagemaker');
  await up(cfg);
  await waitUntil(
    async () =>
      (await sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }))).ProcessingJobStatus ===
      'Completed',
    60_000,
    'processing job completed after the restart',
  );
  expect(starts()).toBe(2);
});

test('the service keeps its state across its own restart, and drops it when moto restarted empty', async () => {
  await sm.send(
    new CreateModelCommand({
      ModelName: 'kept',
      ExecutionRoleArn: 'arn:aws:iam::123456789012:role/R',
      PrimaryContainer: { Image: 'img:1', ModelDataUrl: 's3://b/m.tar.gz' },
    }),
  );
  await kill('sagemaker');
  const said: string[] = [];
  await up(cfg, (m) => said.push(m));
  expect(await modelNames()).toEqual(['kept']);
  expect(said.join('\n')).not.toMatch(/moto started empty/);

  await kill('moto');
  said.length = 0;
  await up(cfg, (m) => said.push(m));
  expect(said.join('\n')).toMatch(/moto started empty/);
  expect(await modelNames()).toEqual([]);
});
