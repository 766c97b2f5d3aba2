/**
 * Every AWS operation the activities call (found in activities/*.ts: each `new XCommand(` and the client package it
 * is imported from) is in AWS's model, and a request without its required members is refused member by member,
 * as each operation's API reference page documents under "Required: Yes" (the pages are generated from the same
 * models: e.g. https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html). And the IAM action each
 * one needs is granted to the worker by iam/worker-policy.json: an operation added without its grant fails here, not
 * on AWS after hours of training.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadServiceModel } from '../../local/service/core/aws-models/botocore-models';
import { hasOperation, validateInput } from '../../local/service/core/aws-models/validate-request';
import { checksFor } from '../../local/service/iam/request-checks';
import { activityOperations } from './activity-operations';
import { constraintAt } from './conformance-service';

const operations = activityOperations();

test('the activities and the event relay call the operations this suite covers', () => {
  // Seventy-odd operations over twelve services; a new one joins the table below by itself.
  expect(operations.length).toBeGreaterThan(50);
  expect(new Set(operations.map((o) => o.service))).toEqual(
    new Set([
      'application-autoscaling',
      'cloudwatch',
      'logs',
      'codebuild',
      'ecr',
      's3',
      'sagemaker',
      'service-quotas',
      'iam',
      'sts',
      'sqs',
    ]),
  );
});

test.each(operations)(
  '$service $operation: in the model, and refused without its required members',
  ({ service, operation }) => {
    expect(hasOperation(service, operation)).toBe(true);
    const model = loadServiceModel(service);
    const input = model.operations[operation]?.input;
    const required = input ? (model.shapes[input.shape]?.required ?? []) : [];
    const v = validateInput(service, operation, {});
    if (required.length === 0) return expect(v.error).toBeUndefined();
    expect(v.error?.message).toMatch(new RegExp(`^${required.length} validation errors? detected: `));
    for (const member of required) {
      const memberPath = member.charAt(0).toLowerCase() + member.slice(1);
      expect({ member, constraint: constraintAt(v.error?.message ?? '', memberPath) }).toEqual({
        member,
        constraint: 'Member must not be null',
      });
    }
  },
);

/**
 * The IAM actions of the S3 operations the activities call, per "Required permissions for Amazon S3 API operations"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html): HeadObject is
 * s3:GetObject, ListObjectsV2 s3:ListBucket, every multipart call but Abort s3:PutObject, a copy also s3:GetObject
 * on its source. The other services' operations are actions of the same name (the Service Authorization Reference,
 * as local/service/iam/request-checks.ts reads it).
 */
const S3_ACTIONS: Record<string, string[]> = {
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  CompleteMultipartUpload: ['s3:PutObject'],
  CopyObject: ['s3:PutObject', 's3:GetObject'],
  CreateMultipartUpload: ['s3:PutObject'],
  GetBucketLocation: ['s3:GetBucketLocation'],
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  ListObjectsV2: ['s3:ListBucket'],
  PutObject: ['s3:PutObject'],
  UploadPartCopy: ['s3:PutObject', 's3:GetObject'],
};

/** The IAM actions the worker policy allows somewhere (with whatever resources and conditions). */
function workerAllows(): (action: string) => boolean {
  const policy = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../iam/worker-policy.json'), 'utf8')) as {
    Statement: { Effect: string; Action?: string | string[] }[];
  };
  const patterns = policy.Statement.filter((st) => st.Effect === 'Allow')
    .flatMap((st) => (Array.isArray(st.Action) ? st.Action : st.Action ? [st.Action] : []))
    .map((a) => new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i'));
  return (action) => patterns.some((p) => p.test(action));
}

/**
 * Operations whose IAM action is not `<service>:<operation>` as request-checks.ts reads it: Service Quotas' actions
 * have the prefix `servicequotas`, and STS GetCallerIdentity needs no permission ("No permissions are required to
 * perform this operation", https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
 */
const OTHER_ACTIONS: Record<string, string[]> = {
  'service-quotas.GetServiceQuota': ['servicequotas:GetServiceQuota'],
  'service-quotas.ListServiceQuotas': ['servicequotas:ListServiceQuotas'],
  'sts.GetCallerIdentity': [],
};

test.each(operations)(
  '$service $operation: its IAM action is granted by iam/worker-policy.json',
  async ({ service, operation }) => {
    const actions =
      service === 's3'
        ? S3_ACTIONS[operation]
        : (OTHER_ACTIONS[`${service}.${operation}`] ??
          (await checksFor({ prefix: service, operation, body: {} })).map((c) => c.action).slice(0, 1));
    expect({ operation, actions }).toEqual({ operation, actions: expect.any(Array) });
    if (!(`${service}.${operation}` in OTHER_ACTIONS)) expect(actions?.length).toBeGreaterThan(0);
    const allows = workerAllows();
    expect((actions ?? []).filter((a) => !allows(a))).toEqual([]);
  },
);
