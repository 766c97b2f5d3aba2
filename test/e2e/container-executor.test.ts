/**
 * The `container` executor end to end, on a stack of its own with LOCAL_EXECUTOR=container: the local CodeBuild
 * runs container/buildspec.yml (StartBuild → BatchGetBuilds SUCCEEDED with its phases): its `docker build` is a real
 * podman build, its `docker push` lands in the stack's local registry and in moto ECR with the registry's digest,
 * and the digest it exports is the one recorded; a 2-host training job runs
 * that image with podman (JAX distributed across two containers) and uploads model.tar.gz; an endpoint serves the
 * model from the same image and answers InvokeEndpoint; DeleteEndpoint and `down` leave no container behind.
 *
 * The first image build on a fresh machine takes minutes (podman, the Debian base, wheels); later builds hit
 * podman's layer cache. Skipped (with a warning) only where podman is missing and cannot be installed (not root).
 */
import {
  CodeBuildClient,
  BatchGetBuildsCommand,
  type Build,
  CreateProjectCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateTrainingJobCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hashContextFiles, listContextFiles, zipContext } from '../../activities/build-context';
import { REPO_ROOT, type StackConfig, workerEnv } from '../../local/stack/config';
import { hasPodman, podmanEnv, STACK_LABEL, stackId } from '../../local/service/executors/podman';
import { freePort, waitUntil } from '../../local/shared/procs';
import { down, up } from '../../local/stack/launcher';
import { isolatedStackConfig, TEST_ROLES_FILE } from '../../testing/isolated-stack';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';

jest.setTimeout(40 * 60_000);

// As root, `up` installs podman, runc and docker-registry with apt-get when missing (CI); otherwise they must be there.
const CAN_RUN = process.getuid?.() === 0 || (hasPodman() && fs.existsSync('/usr/bin/docker-registry'));
if (!CAN_RUN)
  console.warn(
    'container-executor e2e skipped: podman or docker-registry is not installed and this is not root, so they ' +
      'cannot be installed',
  );
const maybe = CAN_RUN ? describe : describe.skip;

const ROLE = 'arn:aws:iam::123456789012:role/SageMakerRole';
const REPO = 'jax-lm-container-e2e';
const HPS = {
  n_layers: '1',
  d_model: '64',
  n_heads: '2',
  seq_len: '64',
  batch_size: '8',
  warmup_steps: '5',
  eval_batches: '2',
  max_steps: '20',
  eval_every: '10',
  checkpoint_every: '10',
};

let cfg: StackConfig;
let stackUp = false;
let sm: SageMakerClient;
let s3: S3Client;
let ecr: ECRClient;
let cb: CodeBuildClient;
let logs: CloudWatchLogsClient;
let repoUri = '';
let tag = '';
let digest = '';
/** Tests that ran to their end; afterAll keeps the state dir (logs, job trees) unless all of them did. */
let passed = 0;
const TESTS = 6;

/** The containers of this test's stack, running or not. */
function stackContainers(all = true): string[] {
  const args = [
    'ps',
    ...(all ? ['-a'] : []),
    '--format',
    '{{.Names}}',
    '--filter',
    `label=${STACK_LABEL}=${stackId(path.join(cfg.stateDir, 'sagemaker'))}`,
  ];
  return execFileSync('podman', args, { env: podmanEnv(), encoding: 'utf8' }).split('\n').filter(Boolean);
}

async function waitBuild(id: string): Promise<Build> {
  let b: Build | undefined;
  await waitUntil(
    async () =>
      (b = (await cb.send(new BatchGetBuildsCommand({ ids: [id] }))).builds?.[0])?.buildStatus !== 'IN_PROGRESS',
    30 * 60_000,
    `build ${id}`,
    2_000,
  );
  return b as Build;
}

function buildLog(b: Build): string {
  const phases = b.phases ?? [];
  const statuses = phases.map((p) => `${p.phaseType}:${p.phaseStatus ?? ''}`).join(' ');
  return `${statuses}\n${JSON.stringify(phases.flatMap((p) => p.contexts ?? []))}`;
}

async function startBuild(token: string): Promise<Build> {
  const out = await cb.send(
    new StartBuildCommand({
      projectName: 'image',
      sourceTypeOverride: 'S3',
      sourceLocationOverride: `e2e/context/${tag}.zip`,
      environmentVariablesOverride: [
        { name: 'REPOSITORY_URI', value: repoUri, type: 'PLAINTEXT' },
        { name: 'IMAGE_TAG', value: tag, type: 'PLAINTEXT' },
        { name: 'DOCKERFILE', value: 'Dockerfile', type: 'PLAINTEXT' },
        { name: 'BUILD_ARGS', value: '--build-arg JAX_VARIANT=cpu', type: 'PLAINTEXT' },
      ],
      idempotencyToken: token,
    }),
  );
  const b = await waitBuild(out.build?.id as string);
  if (b.buildStatus !== 'SUCCEEDED')
    throw new Error(`build ${b.buildStatus}: ${buildLog(b)}\n${tailLog('sagemaker.log')}`);
  return b;
}

function tailLog(name: string): string {
  const f = path.join(cfg.stateDir, 'logs', name);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').slice(-3000) : '';
}

/** The build's log in CloudWatch Logs, once it holds a line matching `until`. */
async function buildLogText(b: Build, until: RegExp): Promise<string> {
  let text = '';
  await waitUntil(
    async () => {
      const out = await logs.send(
        new GetLogEventsCommand({
          logGroupName: b.logs?.groupName,
          logStreamName: b.logs?.streamName,
          startFromHead: true,
          limit: 10_000,
        }),
      );
      text = (out.events ?? []).map((e) => e.message).join('\n');
      return until.test(text);
    },
    30_000,
    `build log matching ${String(until)}`,
    500,
  );
  return text;
}

function trainingJob(name: string, image: string, hps: Record<string, string>) {
  return new CreateTrainingJobCommand({
    TrainingJobName: name,
    RoleArn: ROLE,
    AlgorithmSpecification: {
      TrainingImage: image,
      TrainingInputMode: 'File',
      MetricDefinitions: [{ Name: 'validation:loss', Regex: 'val_loss=([0-9.eE+-]+)' }],
    },
    HyperParameters: hps,
    InputDataConfig: ['train', 'val'].map((c) => ({
      ChannelName: c,
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: `s3://e2e/data/${c}/`,
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    })),
    OutputDataConfig: { S3OutputPath: 's3://e2e/output' },
    ResourceConfig: { InstanceType: 'ml.p4de.24xlarge', InstanceCount: 2, VolumeSizeInGB: 50 },
    StoppingCondition: { MaxRuntimeInSeconds: 1800 },
  });
}

async function waitJob(
  name: string,
  timeoutMs: number,
  onPoll: (d: DescribeTrainingJobCommandOutput) => void = () => undefined,
): Promise<DescribeTrainingJobCommandOutput> {
  let d: DescribeTrainingJobCommandOutput | undefined;
  await waitUntil(
    async () => {
      d = await sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
      onPoll(d);
      return d.TrainingJobStatus !== 'InProgress';
    },
    timeoutMs,
    `training job ${name}`,
    500,
  );
  return d as DescribeTrainingJobCommandOutput;
}

/** The registry's digest for repo:tag (what a `docker pull` would resolve). */
async function registryDigest(): Promise<string | null> {
  const res = await fetch(`http://127.0.0.1:${cfg.registryPort}/v2/${REPO}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  return res.headers.get('docker-content-digest');
}

maybe('container executor (podman)', () => {
  beforeAll(async () => {
    cfg = {
      ...(await isolatedStackConfig('container-e2e', path.join(REPO_ROOT, 'container/.venv/bin'))),
      executor: 'container',
      builder: 'podman',
      registryPort: await freePort(),
    };
    const env = workerEnv(cfg);
    // The service (started by `up`) inherits the test roles its jobs and builds run as.
    process.env.LOCAL_IAM_ROLES = TEST_ROLES_FILE;
    await up(cfg);
    stackUp = true;
    const credentials = ADMIN_CREDENTIALS;
    const region = env.AWS_REGION as string;
    sm = new SageMakerClient({ endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER, region, credentials });
    cb = new CodeBuildClient({ endpoint: env.AWS_ENDPOINT_URL_CODEBUILD, region, credentials });
    s3 = new S3Client({ endpoint: env.AWS_ENDPOINT_URL_S3, region, credentials, forcePathStyle: true });
    ecr = new ECRClient({ endpoint: env.AWS_ENDPOINT_URL_ECR, region, credentials });
    logs = new CloudWatchLogsClient({ endpoint: env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, region, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: 'e2e' }));
    repoUri = (await ecr.send(new CreateRepositoryCommand({ repositoryName: REPO }))).repository
      ?.repositoryUri as string;
    // The context exactly as the worker's buildImage step uploads it (.dockerignore honoured, modes kept).
    const files = await listContextFiles(path.join(REPO_ROOT, 'container'));
    tag = (await hashContextFiles(files)).slice(0, 32);
    await s3.send(new PutObjectCommand({ Bucket: 'e2e', Key: `context/${tag}.zip`, Body: await zipContext(files) }));
    await cb.send(
      new CreateProjectCommand({
        name: 'image',
        source: { type: 'S3', location: `e2e/context/${tag}.zip`, buildspec: 'buildspec.yml' },
        artifacts: { type: 'NO_ARTIFACTS' },
        environment: {
          type: 'LINUX_CONTAINER',
          computeType: 'BUILD_GENERAL1_LARGE',
          image: 'aws/codebuild/standard:7.0',
          privilegedMode: true,
        },
        serviceRole: 'arn:aws:iam::123456789012:role/cb',
      }),
    );
  });

  afterAll(async () => {
    if (stackUp) await down(cfg);
    if (cfg && hasPodman()) expect(stackContainers()).toEqual([]);
    if (cfg && passed === TESTS && process.env.E2E_KEEP_STATE !== '1')
      fs.rmSync(cfg.stateDir, { recursive: true, force: true });
  });

  test('StartBuild runs a real podman build, pushes it to the local registry and records its digest in ECR', async () => {
    const b = await startBuild('first');
    const phases = (b.phases ?? []).map((p) => [p.phaseType, p.phaseStatus]);
    for (const p of ['DOWNLOAD_SOURCE', 'PRE_BUILD', 'BUILD', 'POST_BUILD'])
      expect(phases).toContainEqual([p, 'SUCCEEDED']);
    digest = b.exportedEnvironmentVariables?.find((v) => v.name === 'IMAGE_DIGEST')?.value as string;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest()).toBe(digest);
    const ecrImage = (
      await ecr.send(new DescribeImagesCommand({ repositoryName: REPO, imageIds: [{ imageTag: tag }] }))
    ).imageDetails?.[0];
    expect(ecrImage?.imageDigest).toBe(digest);
    const text = await buildLogText(b, /IMAGE_DIGEST=/);
    for (const p of ['DOWNLOAD_SOURCE', 'BUILD', 'POST_BUILD'])
      expect(text).toContain(`Phase complete: ${p} State: SUCCEEDED`);
    // The buildspec's own commands made the image: its login, its `docker build` tag, its push and inspect.
    expect(text).toContain('Running command aws ecr get-login-password');
    expect(text).toContain('Login Succeeded');
    expect(text).toContain(`[image] podman build ${repoUri}:${tag}`);
    expect(text).toContain(`${tag}: digest: ${digest}`);
    expect(text).toContain(`IMAGE_URI=${repoUri}@${digest}`);
    expect(b.exportedEnvironmentVariables).toContainEqual({ name: 'IMAGE_URI', value: `${repoUri}@${digest}` });
    // The image really is the container: its entrypoint runs the SageMaker `prepare` program (the demo corpus).
    const prep = fs.mkdtempSync(path.join(cfg.stateDir, 'prepare-'));
    execFileSync(
      'podman',
      [
        'run',
        '--rm',
        '--runtime',
        'runc',
        '--network',
        'host',
        '-v',
        `${prep}:/opt/ml`,
        `${repoUri}:${tag}`,
        'prepare',
        '--source',
        'builtin',
      ],
      { env: podmanEnv(), stdio: 'pipe' },
    );
    for (const c of ['train', 'val']) {
      const text = fs.readFileSync(path.join(prep, 'processing/output', c, 'corpus.txt'), 'utf8');
      await s3.send(new PutObjectCommand({ Bucket: 'e2e', Key: `data/${c}/corpus.txt`, Body: text }));
    }
    passed += 1;
  });

  test("a second build of the same context hits podman's layer cache and pushes the same digest", async () => {
    const b = await startBuild('second');
    expect(b.exportedEnvironmentVariables?.find((v) => v.name === 'IMAGE_DIGEST')?.value).toBe(digest);
    expect(await registryDigest()).toBe(digest);
    expect(await buildLogText(b, /IMAGE_DIGEST=/)).toMatch(/Using cache/);
    passed += 1;
  });

  test('a 2-host training job runs the image in two containers and uploads model.tar.gz', async () => {
    const name = 'ce2e-train';
    await sm.send(trainingJob(name, `${repoUri}@${digest}`, HPS));
    let seen: string[] = [];
    const d = await waitJob(name, 15 * 60_000, (j) => {
      if (j.SecondaryStatus === 'Training' && seen.length < 2)
        seen = stackContainers(false).filter((n) => n.includes(name));
    });
    const log = path.join(cfg.stateDir, 'sagemaker/logs/training-jobs', `${name}.log`);
    if (d.TrainingJobStatus !== 'Completed')
      throw new Error(
        `job ${d.TrainingJobStatus}: ${d.FailureReason}` +
          `\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-3000) : ''}`,
      );
    expect(seen.sort()).toEqual([expect.stringContaining(`${name}_algo-1`), expect.stringContaining(`${name}_algo-2`)]);
    // Both hosts joined one JAX job inside their containers.
    const text = fs.readFileSync(log, 'utf8');
    expect(text).toMatch(/\[algo-2\] .*podman run/);
    expect(text).toMatch(/^\[algo-1\] step=20 .*val_loss=/m);
    expect(
      Object.fromEntries((d.FinalMetricDataList ?? []).map((m) => [m.MetricName, m.Value]))['validation:loss'],
    ).toBeGreaterThan(0);
    expect(d.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://e2e/output/${name}/output/model.tar.gz`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'e2e', Key: `output/${name}/output/model.tar.gz` }));
    expect(head.ContentLength).toBeGreaterThan(1000);
    expect(stackContainers().filter((n) => n.includes(name))).toEqual([]);
    passed += 1;
  });

  test('an endpoint serves the model from the image by tag; DeleteEndpoint leaves no container', async () => {
    await sm.send(
      new CreateModelCommand({
        ModelName: 'ce2e-model',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: {
          Image: `${repoUri}:${tag}`,
          ModelDataUrl: 's3://e2e/output/ce2e-train/output/model.tar.gz',
        },
      }),
    );
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'ce2e-epc',
        ProductionVariants: [
          { VariantName: 'AllTraffic', ModelName: 'ce2e-model', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'ce2e-ep', EndpointConfigName: 'ce2e-epc' }));
    let status = 'Creating';
    let reason: string | undefined;
    await waitUntil(
      async () => {
        const e = await sm.send(new DescribeEndpointCommand({ EndpointName: 'ce2e-ep' }));
        reason = e.FailureReason;
        return (status = e.EndpointStatus ?? '') !== 'Creating';
      },
      5 * 60_000,
      'endpoint',
      500,
    );
    expect({ status, reason }).toEqual({ status: 'InService', reason: undefined });
    expect(stackContainers(false).filter((n) => n.includes('ce2e-ep'))).toHaveLength(1);
    const rt = new SageMakerRuntimeClient({
      endpoint: workerEnv(cfg).AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
      region: 'us-east-1',
      credentials: ADMIN_CREDENTIALS,
    });
    const res = await rt.send(
      new InvokeEndpointCommand({
        EndpointName: 'ce2e-ep',
        ContentType: 'application/json',
        Body: JSON.stringify({ inputs: 'The ', parameters: { max_new_tokens: 8 } }),
      }),
    );
    expect(JSON.stringify(JSON.parse(Buffer.from(res.Body).toString('utf8')))).toMatch(/generated_text/);

    await sm.send(new DeleteEndpointCommand({ EndpointName: 'ce2e-ep' }));
    await waitUntil(
      async () => {
        try {
          await sm.send(new DescribeEndpointCommand({ EndpointName: 'ce2e-ep' }));
          return false;
        } catch {
          return true;
        }
      },
      2 * 60_000,
      'endpoint deleted',
      500,
    );
    await waitUntil(() => stackContainers().length === 0, 60_000, 'no containers of the stack');
    passed += 1;
  });
  test(
    "a trainer's error reaches FailureReason through " + '/opt/ml/output/failure; an unknown image fails naming it',
    async () => {
      await sm.send(trainingJob('ce2e-bad-hp', `${repoUri}@${digest}`, { ...HPS, n_layers: 'many' }));
      const bad = await waitJob('ce2e-bad-hp', 5 * 60_000);
      expect(bad.TrainingJobStatus).toBe('Failed');
      expect(bad.FailureReason).toMatch(/^AlgorithmError: .*hyperparameter 'n_layers' = 'many' is invalid/);

      const unknown = `${repoUri}:no-such-tag`;
      await sm.send(trainingJob('ce2e-no-image', unknown, HPS));
      const missing = await waitJob('ce2e-no-image', 60_000);
      expect(missing.TrainingJobStatus).toBe('Failed');
      expect(missing.FailureReason).toContain(`image ${unknown} is unknown to the local stack`);
      expect(stackContainers()).toEqual([]);
      passed += 1;
    },
  );

  test('down while a job trains in containers stops them all and leaves none behind', async () => {
    await sm.send(
      trainingJob('ce2e-long', `${repoUri}@${digest}`, {
        ...HPS,
        max_steps: '100000',
        eval_every: '1000',
        checkpoint_every: '1000',
      }),
    );
    await waitUntil(
      () => stackContainers(false).filter((n) => n.includes('ce2e-long')).length === 2,
      5 * 60_000,
      'two training containers',
      1_000,
    );
    await down(cfg);
    stackUp = false;
    expect(stackContainers()).toEqual([]);
    passed += 1;
  });
});
