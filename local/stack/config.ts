/**
 * Local-mode settings: where the stack keeps its state, which ports it uses, and the env vars a worker needs.
 * Every value can be overridden from the environment so tests and parallel stacks do not collide.
 */
import path from 'node:path';
import { EVENTS_QUEUE_NAME } from '../../infra/resource-ids';
import { ACCOUNT_ID, REGION } from '../shared/account';
import { WORKER_CREDENTIALS } from '../shared/credentials';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface StackConfig {
  stateDir: string;
  temporalPort: number;
  temporalUiPort: number;
  motoPort: number;
  servicePort: number;
  containerBinDir: string;
  executor: 'process' | 'container';
  /**
   * How the local CodeBuild builds images: `podman` (a real `podman build`, pushed to the stack's local OCI
   * registry) or `process` (the fast process image). LOCAL_CODEBUILD_BUILDER; default podman exactly when the
   * executor is `container`, which can only run real images.
   */
  builder: 'process' | 'podman';
  /** The local OCI registry (Debian's docker-registry) the podman builder pushes to: LOCAL_REGISTRY_PORT. */
  registryPort: number;
}

/** True when the stack runs containers or builds real images, so it needs podman and the local registry. */
export function needsPodman(cfg: Pick<StackConfig, 'executor' | 'builder'>): boolean {
  return cfg.executor === 'container' || cfg.builder === 'podman';
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535)
    throw new Error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

export function stackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const executor = env.LOCAL_EXECUTOR ?? 'process';
  if (executor !== 'process' && executor !== 'container')
    throw new Error(`LOCAL_EXECUTOR must be process or container, got ${executor}`);
  const builder = env.LOCAL_CODEBUILD_BUILDER || (executor === 'container' ? 'podman' : 'process');
  if (builder !== 'process' && builder !== 'podman')
    throw new Error(`LOCAL_CODEBUILD_BUILDER must be podman or process, got ${builder}`);
  return {
    stateDir: path.resolve(env.LOCAL_STATE_DIR ?? path.join(REPO_ROOT, '.local-state')),
    temporalPort: intEnv(env, 'LOCAL_TEMPORAL_PORT', 7233),
    temporalUiPort: intEnv(env, 'LOCAL_TEMPORAL_UI_PORT', 8233),
    motoPort: intEnv(env, 'LOCAL_MOTO_PORT', 5055),
    servicePort: intEnv(env, 'LOCAL_SAGEMAKER_PORT', 4599),
    containerBinDir: path.resolve(REPO_ROOT, env.LOCAL_CONTAINER_BIN_DIR ?? 'container/.venv/bin'),
    executor,
    builder,
    registryPort: intEnv(env, 'LOCAL_REGISTRY_PORT', 5056),
  };
}

/**
 * The polling net's interval in local mode (PIPELINE_EVENTS_NET_INTERVAL_SECONDS): state-change events wake the
 * steps, and a lost event costs a local run at most this long (AWS's default is 600 s, docs/events.md).
 */
export const LOCAL_EVENT_NET_INTERVAL_S = 30;

/**
 * The environment a worker needs to talk to this stack. Every AWS endpoint is the local service's port: it serves
 * SageMaker, SageMaker Runtime and CodeBuild itself and passes everything else (S3, ECR, CloudWatch, CloudWatch Logs,
 * Application Auto Scaling, STS, IAM, SQS) through its IAM gateway to moto, so each call is evaluated against
 * iam/worker-policy.json. The credentials are the worker's (local/shared/credentials.ts).
 *
 * The event relay is on, as on AWS (docs/events.md): it reads the queue `npm run local -- up` deployed from infra/
 * into moto. Its URL names the gateway's host, not moto's: the SQS client sends each call to its QueueUrl's host, so
 * the relay's ReceiveMessage and DeleteMessage pass the gateway and the worker policy like every other call.
 */
export function workerEnv(cfg: StackConfig): Record<string, string> {
  const aws = `http://127.0.0.1:${cfg.servicePort}`;
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${cfg.temporalPort}`,
    TEMPORAL_NAMESPACE: 'default',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: WORKER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: WORKER_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: aws,
    AWS_ENDPOINT_URL_S3: aws,
    AWS_ENDPOINT_URL_IAM: aws,
    AWS_ENDPOINT_URL_STS: aws,
    AWS_ENDPOINT_URL_ECR: aws,
    AWS_ENDPOINT_URL_CLOUDWATCH: aws,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: aws,
    AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING: aws,
    AWS_ENDPOINT_URL_SAGEMAKER: aws,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: aws,
    AWS_ENDPOINT_URL_CODEBUILD: aws,
    AWS_ENDPOINT_URL_SQS: aws,
    PIPELINE_EVENTS_QUEUE_URL: `${aws}/${ACCOUNT_ID}/${EVENTS_QUEUE_NAME}`,
    PIPELINE_EVENTS_NET_INTERVAL_SECONDS: String(LOCAL_EVENT_NET_INTERVAL_S),
  };
}
