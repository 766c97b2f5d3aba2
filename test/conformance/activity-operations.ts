/**
 * The AWS operations the worker calls: each `new XCommand(` in activities/*.ts and in the event relay
 * (worker/event-relay.ts), with the client package it is imported from mapped to botocore's service name. Shared by
 * the conformance suites that must cover every one.
 */
import fs from 'node:fs';
import path from 'node:path';

/** botocore's service name for each AWS SDK client package the activities use. */
export const PACKAGE_MODEL: Record<string, string> = {
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
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-sts': 'sts',
};

/** The worker's files that send AWS requests: every activity, and the event relay. */
function workerSources(): string[] {
  const root = path.resolve(__dirname, '../..');
  const activities = path.join(root, 'activities');
  return [
    ...fs
      .readdirSync(activities)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(activities, f)),
    path.join(root, 'worker', 'event-relay.ts'),
  ];
}

/** `service.Operation` for every command the activities and the event relay construct, sorted. */
export function activityOperations(): { service: string; operation: string }[] {
  const found = new Map<string, { service: string; operation: string }>();
  for (const file of workerSources()) {
    const text = fs.readFileSync(file, 'utf8');
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
