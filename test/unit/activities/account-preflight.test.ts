/**
 * The account preflight: the quota arithmetic of a spec (contracts/account-preflight.ts) and checkAccount against
 * mocked Service Quotas, IAM, STS, S3 and ECR clients.
 */
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetBucketLocationCommand, S3Client } from '@aws-sdk/client-s3';
import { GetServiceQuotaCommand, ListServiceQuotasCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createAccountPreflightActivities, simulatablePrincipal, trusts } from '../../../activities/account-preflight';
import { accountPreflightInput, quotaNeeds } from '../../../contracts/account-preflight';
import type { PipelineSpecInput } from '../../../contracts/pipeline-spec';
import { validateSpec } from '../../../contracts/validation';
import { loadLocalSpec } from '../../../testing/tiny-spec';
import { accessDenied, awsError, expectFailure, testDeps } from './helpers';

/** The demo spec with `patch` applied, validated (defaults filled). */
function spec(patch: (s: Record<string, Record<string, unknown>>) => void = () => undefined) {
  const raw = loadLocalSpec() as unknown as Record<string, Record<string, unknown>>;
  patch(raw);
  const r = validateSpec(raw as unknown as PipelineSpecInput);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.spec;
}
const need = (s: ReturnType<typeof spec>, name: string) => quotaNeeds(s).find((q) => q.quotaName === name)?.need;

describe('quotaNeeds', () => {
  it('counts two endpoint fleets for a blue/green update', () => {
    const s = spec((r) => {
      r.deployment!.autoscaling = { enabled: false };
      r.deployment!.instanceCount = 3;
      r.deployment!.blueGreen = { trafficRouting: { type: 'ALL_AT_ONCE' } };
    });
    expect(need(s, 'ml.m5.large for endpoint usage')).toBe(6);
    expect(need(s, 'Number of instances across active endpoints')).toBe(6);
  });

  it('counts each fleet at the autoscaling maximum when autoscaling may have grown the old one', () => {
    const s = spec((r) => {
      r.deployment!.instanceCount = 2;
      r.deployment!.autoscaling = { enabled: true, minCapacity: 1, maxCapacity: 5 };
    });
    expect(need(s, 'ml.m5.large for endpoint usage')).toBe(10);
  });

  it("counts the tuner's parallel trials times their instances, and a step's peak rather than the steps' sum", () => {
    const s = spec((r) => {
      r.training!.instanceCount = 2;
      r.tuning = { ...r.tuning, maxJobs: 8, maxParallelJobs: 3, resources: { instanceCount: 2 } };
    });
    // Training needs 2, the tuner 3 x 2 = 6; they never run at once, so the quota must allow 6, not 8.
    expect(need(s, 'ml.m5.xlarge for training job usage')).toBe(6);
    expect(quotaNeeds(s).find((q) => q.quotaName === 'ml.m5.xlarge for training job usage')?.why).toMatch(
      /tuning: 3 parallel trials x 2 x ml\.m5\.xlarge/,
    );
  });

  it('puts spot jobs on the spot quotas and on-demand jobs on the on-demand ones', () => {
    const onDemand = spec();
    const spot = spec((r) => {
      r.training!.spot = { enabled: true, maxWaitSeconds: 3600 };
    });
    expect(need(onDemand, 'ml.m5.xlarge for training job usage')).toBe(4);
    expect(need(onDemand, 'ml.m5.xlarge for spot training job usage')).toBeUndefined();
    expect(need(spot, 'ml.m5.xlarge for spot training job usage')).toBe(4);
    expect(need(spot, 'Number of instances across all spot training jobs')).toBe(4);
    expect(need(spot, 'ml.m5.xlarge for training job usage')).toBeUndefined();
  });

  it('counts processing and transform only when their steps are on', () => {
    expect(need(spec(), 'ml.m5.xlarge for processing job usage')).toBe(1);
    expect(need(spec(), 'ml.m5.large for transform job usage')).toBe(1);
    const off = spec((r) => {
      r.prepareData = { enabled: false };
      r.evaluation = { enabled: false };
    });
    expect(need(off, 'ml.m5.xlarge for processing job usage')).toBeUndefined();
    expect(need(off, 'ml.m5.large for transform job usage')).toBeUndefined();
  });
});

describe('checkAccount', () => {
  const sq = mockClient(ServiceQuotasClient);
  const iam = mockClient(IAMClient);
  const sts = mockClient(STSClient);
  const s3 = mockClient(S3Client);
  const ecr = mockClient(ECRClient);
  const acts = createAccountPreflightActivities(testDeps());
  const trust = (service: string) =>
    encodeURIComponent(
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] }),
    );

  /** An account where everything the demo needs is in place; tests change one thing. */
  beforeEach(() => {
    for (const m of [sq, iam, sts, s3, ecr]) m.reset();
    sq.on(GetServiceQuotaCommand).callsFake((i: { QuotaCode: string }) => ({
      Quota: { QuotaCode: i.QuotaCode, QuotaName: 'x', Value: 10 },
    }));
    iam.on(GetRoleCommand).callsFake((i: { RoleName: string }) => ({
      Role: {
        RoleName: i.RoleName,
        Arn: `arn:aws:iam::123456789012:role/${i.RoleName}`,
        AssumeRolePolicyDocument: trust(
          i.RoleName === 'CodeBuildImageRole' ? 'codebuild.amazonaws.com' : 'sagemaker.amazonaws.com',
        ),
      },
    }));
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '123456789012',
      Arn: 'arn:aws:sts::123456789012:assumed-role/PipelineWorkerRole/task-1',
    });
    iam
      .on(SimulatePrincipalPolicyCommand)
      .resolves({ EvaluationResults: [{ EvalActionName: 'a', EvalDecision: 'allowed' }] });
    s3.on(GetBucketLocationCommand).resolves({});
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryUri: 'uri/jax-lm' }] });
  });

  it('passes an account that can run the spec', async () => {
    const out = await acts.checkAccount(accountPreflightInput(spec()));
    expect(out.findings.filter((f) => f.status === 'problem')).toEqual([]);
    // The worker's own role is simulated, not its session.
    expect(iam.commandCalls(SimulatePrincipalPolicyCommand)[0]?.args[0].input.PolicySourceArn).toBe(
      'arn:aws:iam::123456789012:role/PipelineWorkerRole',
    );
  });

  it('refuses a quota shortfall naming the quota, its code, need, value and the increase command; not retried', async () => {
    sq.on(GetServiceQuotaCommand, { QuotaCode: 'L-614B09FD' }).resolves({
      Quota: { QuotaCode: 'L-614B09FD', QuotaName: 'ml.m5.large for endpoint usage', Value: 2 },
    });
    const err = await expectFailure(acts.checkAccount(accountPreflightInput(spec())), 'PreflightFailed', true);
    expect(err.message).toMatch(
      /"ml\.m5\.large for endpoint usage" \(L-614B09FD\): the spec needs 4, the account has 2 \(endpoint: 2 fleets of 2/,
    );
    expect(err.message).toMatch(
      /aws service-quotas request-service-quota-increase --region us-east-1 --service-code sagemaker --quota-code L-614B09FD --desired-value 4/,
    );
  });

  it('finds a quota missing from the code table by its name, across ListServiceQuotas pages', async () => {
    sq.on(ListServiceQuotasCommand)
      .resolvesOnce({ Quotas: [{ QuotaName: 'other', QuotaCode: 'L-1' }], NextToken: 'p2' })
      .resolvesOnce({
        Quotas: [{ QuotaName: 'ml.p4de.24xlarge for training job usage', QuotaCode: 'L-ABCDEF12', Value: 0 }],
      });
    const s = spec((r) => {
      r.training!.instanceType = 'ml.p4de.24xlarge';
      r.tuning = { ...r.tuning, resources: { instanceType: 'ml.m5.xlarge', instanceCount: 1 } };
    });
    const err = await expectFailure(acts.checkAccount(accountPreflightInput(s)), 'PreflightFailed', true);
    expect(err.message).toMatch(
      /"ml\.p4de\.24xlarge for training job usage" \(L-ABCDEF12, found by name\): the spec needs 4, the account has 0/,
    );
    expect(sq.commandCalls(ListServiceQuotasCommand)[1]?.args[0].input.NextToken).toBe('p2');
  });

  it('refuses a role that trusts the wrong service, and a missing role', async () => {
    iam.on(GetRoleCommand, { RoleName: 'CodeBuildImageRole' }).resolves({
      Role: {
        RoleName: 'CodeBuildImageRole',
        Arn: 'arn:aws:iam::123456789012:role/CodeBuildImageRole',
        AssumeRolePolicyDocument: trust('sagemaker.amazonaws.com'),
        Path: '/',
        RoleId: 'x',
        CreateDate: new Date(),
      },
    });
    iam.on(GetRoleCommand, { RoleName: 'SageMakerExecutionRole' }).rejects(awsError('NoSuchEntityException', 404));
    const err = await expectFailure(acts.checkAccount(accountPreflightInput(spec())), 'PreflightFailed', true);
    expect(err.message).toMatch(
      /\$\.image\.codeBuild\.serviceRoleArn: role .*CodeBuildImageRole does not trust codebuild\.amazonaws\.com/,
    );
    expect(err.message).toMatch(/\$\.roleArn: role .*SageMakerExecutionRole does not exist/);
  });

  it('refuses a call the worker may not make, and a bucket in another region', async () => {
    iam.on(SimulatePrincipalPolicyCommand).callsFake((i: { ActionNames: string[] }) => ({
      EvaluationResults: [
        {
          EvalActionName: i.ActionNames[0],
          EvalDecision: i.ActionNames[0] === 'iam:PassRole' ? 'implicitDeny' : 'allowed',
        },
      ],
    }));
    s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'eu-west-1' });
    const err = await expectFailure(acts.checkAccount(accountPreflightInput(spec())), 'PreflightFailed', true);
    expect(err.message).toMatch(
      /may not call iam:PassRole on arn:aws:iam::123456789012:role\/SageMakerExecutionRole \(iam:PassedToService=sagemaker\.amazonaws\.com\): implicitDeny/,
    );
    expect(err.message).toMatch(/bucket acme-ml-pipelines is in eu-west-1, the run is in us-east-1/);
  });

  it('notes a repository buildImage will create, and reports a refused read as a problem instead of retrying it', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException'));
    sq.on(GetServiceQuotaCommand).rejects(accessDenied());
    const err = await expectFailure(acts.checkAccount(accountPreflightInput(spec())), 'PreflightFailed', true);
    expect(err.message).toMatch(/GetServiceQuota L-CCE2AFA6 was refused/);
    expect(err.message).not.toMatch(/repository/);
  });

  it('retries throttling like any AWS call (a transient failure, not a refusal)', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('Throttling', 400, 'Rate exceeded'));
    await expectFailure(acts.checkAccount(accountPreflightInput(spec())), 'AwsTransient', false);
  });
});

describe('helpers', () => {
  it('reads trust policies as IAM documents them (URL-encoded JSON)', () => {
    const doc = encodeURIComponent(
      JSON.stringify({
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: ['a.amazonaws.com', 'sagemaker.amazonaws.com'] },
            Action: ['sts:AssumeRole'],
          },
        ],
      }),
    );
    expect(trusts(doc, 'sagemaker.amazonaws.com')).toBe(true);
    expect(trusts(doc, 'codebuild.amazonaws.com')).toBe(false);
  });

  it('simulates the role behind a role session, a user as itself, and nothing for the root', () => {
    expect(simulatablePrincipal('arn:aws:sts::123456789012:assumed-role/W/s')).toBe('arn:aws:iam::123456789012:role/W');
    expect(simulatablePrincipal('arn:aws:iam::123456789012:user/ana')).toBe('arn:aws:iam::123456789012:user/ana');
    expect(simulatablePrincipal('arn:aws:iam::123456789012:root')).toBeUndefined();
  });
});
