/**
 * Worker and CLI configuration, read once from the environment and validated; bad config exits with a readable list.
 */
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../contracts/task-queue';
import { formatIssues, toSpecIssues } from '../contracts/validation';

const nonEmpty = z.string().trim().min(1);

/**
 * Activity slots per worker. Every waiting pipeline holds one slot for days (its wait is one heartbeating activity),
 * so the SDK's default of 100 would leave pipeline 101 onwards queued, unpolled, until a job elsewhere ends; the bar
 * is 1,000 waiting pipelines per worker, with room for their quick activities.
 */
export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 2000;

/** Environment variables the worker and CLI read. */
export const WorkerEnv = z
  .object({
    TEMPORAL_ADDRESS: nonEmpty.default('localhost:7233'),
    TEMPORAL_NAMESPACE: nonEmpty.default('default'),
    TEMPORAL_TASK_QUEUE: nonEmpty.default(DEFAULT_TASK_QUEUE),
    TEMPORAL_TLS_CERT_PATH: nonEmpty.optional(),
    TEMPORAL_TLS_KEY_PATH: nonEmpty.optional(),
    TEMPORAL_API_KEY: nonEmpty.optional(),
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
      .optional(),
    AWS_DEFAULT_REGION: z.string().optional(),
    WORKFLOW_BUNDLE_PATH: nonEmpty.optional(),
    PIPELINE_SPEC_DIR: nonEmpty.optional(),
    WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce
      .number<string | undefined>()
      .int()
      .min(1)
      .default(DEFAULT_MAX_CONCURRENT_ACTIVITIES),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH))
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS_KEY_PATH'],
        message: 'set both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH for mTLS, or neither',
      });
    if (env.TEMPORAL_API_KEY && env.TEMPORAL_TLS_CERT_PATH)
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_API_KEY'],
        message: 'use either an API key or an mTLS certificate, not both',
      });
    if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION)
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_REGION'],
        message: 'required (the region of SageMaker, ECR, S3 and CodeBuild)',
      });
  });

/** Validated configuration. */
export interface WorkerConfig {
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    tls?: { certPath: string; keyPath: string };
    apiKey?: string;
  };
  awsRegion: string;
  workflowBundlePath?: string;
  /** What relative code paths of a spec are resolved against: PIPELINE_SPEC_DIR, else the working directory. */
  specDir: string;
  /** Activities one worker runs at once (waits included): WORKER_MAX_CONCURRENT_ACTIVITIES. */
  maxConcurrentActivities: number;
}

/** Error thrown for invalid configuration; its message lists every bad variable. */
export class ConfigError extends Error {}

/** Parses configuration from an environment (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const parsed = WorkerEnv.safeParse(env);
  if (!parsed.success) {
    const lines = formatIssues(toSpecIssues(parsed.error)).replace(/^\$\./gm, '');
    throw new ConfigError(`Invalid worker configuration:\n${lines}`);
  }
  const e = parsed.data;
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      tls:
        e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH
          ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH }
          : undefined,
      apiKey: e.TEMPORAL_API_KEY,
    },
    awsRegion: (e.AWS_REGION ?? e.AWS_DEFAULT_REGION) as string,
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    specDir: path.resolve(e.PIPELINE_SPEC_DIR ?? process.cwd()),
    maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
  };
}

/** The Worker.create settings that size the worker: shared by worker/main.ts and the capacity bench. */
export function workerCapacityOptions(config: Pick<WorkerConfig, 'maxConcurrentActivities'>): {
  maxConcurrentActivityTaskExecutions: number;
} {
  return { maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities };
}
