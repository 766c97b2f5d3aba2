/**
 * Names of the stack and of resources in it that code outside the CDK app refers to (local mode's deployment).
 * Plain TypeScript, so reading them does not load the CDK.
 */

/** The stack's name (`npx cdk deploy` and local mode's deployment). */
export const STACK_NAME = 'SageMakerPipeline';

/** Logical IDs of the worker's runtime (infra/lib/worker-service.ts): the ECS service and what only it uses. */
export const WORKER_RUNTIME_IDS = {
  logGroup: 'WorkerLogGroup',
  executionRole: 'WorkerTaskExecutionRole',
  cluster: 'WorkerCluster',
  taskDefinition: 'WorkerTaskDefinition',
  securityGroup: 'WorkerSecurityGroup',
  service: 'WorkerService',
} as const;

/** The queue the state-change rules deliver to (infra/lib/events.ts); iam/worker-policy.json names it. */
export const EVENTS_QUEUE_NAME = 'pipeline-state-changes';
