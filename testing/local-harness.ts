/**
 * A local stack of its own, with a dataset, workers and the tiny spec: what the e2e tests, the benches, the chaos
 * campaigns and the history recorder run on. Isolated state dir and ports; the dataset prepared by the container's
 * processing entrypoint; workers as child processes (so they can be SIGKILLed) or in this process; the service
 * restartable; and an audit of what the local AWS holds for a run (the "nothing duplicated" check).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createActivities } from '../activities';
import { createAwsClients } from '../worker/aws-clients';
import { loadConfig } from '../worker/config';
import type { EventRelay } from '../worker/event-relay';
import { startWorkerEventRelay } from '../worker/event-relay-main';
import { projectWorkerOptions } from '../worker/worker-options';
import { ADMIN_CREDENTIALS } from '../local/shared/credentials';
import { isAlive, killGroup, readPid, stopGroup, waitUntil } from '../local/shared/procs';
import { REPO_ROOT, type StackConfig, workerEnv } from '../local/stack/config';
import { down, up } from '../local/stack/launcher';
import { ensureBucket } from './bucket';
import { prepareDataset } from './dataset';
import { isolatedStackConfig } from './isolated-stack';
import { auditRun, type RunAudit } from './run-audit';
import { loadLocalSpec, type Spec, tinySpec } from './tiny-spec';
import { killWorkerProcess, startWorkerProcess, type WorkerProcess } from './worker-process';

/** The container venv's entrypoints a local run needs, installed by scripts/bootstrap.sh. */
export const CONTAINER_BIN = path.join(REPO_ROOT, 'container/.venv/bin');
const ENTRYPOINTS = ['train', 'serve', 'prepare'];

/** The container entrypoints that are missing (empty when a local run can start). */
export function missingEntrypoints(): string[] {
  return ENTRYPOINTS.filter((e) => !fs.existsSync(path.join(CONTAINER_BIN, e))).map((e) => `${CONTAINER_BIN}/${e}`);
}

/** How to start a harness. */
export interface HarnessOptions {
  /** Temp dir prefix, e.g. `chaos-kills`. */
  prefix: string;
  /** `LOCAL_FAULTS` for the local service (e.g. `throttle:0.15,error500:0.15`); off when absent. */
  faults?: string;
  executor?: StackConfig['executor'];
  /** Keep the state dir after stop() (logs to read). Default: keep only when `keep` is true. */
  keep?: boolean;
  /** Where the stack's progress lines go; default: the console, as `[stack] ...`. */
  log?: (line: string) => void;
}

const stackLog = (line: string): void => console.log(`[stack] ${line}`);

export class LocalHarness {
  readonly env: Record<string, string>;
  readonly sm: SageMakerClient;
  readonly s3: S3Client;
  readonly workers: ChildProcess[] = [];
  private connection: Connection | undefined;
  private clientValue: Client | undefined;
  private readonly nativeConnections: NativeConnection[] = [];
  private readonly relays: EventRelay[] = [];
  /** examples/pipeline.local.json as on disk. */
  readonly baseSpec: Spec = loadLocalSpec();

  private constructor(
    readonly cfg: StackConfig,
    private readonly opts: HarnessOptions,
  ) {
    this.env = workerEnv(cfg);
    // The harness observes and sets up as the account's administrator; the worker runs with its own policy.
    this.sm = new SageMakerClient({ region: this.env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
    this.s3 = new S3Client({ region: this.env.AWS_REGION, forcePathStyle: true, credentials: ADMIN_CREDENTIALS });
  }

  /** Brings an isolated stack up, creates the spec's bucket and prepares the dataset. */
  static async start(opts: HarnessOptions): Promise<LocalHarness> {
    const missing = missingEntrypoints();
    if (missing.length) throw new Error(`${missing.join(', ')} missing: run \`bash scripts/bootstrap.sh\``);
    const cfg = { ...(await isolatedStackConfig(opts.prefix, CONTAINER_BIN)), executor: opts.executor ?? 'process' };
    // The AWS SDK reads AWS_ENDPOINT_URL_* itself, and the service inherits LOCAL_FAULTS: set both before anything
    // starts.
    Object.assign(process.env, workerEnv(cfg), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    if (opts.faults) process.env.LOCAL_FAULTS = opts.faults;
    else delete process.env.LOCAL_FAULTS;
    const h = new LocalHarness(cfg, opts);
    try {
      await up(cfg, opts.log ?? stackLog);
      await ensureBucket(h.s3, h.baseSpec.bucket);
      prepareDataset(CONTAINER_BIN, h.datasetDir, path.join(cfg.stateDir, 'prepare'));
    } catch (err) {
      // A component that failed to start must not leave the ones started before it running (logs are kept).
      await down(cfg).catch(() => undefined);
      throw err;
    }
    return h;
  }

  /** Where the dataset lies (the spec's `data.source.localPath`). */
  get datasetDir(): string {
    return path.join(this.cfg.stateDir, 'dataset');
  }

  /** A Temporal client on this stack's dev server. */
  async client(): Promise<Client> {
    if (!this.clientValue) {
      this.connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS });
      this.clientValue = new Client({ connection: this.connection });
    }
    return this.clientValue;
  }

  /** The tiny spec (testing/tiny-spec.ts) on this stack's dataset; then `patch`. */
  spec(patch: (s: Spec) => void = () => undefined): Spec {
    return tinySpec(this.datasetDir, patch);
  }

  /**
   * Starts `npm run worker` as a child process (own process group) on `taskQueue`, logging to logs/<name>.log;
   * waitForWorkerReady (worker-process.ts) waits until it polls.
   */
  startWorker(taskQueue: string, name: string, extraEnv: Record<string, string> = {}): WorkerProcess {
    const worker = startWorkerProcess({ env: this.env, taskQueue, logFile: this.workerLog(name), extraEnv });
    this.workers.push(worker.child);
    return worker;
  }

  /** The log file of the worker process `name`. */
  workerLog(name: string): string {
    return path.join(this.cfg.stateDir, 'logs', `${name}.log`);
  }

  /** SIGKILLs a worker's whole process group and waits until it is gone. */
  async killWorker(child: ChildProcess): Promise<void> {
    await killWorkerProcess(child);
  }

  /**
   * A worker in this process on `taskQueue`, with the real activities on this stack's endpoints and, as `npm run
   * worker` has, the event relay on the stack's queue (docs/events.md): run it with `run()` or `runUntil()`; its
   * connection and relay close in stop().
   */
  async inProcessWorker(taskQueue: string): Promise<Worker> {
    const config = loadConfig({ ...process.env, ...this.env, TEMPORAL_TASK_QUEUE: taskQueue });
    const connection = await NativeConnection.connect({ address: this.env.TEMPORAL_ADDRESS });
    this.nativeConnections.push(connection);
    const worker = await Worker.create({
      connection,
      taskQueue,
      ...projectWorkerOptions(),
      activities: createActivities({
        clients: createAwsClients({ region: this.env.AWS_REGION as string }),
        eventNetIntervalSeconds: config.events?.netIntervalSeconds,
      }),
    });
    if (config.events) this.relays.push(await startWorkerEventRelay(config, config.events.queueUrl));
    return worker;
  }

  /** Kills the local SageMaker service (`signal`: SIGKILL = crash, SIGTERM = clean stop) and starts it again. */
  async restartService(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = readPid(path.join(this.cfg.stateDir, 'pids', 'sagemaker.pid'));
    if (pid !== undefined) {
      if (signal === 'SIGKILL') killGroup(pid, 'SIGKILL');
      else await stopGroup(pid, 20_000);
      await waitUntil(() => !isAlive(pid), 20_000, 'local service exit');
    }
    await up(this.cfg, this.opts.log ?? stackLog);
  }

  /** What the local AWS holds for the run `workflowId`: its jobs, trials, package versions and endpoint. */
  async audit(workflowId: string, opts: { modelPackageGroup?: string; endpointName?: string } = {}): Promise<RunAudit> {
    return auditRun(this.sm, workflowId, opts);
  }

  /** Kills the workers, brings the stack down, and removes the state dir unless asked to keep it. */
  async stop(keep = this.opts.keep ?? false): Promise<void> {
    for (const w of this.workers) if (w.pid !== undefined && isAlive(w.pid)) killGroup(w.pid, 'SIGKILL');
    for (const r of this.relays.splice(0)) await r.stop().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    for (const c of this.nativeConnections) await c.close().catch(() => undefined);
    await down(this.cfg);
    if (keep) (this.opts.log ?? stackLog)(`state and logs kept in ${this.cfg.stateDir}`);
    else fs.rmSync(this.cfg.stateDir, { recursive: true, force: true });
  }
}
