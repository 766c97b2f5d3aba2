/**
 * IAM enforcement end to end in the local service: the gateway in front of moto (S3, ECR, CloudWatch) and the
 * service's own APIs refuse what the caller's policy does not allow, with AWS's error and text, and pass everything
 * else through untouched; SageMaker and CodeBuild refuse roles they cannot assume and act for a job as its role.
 */
import {
  CloudWatchClient,
  DeleteDashboardsCommand,
  DescribeAlarmsCommand,
  PutDashboardCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { CodeBuildClient, CreateProjectCommand } from '@aws-sdk/client-codebuild';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  CreateModelCommand,
  CreateTrainingJobCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { randomBytes } from 'node:crypto';
import { IamEnforcer } from '../../../../local/service/iam/enforcer';
import { WORKER_SESSION_ARN } from '../../../../local/service/iam/identities';
import { PolicySet, type RoleDeclaration } from '../../../../local/service/iam/policies';
import { deployLocalInfra } from '../../../../local/stack/infra-deployment';
import { POLICY_DIR } from '../../../../infra/iam-roles';
import type { LocalService } from '../../../../local/service/server';
import { ADMIN_CREDENTIALS, roleCredentials, WORKER_CREDENTIALS } from '../../../../local/shared/credentials';
import { type Moto, startMoto, startService, tmpDir, trainingRequest, waitForJob } from '../helpers';

jest.setTimeout(90_000);

const ACCT = '123456789012';
const BUCKET = 'acme-ml-pipelines';
const EXEC_ROLE = `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`;
/** A SageMaker role that may list and write its bucket but not read objects from it. */
const NO_READ: RoleDeclaration = {
  trustedServices: ['sagemaker.amazonaws.com'],
  policy: {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:PutObject'], Resource: ['arn:aws:s3:::*', 'arn:aws:s3:::*/*'] },
      { Effect: 'Allow', Action: ['logs:*'], Resource: '*' },
    ],
  },
};

let moto: Moto;
let svc: LocalService;
type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const clients = (credentials: Creds) => {
  const common = { endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 };
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    ecr: new ECRClient(common),
    cw: new CloudWatchClient(common),
    sm: new SageMakerClient(common),
    cb: new CodeBuildClient(common),
  };
};
let admin: ReturnType<typeof clients>;
let worker: ReturnType<typeof clients>;

beforeAll(async () => {
  moto = await startMoto();
  // What `local up` does: infra/'s template (roles from iam/, the bucket, jax-lm) deployed into moto, read back.
  await deployLocalInfra({ motoEndpoint: moto.url, policyDir: POLICY_DIR });
  svc = await startService(moto.url, tmpDir('local-iam-'), {
    iam: new IamEnforcer(await PolicySet.fromDeployment(moto.url, { roles: { NoChannelRead: NO_READ }, base: '.' })),
  });
  admin = clients(ADMIN_CREDENTIALS);
  worker = clients(WORKER_CREDENTIALS);
  await admin.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pipelines/demo/data/train/a.txt', Body: 'hello' }));
  await admin.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pipelines/demo/data/val/v.txt', Body: 'val' }));
});

afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

const refusal = async (p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> => {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to be refused');
};

describe('the gateway in front of moto', () => {
  it('refuses the worker a bucket it may not create, in S3 words; the administrator may', async () => {
    expect(await refusal(worker.s3.send(new CreateBucketCommand({ Bucket: 'scratch' })))).toEqual({
      name: 'AccessDenied',
      status: 403,
      message: `User: ${WORKER_SESSION_ARN} is not authorized to perform: s3:CreateBucket on resource: "arn:aws:s3:::scratch" because no identity-based policy allows the s3:CreateBucket action`,
    });
    await admin.s3.send(new CreateBucketCommand({ Bucket: 'scratch' }));
  });

  it('passes allowed S3 calls through unchanged, single-part and multipart, and refuses outside the prefix', async () => {
    const key = 'pipelines/demo/blob.bin';
    const bytes = randomBytes(11 * 1024 * 1024);
    await new Upload({
      client: worker.s3,
      params: { Bucket: BUCKET, Key: key, Body: bytes },
      partSize: 5 * 1024 * 1024,
    }).done();
    const got = await worker.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bytes)).toBe(true);
    expect((await worker.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ContentLength).toBe(
      bytes.length,
    );
    const denied = await refusal(worker.s3.send(new GetObjectCommand({ Bucket: 'scratch', Key: 'x' })));
    expect(denied).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(denied.message).toContain('s3:GetObject on resource: "arn:aws:s3:::scratch/x"');
  });

  it('ECR and CloudWatch answer AccessDeniedException / AccessDenied naming action and resource', async () => {
    // Allowed: the deployment created jax-lm, so ECR answers that it exists (not AccessDenied).
    expect(await refusal(worker.ecr.send(new CreateRepositoryCommand({ repositoryName: 'jax-lm' })))).toMatchObject({
      name: 'RepositoryAlreadyExistsException',
    });
    const ecr = await refusal(worker.ecr.send(new CreateRepositoryCommand({ repositoryName: 'other' })));
    expect(ecr.name).toBe('AccessDeniedException');
    expect(ecr.message).toBe(
      `User: ${WORKER_SESSION_ARN} is not authorized to perform: ecr:CreateRepository on resource: arn:aws:ecr:us-east-1:${ACCT}:repository/other because no identity-based policy allows the ecr:CreateRepository action`,
    );
    await worker.cw.send(new DescribeAlarmsCommand({ AlarmNames: ['x-rollback-5xx'] }));
    const cw = await refusal(
      worker.cw.send(new SetAlarmStateCommand({ AlarmName: 'billing', StateValue: 'ALARM', StateReason: 'test' })),
    );
    expect(cw.name).toBe('AccessDenied');
    expect(cw.message).toContain(
      `cloudwatch:SetAlarmState on resource: arn:aws:cloudwatch:us-east-1:${ACCT}:alarm:billing`,
    );
  });

  it('the worker may put and delete the endpoint dashboards only (dashboard ARNs have no Region)', async () => {
    const body = JSON.stringify({ widgets: [] });
    await worker.cw.send(new PutDashboardCommand({ DashboardName: 'sagemaker-endpoint-jax-lm', DashboardBody: body }));
    await worker.cw.send(new DeleteDashboardsCommand({ DashboardNames: ['sagemaker-endpoint-jax-lm'] }));
    const denied = await refusal(
      worker.cw.send(new PutDashboardCommand({ DashboardName: 'billing', DashboardBody: body })),
    );
    expect(denied.name).toBe('AccessDenied');
    expect(denied.message).toContain(
      `cloudwatch:PutDashboard on resource: arn:aws:cloudwatch::${ACCT}:dashboard/billing`,
    );
  });

  it("a role session is held to the role's policy; a session of an unknown role is an invalid token", async () => {
    const exec = clients({ ...roleCredentials(EXEC_ROLE) });
    await exec.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'pipelines/demo/data/train/a.txt' }));
    const denied = await refusal(exec.s3.send(new PutObjectCommand({ Bucket: 'scratch', Key: 'x', Body: 'x' })));
    expect(denied.message).toContain(
      `User: arn:aws:sts::${ACCT}:assumed-role/SageMakerExecutionRole/SageMaker is not authorized`,
    );
    const ghost = clients({ ...roleCredentials(`arn:aws:iam::${ACCT}:role/Ghost`) });
    expect(await refusal(ghost.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'x' })))).toMatchObject({
      name: 'InvalidToken',
    });
  });

  it('an unsigned request is refused', async () => {
    const res = await fetch(`${svc.url}/${BUCKET}/pipelines/demo/data/train/a.txt`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
  });
});

describe("the service's own APIs", () => {
  it('refuse an action the worker policy does not grant, and a role it may not pass', async () => {
    const list = await refusal(worker.sm.send(new ListTrainingJobsCommand({})));
    expect(list).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(list.message).toBe(
      `User: ${WORKER_SESSION_ARN} is not authorized to perform: sagemaker:ListTrainingJobs on resource: * because no identity-based policy allows the sagemaker:ListTrainingJobs action`,
    );
    const pass = await refusal(
      worker.sm.send(
        new CreateTrainingJobCommand({
          ...trainingRequest('j-pass', BUCKET),
          RoleArn: `arn:aws:iam::${ACCT}:role/NoChannelRead`,
        }),
      ),
    );
    expect(pass.message).toContain(`iam:PassRole on resource: arn:aws:iam::${ACCT}:role/NoChannelRead`);
  });

  it('SageMaker refuses a role it cannot assume (unknown, or trusting only CodeBuild); CodeBuild likewise', async () => {
    for (const role of [`arn:aws:iam::${ACCT}:role/Ghost`, `arn:aws:iam::${ACCT}:role/CodeBuildImageRole`]) {
      const e = await refusal(
        admin.sm.send(new CreateTrainingJobCommand({ ...trainingRequest('j-assume', BUCKET), RoleArn: role })),
      );
      expect(e).toEqual({
        name: 'ValidationException',
        status: 400,
        message: `Could not assume role ${role}. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.`,
      });
    }
    const cb = await refusal(
      admin.cb.send(
        new CreateProjectCommand({
          name: 'p-image-build',
          source: { type: 'S3', location: `${BUCKET}/x.zip` },
          artifacts: { type: 'NO_ARTIFACTS' },
          environment: {
            type: 'LINUX_CONTAINER',
            image: 'aws/codebuild/standard:7.0',
            computeType: 'BUILD_GENERAL1_SMALL',
          },
          serviceRole: EXEC_ROLE,
        }),
      ),
    );
    expect(cb).toMatchObject({
      name: 'InvalidInputException',
      message: `CodeBuild is not authorized to perform: sts:AssumeRole on ${EXEC_ROLE}`,
    });
  });

  it("CreateModel refuses model data the execution role cannot read, in SageMaker's words", async () => {
    const e = await refusal(
      admin.sm.send(
        new CreateModelCommand({
          ModelName: 'm-noread',
          ExecutionRoleArn: EXEC_ROLE,
          PrimaryContainer: { Image: 'img', ModelDataUrl: 's3://scratch/model.tar.gz' },
        }),
      ),
    );
    expect(e.name).toBe('ValidationException');
    expect(e.message).toBe(
      `Could not access model data at s3://scratch/model.tar.gz. Please ensure that the role "${EXEC_ROLE}" exists and that its trust relationship policy allows the action "sts:AssumeRole" for the service principal "sagemaker.amazonaws.com". Also ensure that the role has "s3:GetObject" permissions and that the object is located in us-east-1.`,
    );
  });
});

describe('what SageMaker does as the job role', () => {
  it("a job whose role may not read its channel fails with AWS's data download reason naming s3:GetObject", async () => {
    const sm = admin.sm;
    const req = trainingRequest('j-noread', BUCKET);
    await sm.send(
      new CreateTrainingJobCommand({
        ...req,
        RoleArn: `arn:aws:iam::${ACCT}:role/NoChannelRead`,
        InputDataConfig: [
          {
            ChannelName: 'train',
            DataSource: {
              S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/pipelines/demo/data/train/` },
            },
          },
        ],
        CheckpointConfig: undefined,
      }),
    );
    const d = await waitForJob(sm, 'j-noread', (j) => j.TrainingJobStatus !== 'InProgress');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toBe(
      `ClientError: Data download failed: AccessDenied (403): User: arn:aws:sts::${ACCT}:assumed-role/NoChannelRead/SageMaker is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::${BUCKET}/pipelines/demo/data/train/a.txt" because no identity-based policy allows the s3:GetObject action`,
    );
  });

  const execJob = (name: string, image: string) => {
    const req = trainingRequest(name, BUCKET);
    return new CreateTrainingJobCommand({
      ...req,
      RoleArn: EXEC_ROLE,
      AlgorithmSpecification: { ...req.AlgorithmSpecification, TrainingImage: image },
      InputDataConfig: [
        {
          ChannelName: 'train',
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/pipelines/demo/data/train/` } },
        },
      ],
      OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/pipelines/demo/models` },
      CheckpointConfig: { S3Uri: `s3://${BUCKET}/pipelines/demo/checkpoints/${name}` },
    });
  };
  const digest = `@sha256:${'0'.repeat(64)}`;

  it('a job whose role may not pull its image fails as SageMaker reports it, naming ecr:BatchGetImage', async () => {
    await admin.sm.send(execJob('j-nopull', `${ACCT}.dkr.ecr.us-east-1.amazonaws.com/other-repo${digest}`));
    const d = await waitForJob(admin.sm, 'j-nopull', (j) => j.TrainingJobStatus !== 'InProgress');
    expect(d.TrainingJobStatus).toBe('Failed');
    expect(d.FailureReason).toBe(
      `ClientError: Cannot pull algorithm container. Either the image does not exist or its permissions are incorrect. User: arn:aws:sts::${ACCT}:assumed-role/SageMakerExecutionRole/SageMaker is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:${ACCT}:repository/other-repo because no identity-based policy allows the ecr:BatchGetImage action`,
    );
  });

  it('under the execution role of iam/ a job reads its channel, pulls jax-lm, writes model and checkpoints', async () => {
    await admin.sm.send(execJob('j-exec', `${ACCT}.dkr.ecr.us-east-1.amazonaws.com/jax-lm${digest}`));
    const d = await waitForJob(admin.sm, 'j-exec', (j) => j.TrainingJobStatus !== 'InProgress');
    expect(d.FailureReason).toBeUndefined();
    expect(d.TrainingJobStatus).toBe('Completed');
    expect(d.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${BUCKET}/pipelines/demo/models/j-exec/output/model.tar.gz`);
  });
});

test('LOCAL_IAM=off turns enforcement off: the worker may do what its policy does not grant', async () => {
  const before = process.env.LOCAL_IAM;
  process.env.LOCAL_IAM = 'off';
  const open = await startService(moto.url, tmpDir('local-iam-off-'), { iam: undefined });
  try {
    const s3 = new S3Client({
      endpoint: open.url,
      region: 'us-east-1',
      credentials: WORKER_CREDENTIALS,
      forcePathStyle: true,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'no-iam' }));
    const res = await fetch(`${open.url}/_local/iam`);
    expect(await res.json()).toEqual({ enabled: false });
  } finally {
    if (before === undefined) delete process.env.LOCAL_IAM;
    else process.env.LOCAL_IAM = before;
    await open.close();
  }
});
