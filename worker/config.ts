/**
 * Worker and CLI configuration, read once from the environment and validated; bad config exits with a readable list.
 */
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_EVENT_NET_INTERVAL_S } from '../contracts/job-events';
import { DEFAULT_TASK_QUEUE } from '../contracts/task-queue';
import { formatIssues, toSpecIssues } from '../contracts/validation';

const nonEmpty = z.string().trim().min(1);

/**
 * Activity slots per worker. Every waiting pipeline holds one slot for days (its wait is one heartbeating activity),
 * so the SDK's default of 100 would leave pipeline 101 onwards queued, unpolled, until a job elsewhere ends; the bar
 * is 1,000 waiting pipelines per worker, with room for their quick activities.
 */
export const DEFAULT_MAX_CONCURRENT_ACTIVITIES = 2000;

/**
 * Workflow runs one worker keeps cached between their tasks (WORKER_MAX_CACHED_WORKFLOWS). The SDK's default is sized
 * from V8's heap limit (about 2,400 on Node 24), so a worker holding 1,000 waiting pipelines kept all 2,000 of their
 * runs (each pipeline and its training step) in memory, and passed 1 GiB (bench/results/worker-capacity.md). A waiting
 * run gets no workflow task for hours (its wait is one heartbeating activity), so caching it buys nothing until its
 * job ends or an event wakes it; then an evicted run is replayed from its history, a few dozen events
 * (https://docs.temporal.io/develop/worker-performance/workflow-cache). 500 keeps every run that is starting or
 * acting cached, well above the 40 workflow tasks the SDK runs at once.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 500;

/**
 * How long a stopping worker (SIGTERM, SIGINT) lets in-flight activities finish before cancelling them: under the
 * 30 s that ECS (stopTimeout) and Kubernetes (terminationGracePeriodSeconds) wait by default before SIGKILL, so quick
 * AWS calls complete and long waits are cancelled cleanly (each is retried on another worker and re-attaches).
 */
export const DEFAULT_SHUTDOWN_GRACE_S = 20;

/** Name of the worker deployment when TEMPORAL_WORKER_DEPLOYMENT does not name one (Worker Versioning off). */
export const DEFAULT_DEPLOYMENT_NAME = 'sagemaker-pipeline';

/** The Temporal connection: what every command that talks to Temporal reads (and nothing else). */
const TEMPORAL_FIELDS = {
  TEMPORAL_ADDRESS: nonEmpty.default('localhost:7233'),
  TEMPORAL_NAMESPACE: nonEmpty.default('default'),
  TEMPORAL_TASK_QUEUE: nonEmpty.default(DEFAULT_TASK_QUEUE),
  TEMPORAL_TLS_CERT_PATH: nonEmpty.optional(),
  TEMPORAL_TLS_KEY_PATH: nonEmpty.optional(),
  TEMPORAL_API_KEY: nonEmpty.optional(),
};

type TemporalFields = z.output<z.ZodObject<typeof TEMPORAL_FIELDS>>;

function checkTemporal(env: TemporalFields, ctx: z.RefinementCtx): void {
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
}

/** Environment variables of a Temporal client (the operator CLI's commands that need no AWS). */
export const TemporalEnv = z.object(TEMPORAL_FIELDS).superRefine(checkTemporal);

/** Environment variables the worker reads (and the CLI commands that call AWS). */
export const WorkerEnv = z
  .object({
    ...TEMPORAL_FIELDS,
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
      .optional(),
    AWS_DEFAULT_REGION: z.string().optional(),
    WORKFLOW_BUNDLE_PATH: nonEmpty.optional(),
    PIPELINE_SPEC_DIR: nonEmpty.optional(),
    TEMPORAL_WORKER_DEPLOYMENT: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,200}$/, 'letters, digits, ".", "_" and "-" only')
      .optional(),
    TEMPORAL_WORKER_BUILD_ID: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]{1,200}$/, 'letters, digits, ".", "_" and "-" only')
      .optional(),
    WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce
      .number<string | undefined>()
      .int()
      .min(1)
      .default(DEFAULT_MAX_CONCURRENT_ACTIVITIES),
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce
      .number<string | undefined>()
      .int()
      // The SDK's rule: 0 turns the cache off (every task replays), 1 is too few to run a task beside a cached run.
      .refine((n) => n === 0 || n >= 2, 'must be 0 (no cache) or at least 2')
      .default(DEFAULT_MAX_CACHED_WORKFLOWS),
    WORKER_SHUTDOWN_GRACE_SECONDS: z.coerce.number<string | undefined>().int().min(0).default(DEFAULT_SHUTDOWN_GRACE_S),
    WORKER_HEALTH_PORT: z.coerce.number<string | undefined>().int().min(1).max(65535).optional(),
    WORKER_HEALTH_HOST: nonEmpty.default('127.0.0.1'),
    PIPELINE_EVENTS_QUEUE_URL: z.url({ protocol: /^https?$/ }).optional(),
    PIPELINE_EVENTS_NET_INTERVAL_SECONDS: z.coerce
      .number<string | undefined>()
      .int()
      .min(1)
      .max(3600)
      .default(DEFAULT_EVENT_NET_INTERVAL_S),
  })
  .superRefine((env, ctx) => {
    checkTemporal(env, ctx);
    if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION)
      ctx.addIssue({
        code: 'custom',
        path: ['AWS_REGION'],
        message: 'required (the region of SageMaker, ECR, S3 and CodeBuild)',
      });
  });

/** Where Temporal is and how to authenticate. */
export interface TemporalConfig {
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    tls?: { certPath: string; keyPath: string };
    apiKey?: string;
  };
}

/** Validated worker configuration. */
export interface WorkerConfig extends TemporalConfig {
  awsRegion: string;
  workflowBundlePath?: string;
  /** What relative code paths of a spec are resolved against: PIPELINE_SPEC_DIR, else the working directory. */
  specDir: string;
  /**
   * Worker Versioning: the worker deployment this worker belongs to (TEMPORAL_WORKER_DEPLOYMENT; versioning is on
   * exactly when it is set) and the build ID it reports (TEMPORAL_WORKER_BUILD_ID, default the workflow source hash).
   */
  deployment: { name?: string; buildId?: string };
  /** Activities one worker runs at once (waits included): WORKER_MAX_CONCURRENT_ACTIVITIES. */
  maxConcurrentActivities: number;
  /** Workflow runs the worker keeps cached between their tasks: WORKER_MAX_CACHED_WORKFLOWS. */
  maxCachedWorkflows: number;
  /** WORKER_SHUTDOWN_GRACE_SECONDS: how long a stopping worker lets in-flight activities finish. */
  shutdownGraceSeconds: number;
  /** WORKER_HEALTH_PORT / WORKER_HEALTH_HOST: where GET /healthz answers (worker/health-server.ts); off when unset. */
  health?: { port: number; host: string };
  /**
   * State-change events (docs/events.md): PIPELINE_EVENTS_QUEUE_URL, the queue the EventBridge rule delivers to (the
   * relay runs exactly when it is set), and PIPELINE_EVENTS_NET_INTERVAL_SECONDS, the polling net's interval.
   */
  events?: { queueUrl: string; netIntervalSeconds: number };
}

/** Error thrown for invalid configuration; its message lists every bad variable. */
export class ConfigError extends Error {}

function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>, what: string): z.output<S> {
  const parsed = z.safeParse(schema, env);
  if (!parsed.success) {
    const lines = formatIssues(toSpecIssues(parsed.error)).replace(/^\$\./gm, '');
    throw new ConfigError(`Invalid ${what} configuration:\n${lines}`);
  }
  return parsed.data;
}

function temporalSection(e: TemporalFields): TemporalConfig['temporal'] {
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    tls:
      e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH
        ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH }
        : undefined,
    apiKey: e.TEMPORAL_API_KEY,
  };
}

/** Parses the Temporal connection settings only (no AWS): for CLI commands that talk to Temporal alone. */
export function loadTemporalConfig(env: Record<string, string | undefined> = process.env): TemporalConfig {
  return { temporal: temporalSection(parseEnv(TemporalEnv, env, 'Temporal')) };
}

/** Parses the worker's configuration from an environment (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const e = parseEnv(WorkerEnv, env, 'worker');
  return {
    temporal: temporalSection(e),
    deployment: { name: e.TEMPORAL_WORKER_DEPLOYMENT, buildId: e.TEMPORAL_WORKER_BUILD_ID },
    awsRegion: (e.AWS_REGION ?? e.AWS_DEFAULT_REGION) as string,
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    specDir: path.resolve(e.PIPELINE_SPEC_DIR ?? process.cwd()),
    maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    shutdownGraceSeconds: e.WORKER_SHUTDOWN_GRACE_SECONDS,
    health: e.WORKER_HEALTH_PORT ? { port: e.WORKER_HEALTH_PORT, host: e.WORKER_HEALTH_HOST } : undefined,
    events: e.PIPELINE_EVENTS_QUEUE_URL
      ? { queueUrl: e.PIPELINE_EVENTS_QUEUE_URL, netIntervalSeconds: e.PIPELINE_EVENTS_NET_INTERVAL_SECONDS }
      : undefined,
  };
}

/**
 * The Worker.create settings for stopping: the SDK stops polling on SIGTERM/SIGINT and by default cancels in-flight
 * activities at once; this lets them finish for the grace period first, and gives up (run() rejects, exit 1) a few
 * seconds later if one ignores its cancellation, before the orchestrator's SIGKILL.
 */
export function workerShutdownOptions(config: Pick<WorkerConfig, 'shutdownGraceSeconds'>): {
  shutdownGraceTime: number;
  shutdownForceTime: number;
} {
  const graceMs = config.shutdownGraceSeconds * 1000;
  return { shutdownGraceTime: graceMs, shutdownForceTime: graceMs + 5000 };
}

/** The Worker.create settings that size the worker: shared by worker/main.ts and the capacity bench. */
export function workerCapacityOptions(config: Pick<WorkerConfig, 'maxConcurrentActivities' | 'maxCachedWorkflows'>): {
  maxConcurrentActivityTaskExecutions: number;
  maxCachedWorkflows: number;
} {
  return {
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
    maxCachedWorkflows: config.maxCachedWorkflows,
  };
}
