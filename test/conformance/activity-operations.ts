/**
 * The AWS operations the activities call: each `new XCommand(` in activities/*.ts, with the client package it is
 * imported from mapped to botocore's service name. Shared by the conformance suites that must cover every one.
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
  '@aws-sdk/client-sts': 'sts',
};

/** `service.Operation` for every command the activities construct, sorted. */
export function activityOperations(): { service: string; operation: string }[] {
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
