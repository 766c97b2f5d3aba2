/**
 * The policies infra/ deploys are the documents of iam/: every Resource moved into the stack's partition, region and
 * account and onto its names, nothing else; an example name renamed in iam/ is caught, and the largest document stays
 * within IAM's limit for a role's inline policies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { deployedResource, IAM_PLACEHOLDERS, PIPELINE_ROLES, POLICY_DIR } from '../../../infra/iam-roles';

type Doc = { Statement: { Resource?: string | string[] }[] };
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(POLICY_DIR, file), 'utf8')) as Doc;

test('a resource of iam/ becomes the Fn::Sub string of the stack', () => {
  expect(deployedResource('arn:aws:sagemaker:*:*:training-job/*')).toBe(
    'arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:training-job/*',
  );
  expect(deployedResource('arn:aws:s3:::acme-ml-pipelines/pipelines/*')).toBe(
    'arn:${AWS::Partition}:s3:::${BucketName}/pipelines/*',
  );
  expect(deployedResource('arn:aws:s3:::acme-research-datasets/lm/*')).toBe(
    'arn:${AWS::Partition}:s3:::${DatasetBucketName}/${DatasetPrefix}*',
  );
  expect(deployedResource('arn:aws:iam::*:role/SageMakerExecutionRole')).toBe(
    'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ExecutionRoleName}',
  );
  // The preflight's iam:SimulatePrincipalPolicy names the worker's own role: the stack's name for it, not iam/'s.
  expect(deployedResource('arn:aws:iam::*:role/PipelineWorkerRole')).toBe(
    'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${WorkerRoleName}',
  );
  expect(deployedResource('arn:aws:ecr:*:*:repository/jax-lm')).toBe(
    'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${RepositoryName}',
  );
  expect(deployedResource('*')).toBe('*');
  // An IAM policy variable reaches IAM unchanged (Fn::Sub's escape).
  expect(deployedResource('arn:aws:s3:::b/${aws:username}/*')).toBe('arn:${AWS::Partition}:s3:::b/${!aws:username}/*');
  expect(() => deployedResource('acme-ml-pipelines')).toThrow(/not an ARN/);
});

test('every example name infra substitutes occurs in iam/, and every role names an existing document', () => {
  const used = new Set<string>();
  for (const r of PIPELINE_ROLES)
    for (const s of read(r.policyFile).Statement)
      for (const res of [s.Resource ?? []].flat()) deployedResource(res, used);
  expect(IAM_PLACEHOLDERS.map((p) => p.text).filter((t) => !used.has(t))).toEqual([]);
});

test("each role's deployed policy fits IAM's 10,240-character limit on a role's inline policies", () => {
  // IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): role policy size,
  // whitespace not counted. Filled with a long region, a 63-character bucket name and 64-character role names.
  const values: Record<string, string> = {
    'AWS::Partition': 'aws-us-gov',
    'AWS::Region': 'ap-southeast-7',
    'AWS::AccountId': '123456789012',
    BucketName: 'b'.repeat(63),
    DatasetBucketName: 'd'.repeat(63),
    DatasetPrefix: 'p'.repeat(40) + '/',
    RepositoryName: 'r'.repeat(100),
    WorkerRoleName: 'w'.repeat(64),
    ExecutionRoleName: 'e'.repeat(64),
    CodeBuildRoleName: 'c'.repeat(64),
  };
  for (const r of PIPELINE_ROLES) {
    const doc = read(r.policyFile);
    const filled = {
      ...doc,
      Statement: doc.Statement.map((s) => ({
        ...s,
        Resource: [s.Resource ?? []]
          .flat()
          .map((x) => deployedResource(x).replace(/\$\{([^!}][^}]*)\}/g, (_, k: string) => values[k] ?? '')),
      })),
    };
    expect(JSON.stringify(filled).replace(/\s/g, '').length).toBeLessThanOrEqual(10_240);
  }
});
