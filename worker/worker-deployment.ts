/**
 * The worker's version for Temporal: its build ID (the workflow source hash unless TEMPORAL_WORKER_BUILD_ID says
 * otherwise) and, when TEMPORAL_WORKER_DEPLOYMENT names a worker deployment, Worker Versioning with AUTO_UPGRADE as
 * every workflow's behaviour (docs/versioning.md says why). Without a deployment name the worker
 * is unversioned but still reports its build ID, which Temporal records on each run (the BuildIds search attribute).
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { ConfigError, DEFAULT_DEPLOYMENT_NAME, type WorkerConfig } from './config';
import { bundleSourceHash, workflowSourceHash } from './workflow-version';

/** The version a worker reports. */
export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
  /**
   * Worker Versioning on (TEMPORAL_WORKER_DEPLOYMENT set): the server routes tasks by the deployment's current version.
   */
  versioned: boolean;
  /** Where the build ID came from, for the start-up line. */
  origin: 'TEMPORAL_WORKER_BUILD_ID' | 'workflow source hash' | 'prebuilt bundle header';
}

/** Resolves the worker's version from its configuration and its workflow code. */
export function workerVersion(config: Pick<WorkerConfig, 'deployment' | 'workflowBundlePath'>): WorkerVersion {
  const deploymentName = config.deployment.name ?? DEFAULT_DEPLOYMENT_NAME;
  const versioned = config.deployment.name !== undefined;
  if (config.deployment.buildId)
    return { deploymentName, versioned, buildId: config.deployment.buildId, origin: 'TEMPORAL_WORKER_BUILD_ID' };
  if (config.workflowBundlePath) {
    const hash = bundleSourceHash(config.workflowBundlePath);
    if (!hash)
      throw new ConfigError(
        `Invalid worker configuration:\nWORKFLOW_BUNDLE_PATH: ${config.workflowBundlePath} has no workflow-source-hash header; rebuild it with \`npm run build\` or set TEMPORAL_WORKER_BUILD_ID`,
      );
    return { deploymentName, versioned, buildId: hash, origin: 'prebuilt bundle header' };
  }
  return { deploymentName, versioned, buildId: workflowSourceHash(), origin: 'workflow source hash' };
}

/** The Worker.create option that reports the version (and opts into Worker Versioning when versioned). */
export function workerDeploymentOptions(v: WorkerVersion): WorkerDeploymentOptions {
  const version = { deploymentName: v.deploymentName, buildId: v.buildId };
  return v.versioned
    ? { version, useWorkerVersioning: true, defaultVersioningBehavior: 'AUTO_UPGRADE' }
    : { version, useWorkerVersioning: false };
}

/** The slice of the workflow service the start-up report reads. */
export interface DeploymentDescriber {
  describeWorkerDeployment(req: { namespace: string; deploymentName: string }): Promise<{
    workerDeploymentInfo?: {
      routingConfig?: { currentDeploymentVersion?: { buildId?: string | null } | null } | null;
    } | null;
  }>;
}

/**
 * For a versioned worker: whether its version is the deployment's current one, and if not what the operator runs
 * (the replay gate, then set-current-version). A versioned worker whose version is not current gets no new tasks.
 */
export async function currentVersionNote(
  svc: DeploymentDescriber,
  namespace: string,
  v: WorkerVersion,
): Promise<string | undefined> {
  if (!v.versioned) return undefined;
  let current: string | undefined;
  try {
    const d = await svc.describeWorkerDeployment({ namespace, deploymentName: v.deploymentName });
    current = d.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
  } catch {
    current = undefined; // the deployment is created by this worker's first poll
  }
  if (current === v.buildId) return `this build is the current version of deployment ${v.deploymentName}`;
  return [
    `this build is not the current version of deployment ${v.deploymentName} (current: ${current ?? 'none'}); it gets no workflow tasks until promoted:`,
    `  npm run cli -- replay            # every open and recent run replays on this code`,
    `  temporal worker deployment set-current-version --deployment-name ${v.deploymentName} --build-id ${v.buildId}`,
  ].join('\n');
}
