/**
 * Local mode deploys infra/'s template into moto: what it leaves out is named with a reason, every resource it keeps
 * is of a type moto was shown to create with its effect (proved here), and what local IAM reads back from moto is
 * the documents of iam/ under the stack's names.
 */
import { GetBucketPolicyCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deployedResource, PIPELINE_ROLES, POLICY_DIR } from '../../../infra/iam-roles';
import { IamEnforcer } from '../../../local/service/iam/enforcer';
import { PolicySet } from '../../../local/service/iam/policies';
import {
  deployLocalInfra,
  DEPLOYED_TYPES,
  LEFT_OUT_RESOURCES,
  LEFT_OUT_TYPES,
  localTemplate,
  synthesizedTemplate,
  type Template,
} from '../../../local/stack/infra-deployment';
import { ADMIN_CREDENTIALS } from '../../../local/shared/credentials';
import { type Moto, startMoto } from './helpers';

jest.setTimeout(300_000);

let moto: Moto;
let template: Template;
const common = () => ({ endpoint: moto.url, region: 'us-east-1', credentials: ADMIN_CREDENTIALS });

beforeAll(async () => {
  moto = await startMoto();
  template = await synthesizedTemplate(POLICY_DIR);
});
afterAll(async () => moto?.stop());

describe('the local template', () => {
  it('leaves out the worker runtime and the bucket policies, each with a reason, and keeps the rest', () => {
    const { template: local, leftOut } = localTemplate(template);
    const types = (t: Template) => Object.values(t.Resources).map((r) => r.Type);
    expect(new Set(types(local))).toEqual(new Set(DEPLOYED_TYPES));
    for (const { id, reason } of leftOut) {
      expect(reason.length).toBeGreaterThan(40);
      const type = template.Resources[id]?.Type as string;
      expect(LEFT_OUT_RESOURCES[id] ?? LEFT_OUT_TYPES[type]).toBe(reason);
    }
    expect(types(template).filter((t) => t.startsWith('AWS::ECS::'))).toHaveLength(3);
    expect(types(local).filter((t) => t.startsWith('AWS::ECS::'))).toEqual([]);
    // Parameters only the worker runtime used (the VPC, Temporal's address) are not asked for locally.
    expect(Object.keys(local.Parameters ?? {})).not.toContain('VpcId');
    expect(Object.keys(local.Parameters ?? {})).toContain('BucketName');
  });

  it('refuses a resource type not shown to deploy in moto, and a kept resource that needs a left-out one', () => {
    const topic = { ...template, Resources: { ...template.Resources, Q: { Type: 'AWS::SNS::Topic' } } };
    expect(() => localTemplate(topic)).toThrow(/Q is a AWS::SNS::Topic, which local mode has not shown/);
    const needs = {
      ...template,
      Resources: { ...template.Resources, G: { Type: 'AWS::Logs::LogGroup', DependsOn: 'WorkerService' } },
    };
    expect(() => localTemplate(needs)).toThrow(/G refers to WorkerService, which local mode leaves out/);
  });
});

describe("moto's CloudFormation", () => {
  it('has no AWS::S3::BucketPolicy: it reports one created and applies nothing (why it is left out)', async () => {
    const cf = new CloudFormationClient(common());
    await cf.send(
      new CreateStackCommand({
        StackName: 'bucket-policy-probe',
        TemplateBody: JSON.stringify({
          Resources: {
            B: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'probe-bucket' } },
            P: {
              Type: 'AWS::S3::BucketPolicy',
              Properties: {
                Bucket: { Ref: 'B' },
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::probe-bucket/*' },
                  ],
                },
              },
            },
          },
        }),
      }),
    );
    const stack = (await cf.send(new DescribeStacksCommand({ StackName: 'bucket-policy-probe' }))).Stacks?.[0];
    expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
    const s3 = new S3Client({ ...common(), forcePathStyle: true });
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: 'probe-bucket' }))).rejects.toMatchObject({
      name: 'NoSuchBucketPolicy',
    });
  });

  it('before the deployment the worker role does not exist: its credentials are an invalid token', async () => {
    const enforcer = new IamEnforcer(await PolicySet.fromDeployment(moto.url, { roles: {}, base: '.' }));
    expect(enforcer.resolve({ kind: 'worker' })).toEqual({
      kind: 'unknown-role',
      roleArn: 'arn:aws:iam::123456789012:role/PipelineWorkerRole',
    });
  });

  it('creates every kept resource with its effect, and local IAM reads back the documents of iam/', async () => {
    expect(await deployLocalInfra({ motoEndpoint: moto.url, policyDir: POLICY_DIR })).toBe('created');
    const s3 = new S3Client({ ...common(), forcePathStyle: true });
    await s3.send(new HeadBucketCommand({ Bucket: 'acme-ml-pipelines' }));
    const repos = await new ECRClient(common()).send(new DescribeRepositoriesCommand({ repositoryNames: ['jax-lm'] }));
    expect(repos.repositories?.[0]?.repositoryName).toBe('jax-lm');
    const groups = await new CloudWatchLogsClient(common()).send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/sagemaker/' }),
    );
    // moto answers the retention as the parameter's text ("90"): compared as a number.
    expect(groups.logGroups?.map((g) => [g.logGroupName, Number(g.retentionInDays)])).toEqual([
      ['/aws/sagemaker/ProcessingJobs', 90],
      ['/aws/sagemaker/TrainingJobs', 90],
      ['/aws/sagemaker/TransformJobs', 90],
    ]);

    // The roles as deployed: each trusts its service and has its iam/ document, account and region filled in.
    const deployed = await PolicySet.fromDeployment(moto.url, { roles: {}, base: '.' });
    expect(new IamEnforcer(deployed).resolve({ kind: 'worker' })).toMatchObject({ kind: 'caller' });
    const local: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'us-east-1',
      'AWS::AccountId': '123456789012',
      BucketName: 'acme-ml-pipelines',
      DatasetBucketName: 'acme-research-datasets',
      DatasetPrefix: 'lm/',
      RepositoryName: 'jax-lm',
      WorkerRoleName: 'PipelineWorkerRole',
      ExecutionRoleName: 'SageMakerExecutionRole',
      CodeBuildRoleName: 'CodeBuildImageRole',
    };
    for (const r of PIPELINE_ROLES) {
      const role = deployed.role(`arn:aws:iam::123456789012:role/${r.defaultName}`);
      expect(role?.trustedServices).toEqual([r.trustedService]);
      const file = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, r.policyFile), 'utf8')) as {
        Statement: { Resource: string | string[] }[];
      };
      const expected = file.Statement.map((s) => ({
        ...s,
        Resource: [s.Resource]
          .flat()
          .map((x) => deployedResource(x).replace(/\$\{([^}]+)\}/g, (_, k: string) => local[k] as string)),
      }));
      const got = [role?.policy.Statement].flat().map((s) => ({ ...s, Resource: [s?.Resource].flat() }));
      expect(got).toEqual(expected);
    }
  });

  it('a second deployment changes nothing; changed documents update the roles in place', async () => {
    expect(await deployLocalInfra({ motoEndpoint: moto.url, policyDir: POLICY_DIR })).toBe('unchanged');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infra-policies-'));
    for (const f of fs.readdirSync(POLICY_DIR)) fs.copyFileSync(path.join(POLICY_DIR, f), path.join(dir, f));
    const file = path.join(dir, 'codebuild-role-policy.json');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { Statement: { Sid: string }[] };
    doc.Statement = doc.Statement.filter((s) => s.Sid !== 'BuildLogs');
    fs.writeFileSync(file, JSON.stringify(doc));
    try {
      expect(await deployLocalInfra({ motoEndpoint: moto.url, policyDir: dir })).toBe('updated');
      const role = (await PolicySet.fromDeployment(moto.url, { roles: {}, base: '.' })).role(
        'arn:aws:iam::123456789012:role/CodeBuildImageRole',
      );
      expect([role?.policy.Statement].flat().map((s) => s?.Sid)).not.toContain('BuildLogs');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
