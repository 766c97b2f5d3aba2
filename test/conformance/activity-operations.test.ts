/**
 * Every AWS operation the activities call (found in activities/*.ts: each `new XCommand(` and the client package it
 * is imported from) is in AWS's model, and a request without its required members is refused member by member,
 * as each operation's API reference page documents under "Required: Yes" (the pages are generated from the same
 * models: e.g. https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadServiceModel } from '../../local/service/core/aws-models/botocore-models';
import { hasOperation, validateInput } from '../../local/service/core/aws-models/validate-request';
import { constraintAt } from './conformance-service';

const PACKAGE_MODEL: Record<string, string> = {
  '@aws-sdk/client-application-auto-scaling': 'application-autoscaling',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-cloudwatch-logs': 'logs',
  '@aws-sdk/client-codebuild': 'codebuild',
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-iam': 'iam',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-sagemaker': 'sagemaker',
  '@aws-sdk/client-sagemaker-runtime': 'sagemaker-runtime',
  '@aws-sdk/client-service-quotas': 'service-quotas',
  '@aws-sdk/client-sts': 'sts',
};

/** `service.Operation` for every command the activities construct. */
function activityOperations(): { service: string; operation: string }[] {
  const dir = path.resolve(__dirname, '../../activities');
  const found = new Map<string, { service: string; operation: string }>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const imported = new Map<string, string>();
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[a-z0-9-]+)'/g))
      for (const name of (m[1] as string).split(',').map((n) => n.trim().replace(/^type\s+/, '')))
        if (name) imported.set(name, m[2] as string);
    for (const m of text.matchAll(/new (\w+)Command\(/g)) {
      const pkg = imported.get(`${m[1]}Command`);
      if (!pkg) continue;
      const service = PACKAGE_MODEL[pkg] as string;
      found.set(`${service}.${m[1]}`, { service, operation: m[1] as string });
    }
  }
  return [...found.values()].sort((a, b) => `${a.service}.${a.operation}`.localeCompare(`${b.service}.${b.operation}`));
}

const operations = activityOperations();

test('the activities call the operations this suite covers', () => {
  // Sixty-odd operations over eleven services; a new one joins the table below by itself.
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
