/**
 * The opt-in request audit: with a file set, the client factory records every request as `{service, operation,
 * input}`; the checker validates each against AWS's models and names what AWS would refuse. Off by default.
 */
import { CreateTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { GetRoleCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { checkAuditFile, formatAuditReport } from '../../../local/service/core/aws-models/audit-check';
import { createAwsClients } from '../../../worker/aws-clients';

let server: http.Server;
const saved = { ...process.env };

beforeAll(async () => {
  // Answers every request with an empty JSON success: the audit is about what is sent, not what comes back.
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'x',
  });
});

afterAll(async () => {
  process.env = saved;
  await new Promise((r) => server.close(r));
});

test('off by default: no middleware is installed', () => {
  delete process.env.LOCAL_AWS_REQUEST_AUDIT;
  const clients = createAwsClients({ region: 'us-east-1' });
  expect(clients.sagemaker.middlewareStack.identify().join(' ')).not.toContain('localAwsRequestAudit');
});

test('records every request and flags the ones AWS would refuse', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-')), 'requests.jsonl');
  const clients = createAwsClients({ region: 'us-east-1', requestAudit: file });
  const valid = {
    TrainingJobName: 'job-1',
    RoleArn: 'arn:aws:iam::123456789012:role/SageMakerRole',
    AlgorithmSpecification: { TrainingImage: 'img', TrainingInputMode: 'File' as const },
    OutputDataConfig: { S3OutputPath: 's3://b/o' },
    ResourceConfig: { InstanceType: 'ml.m5.large' as const, InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
  };
  await clients.sagemaker.send(new CreateTrainingJobCommand(valid)).catch(() => undefined);
  // A name with '_' breaks the model's pattern.
  await clients.sagemaker
    .send(new CreateTrainingJobCommand({ ...valid, TrainingJobName: 'job_2' }))
    .catch(() => undefined);
  await clients.s3
    .send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: Buffer.from('abc') }))
    .catch(() => undefined);
  // A member the model does not define is dropped by the SDK without a word: the audit names it.
  await clients.cloudwatch
    .send(
      new PutMetricAlarmCommand({
        AlarmName: 'a',
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 1,
        Period: 60,
        Statistic: 'Sum',
        MetricName: 'Invocation5XXErrors',
        Namespace: 'AWS/SageMaker',
        ...({ Periods: 60 } as object),
      }),
    )
    .catch(() => undefined);
  const lines = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => `${l.service}.${l.operation}`)).toEqual([
    'sagemaker.CreateTrainingJob',
    'sagemaker.CreateTrainingJob',
    's3.PutObject',
    'cloudwatch.PutMetricAlarm',
  ]);
  expect(lines[2]?.input).toEqual({ Bucket: 'b', Key: 'k', Body: { $blob: 3 } });
  const report = checkAuditFile(file);
  expect(report.requests).toBe(4);
  expect(report.invalid.map((f) => [f.line, f.problems])).toEqual([
    [
      2,
      [
        "ValidationException: 1 validation error detected: Value 'job_2' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
      ],
    ],
    [4, ["'periods' is not a member of the model: the SDK drops it"]],
  ]);
  expect(formatAuditReport(report)).toMatch(/^4 requests, 2 invalid against AWS's models/);
});

test("records the account preflight's requests under their models (Service Quotas, IAM, STS), all valid", async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-')), 'requests.jsonl');
  const clients = createAwsClients({ region: 'us-east-1', requestAudit: file });
  // Each answer is the stub's JSON, which the query clients cannot parse: only what was sent matters.
  const sends: (() => Promise<unknown>)[] = [
    () => clients.servicequotas.send(new GetServiceQuotaCommand({ ServiceCode: 'sagemaker', QuotaCode: 'L-09B4A649' })),
    () => clients.iam.send(new GetRoleCommand({ RoleName: 'SageMakerExecutionRole' })),
    () => clients.sts.send(new GetCallerIdentityCommand({})),
    () =>
      clients.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: 'arn:aws:iam::123456789012:role/PipelineWorkerRole',
          ActionNames: ['iam:PassRole'],
          ResourceArns: ['arn:aws:iam::123456789012:role/SageMakerExecutionRole'],
          ContextEntries: [
            {
              ContextKeyName: 'iam:PassedToService',
              ContextKeyValues: ['sagemaker.amazonaws.com'],
              ContextKeyType: 'string',
            },
          ],
        }),
      ),
  ];
  for (const send of sends) await send().catch(() => undefined);
  const report = checkAuditFile(file);
  expect(Object.keys(report.byOperation)).toEqual([
    'service-quotas.GetServiceQuota',
    'iam.GetRole',
    'sts.GetCallerIdentity',
    'iam.SimulatePrincipalPolicy',
  ]);
  expect(report.invalid).toEqual([]);
});
