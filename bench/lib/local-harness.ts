/**
 * A local stack of its own for a campaign or benchmark: isolated state dir and ports, the dataset prepared by the
 * container's processing entrypoint, workers as child processes (so they can be SIGKILLed), the service restartable,
 * and an audit of what the local AWS holds for a run (the "nothing duplicated" check).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  ListEndpointsCommand,
  ListHyperParameterTuningJobsCommand,
  ListModelPackagesCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
  type TrainingJobSummary,
} from '@aws-sdk/client-sagemaker';
import { Client, Connection } from '@temporalio/client';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runResourceNames, sanitize } from '../../contracts/names';
import { REPO_ROOT, type StackConfig, workerEnv } from '../../local/stack/config';
import { isAlive, killGroup, readPid, stopGroup, waitUntil } from '../../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { down, up } from '../../local/stack/launcher';
import { isolatedStackConfig } from '../../test/helpers/local-stack';

/** A small model: a 4-host job and 4 trials take seconds on 2 cores (batch 8 divides over 4 hosts). */
export const TINY_HYPERPARAMETERS = {
  n_layers: 1,
  d_model: 64,
  n_heads: 2,
  seq_len: 64,
  batch_size: 8,
  warmup_steps: 5,
  eval_batches: 2,
  max_steps: 30,
  eval_every: 10,
  checkpoint_every: 10,
};

/** The spec type the harness hands out: examples/pipeline.local.json as plain JSON, to patch freely. */
export type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface HarnessOptions {
  /** Temp dir prefix, e.g. `chaos-kills`. */
  prefix: string;
  /** `LOCAL_FAULTS` for the local service (e.g. `throttle:0.15,error500:0.15`); off when absent. */
  faults?: string;
  executor?: StackConfig['executor'];
  /** Keep the state dir after stop() (logs to read). Default: keep only when `keep` is true. */
  keep?: boolean;
}

/** What the local AWS holds for one pipeline run (by its workflow ID's deterministic names). */
export interface RunAudit {
  trainingJobs: TrainingJobSummary[];
  tuningJobs: number;
  trials: number;
  packageVersions: number;
  endpoint?: { status: string; config?: string };
}

export class LocalHarness {
  readonly env: Record<string, string>;
  readonly sm: SageMakerClient;
  readonly s3: S3Client;
  readonly workers: ChildProcess[] = [];
  private connection: Connection | undefined;
  private clientValue: Client | undefined;
  readonly baseSpec: Spec = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples/pipeline.local.json'), 'utf8'));

  private constructor(
    readonly cfg: StackConfig,
    private readonly opts: HarnessOptions,
  ) {
    this.env = workerEnv(cfg);
    // The harness observes and sets up as the account's administrator; the worker runs with its own policy.
    this.sm = new SageMakerClient({ region: this.env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
    this.s3 = new S3Client({ region: this.env.AWS_REGION, forcePathStyle: true, credentials: ADMIN_CREDENTIALS });
  }

  /** Brings an isolated stack up, creates the bucket and prepares the dataset. */
  static async start(opts: HarnessOptions): Promise<LocalHarness> {
    const binDir = path.join(REPO_ROOT, 'container/.venv/bin');
    for (const e of ['train', 'serve', 'prepare'])
      if (!fs.existsSync(path.join(binDir, e)))
        throw new Error(`${binDir}/${e} missing: run \`bash scripts/bootstrap.sh\``);
    const cfg = { ...(await isolatedStackConfig(opts.prefix, binDir)), executor: opts.executor ?? 'process' };
    // The AWS SDK reads AWS_ENDPOINT_URL_* itself, and the service inherits LOCAL_FAULTS: set both before anything starts.
    Object.assign(process.env, workerEnv(cfg), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    if (opts.faults) process.env.LOCAL_FAULTS = opts.faults;
    else delete process.env.LOCAL_FAULTS;
    const h = new LocalHarness(cfg, opts);
    try {
      await up(cfg, (m) => console.log(`[stack] ${m}`));
      await h.s3.send(new CreateBucketCommand({ Bucket: h.baseSpec.bucket }));
      const out = path.join(cfg.stateDir, 'prepare', 'processing', 'output');
      execFileSync(path.join(binDir, 'prepare'), ['--source', 'builtin', '--output', out], {
        env: { ...process.env, SAGEMAKER_BASE_DIR: path.join(cfg.stateDir, 'prepare') },
        stdio: 'ignore',
      });
      fs.renameSync(out, path.join(cfg.stateDir, 'dataset'));
    } catch (err) {
      // A component that failed to start must not leave the ones started before it running (logs are kept).
      await down(cfg).catch(() => undefined);
      throw err;
    }
    return h;
  }

  /** A Temporal client on this stack's dev server. */
  async client(): Promise<Client> {
    if (!this.clientValue) {
      this.connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS });
      this.clientValue = new Client({ connection: this.connection });
    }
    return this.clientValue;
  }

  /** examples/pipeline.local.json with tiny hyperparameters, this stack's dataset and fast polling; then `patch`. */
  spec(patch: (s: Spec) => void = () => undefined): Spec {
    const s: Spec = structuredClone(this.baseSpec);
    delete s.$schema;
    s.data.source = { localPath: path.join(this.cfg.stateDir, 'dataset') };
    s.pollIntervalSeconds = 1;
    s.training.hyperparameters = { ...TINY_HYPERPARAMETERS };
    s.deployment.rollback = { max5xxErrors: 0, periodSeconds: 10 };
    patch(s);
    return s;
  }

  /** Starts `npm run worker` as a child process (own process group) on `taskQueue`, logging to logs/<name>.log. */
  startWorker(taskQueue: string, name: string, extraEnv: Record<string, string> = {}): ChildProcess {
    const log = fs.openSync(path.join(this.cfg.stateDir, 'logs', `${name}.log`), 'a');
    const child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), [path.join(REPO_ROOT, 'worker/main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env, TEMPORAL_TASK_QUEUE: taskQueue, ...extraEnv },
      detached: true,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.workers.push(child);
    return child;
  }

  /** SIGKILLs a worker's whole process group and waits until it is gone. */
  async killWorker(child: ChildProcess): Promise<void> {
    if (child.pid !== undefined && isAlive(child.pid)) killGroup(child.pid, 'SIGKILL');
    await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 15_000, `worker ${child.pid} exit`);
  }

  /** Kills the local SageMaker service (`signal`: SIGKILL = crash, SIGTERM = clean stop) and starts it again. */
  async restartService(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = readPid(path.join(this.cfg.stateDir, 'pids', 'sagemaker.pid'));
    if (pid !== undefined) {
      if (signal === 'SIGKILL') killGroup(pid, 'SIGKILL');
      else await stopGroup(pid, 20_000);
      await waitUntil(() => !isAlive(pid), 20_000, 'local service exit');
    }
    await up(this.cfg, (m) => console.log(`[stack] ${m}`));
  }

  /** Counts what the local AWS holds for `workflowId`: its training jobs, tuning jobs and trials, package versions, endpoint. */
  async audit(workflowId: string, opts: { modelPackageGroup?: string; endpointName?: string } = {}): Promise<RunAudit> {
    const prefix = sanitize(workflowId);
    const names = runResourceNames(workflowId);
    const all: TrainingJobSummary[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.sm.send(new ListTrainingJobsCommand({ MaxResults: 100, NextToken }));
      all.push(...(page.TrainingJobSummaries ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const mine = all.filter((j) => j.TrainingJobName?.startsWith(prefix));
    const tuning =
      (await this.sm.send(new ListHyperParameterTuningJobsCommand({ MaxResults: 100, NameContains: names.tuningJob })))
        .HyperParameterTuningJobSummaries ?? [];
    let packageVersions = 0;
    if (opts.modelPackageGroup) {
      const pkgs =
        (
          await this.sm.send(
            new ListModelPackagesCommand({ ModelPackageGroupName: opts.modelPackageGroup, MaxResults: 100 }),
          )
        ).ModelPackageSummaryList ?? [];
      packageVersions = pkgs.length;
    }
    let endpoint: RunAudit['endpoint'];
    if (opts.endpointName) {
      const list = (await this.sm.send(new ListEndpointsCommand({ NameContains: opts.endpointName }))).Endpoints ?? [];
      if (list.some((e) => e.EndpointName === opts.endpointName)) {
        const d = await this.sm.send(new DescribeEndpointCommand({ EndpointName: opts.endpointName }));
        endpoint = { status: d.EndpointStatus ?? 'unknown', config: d.EndpointConfigName };
      }
    }
    return {
      trainingJobs: mine.filter((j) => !j.TrainingJobName?.startsWith(names.tuningJob)),
      tuningJobs: tuning.length,
      trials: mine.filter((j) => j.TrainingJobName?.startsWith(names.tuningJob)).length,
      packageVersions,
      endpoint,
    };
  }

  /** Kills the workers, brings the stack down, and removes the state dir unless asked to keep it. */
  async stop(keep = this.opts.keep ?? false): Promise<void> {
    for (const w of this.workers) if (w.pid !== undefined && isAlive(w.pid)) killGroup(w.pid, 'SIGKILL');
    await this.connection?.close().catch(() => undefined);
    await down(this.cfg);
    if (keep) console.log(`[stack] state and logs kept in ${this.cfg.stateDir}`);
    else fs.rmSync(this.cfg.stateDir, { recursive: true, force: true });
  }
}
