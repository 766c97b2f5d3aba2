/**
 * What local mode answers for the account preflight: Service Quotas as a new account (AWS's defaults, the large GPU
 * training quotas at 0), judged by AWS's model; GetCallerIdentity, GetRole and SimulatePrincipalPolicy from local
 * mode's own IAM, so a simulation gives the decision the real call gets here.
 */
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetServiceQuotaCommand, ListServiceQuotasCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { WORKER_CREDENTIALS } from '../../../local/shared/credentials';
import type { LocalService } from '../../../local/service/server';
import { type Moto, startMoto, startService, tmpDir } from './helpers';

jest.setTimeout(60_000);

let moto: Moto;
let svc: LocalService;
const asWorker = () => ({ endpoint: svc.url, region: 'us-east-1', credentials: WORKER_CREDENTIALS, maxAttempts: 1 });

beforeAll(async () => {
  moto = await startMoto();
  svc = await startService(moto.url, tmpDir('sq-iam-'));
});
afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

describe('Service Quotas', () => {
  it("answers a new account's large GPU training quota with 0 and the demo's CPU types with what it needs", async () => {
    const sq = new ServiceQuotasClient(asWorker());
    const p4d = await sq.send(new GetServiceQuotaCommand({ ServiceCode: 'sagemaker', QuotaCode: 'L-09B4A649' }));
    expect(p4d.Quota).toMatchObject({ QuotaName: 'ml.p4d.24xlarge for training job usage', Value: 0 });
    const m5 = await sq.send(new GetServiceQuotaCommand({ ServiceCode: 'sagemaker', QuotaCode: 'L-CCE2AFA6' }));
    expect(m5.Quota).toMatchObject({ QuotaName: 'ml.m5.xlarge for training job usage', Value: 4 });
  });

  it('pages ListServiceQuotas with NextToken and refuses a token it did not give', async () => {
    const sq = new ServiceQuotasClient(asWorker());
    const first = await sq.send(new ListServiceQuotasCommand({ ServiceCode: 'sagemaker', MaxResults: 100 }));
    expect(first.Quotas).toHaveLength(100);
    const second = await sq.send(
      new ListServiceQuotasCommand({ ServiceCode: 'sagemaker', MaxResults: 100, NextToken: first.NextToken }),
    );
    expect(second.Quotas?.[0]?.QuotaCode).not.toBe(first.Quotas?.[0]?.QuotaCode);
    await expect(
      sq.send(new ListServiceQuotasCommand({ ServiceCode: 'sagemaker', NextToken: 'OTk5OTk=' })),
    ).rejects.toMatchObject({ name: 'InvalidPaginationTokenException' });
  });

  it("refuses what AWS refuses: a request its model rejects, an unknown quota, MaxResults over the model's 100", async () => {
    const sq = new ServiceQuotasClient(asWorker());
    await expect(
      sq.send(new GetServiceQuotaCommand({ ServiceCode: 'sagemaker', QuotaCode: 'L-0000000' })),
    ).rejects.toMatchObject({ name: 'NoSuchResourceException' });
    await expect(
      sq.send(new ListServiceQuotasCommand({ ServiceCode: 'sagemaker', MaxResults: 101 })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('IAM and STS', () => {
  it("names the worker's role session as the caller", async () => {
    const who = await new STSClient(asWorker()).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({
      Account: '123456789012',
      Arn: 'arn:aws:sts::123456789012:assumed-role/PipelineWorkerRole/local-worker',
    });
  });

  it('describes a role with the trust policy local mode enforces', async () => {
    const role = await new IAMClient(asWorker()).send(new GetRoleCommand({ RoleName: 'CodeBuildImageRole' }));
    expect(role.Role?.Arn).toBe('arn:aws:iam::123456789012:role/CodeBuildImageRole');
    expect(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '')).toContain('codebuild.amazonaws.com');
  });

  it("simulates the worker's policy with the evaluator that enforces it, condition keys included", async () => {
    const iam = new IAMClient(asWorker());
    const simulate = (resource: string, service: string) =>
      iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: 'arn:aws:iam::123456789012:role/PipelineWorkerRole',
          ActionNames: ['iam:PassRole'],
          ResourceArns: [resource],
          ContextEntries: [
            { ContextKeyName: 'iam:PassedToService', ContextKeyValues: [service], ContextKeyType: 'string' },
          ],
        }),
      );
    const exec = 'arn:aws:iam::123456789012:role/SageMakerExecutionRole';
    expect((await simulate(exec, 'sagemaker.amazonaws.com')).EvaluationResults?.[0]?.EvalDecision).toBe('allowed');
    // The execution role may be passed to SageMaker only (the policy's iam:PassedToService condition).
    expect((await simulate(exec, 'codebuild.amazonaws.com')).EvaluationResults?.[0]?.EvalDecision).toBe('implicitDeny');
    // The worker may simulate itself only (iam/worker-policy.json), as AWS authorizes against PolicySourceArn.
    await expect(
      iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: 'arn:aws:iam::123456789012:role/NoSuchRole',
          ActionNames: ['s3:GetObject'],
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
