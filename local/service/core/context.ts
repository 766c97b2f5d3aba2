/** What every part of the local service shares: options, persisted state, moto clients, the executor, logging. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { motoClients, type MotoClients } from './moto-clients';
import { AuthorizingHandler } from '../iam/authorizing-handler';
import type { IamEnforcer } from '../iam/enforcer';
import { roleCredentials } from '../../shared/credentials';
import { LogShipper } from './log-shipper';
import { ContainerExecutor } from '../executors/container';
import { type LocalImage, type ResolvedImage, resolveLocalImage } from '../executors/image-ref';
import { ensurePodmanTools, podmanEnv, removeStackContainers, stackId } from '../executors/podman';
import { ProcessExecutor } from '../executors/process';
import type { Executor } from '../executors/types';
import { type Faults, faultDraws, parseFaults } from './faults';
import { parseQuotas, type Quotas } from './quotas';
import { roleSessionEnv } from './role-session';
import { Store } from './state';
import { StateEventPublisher } from './state-events';
import type { Tag } from './request-fields';

export interface ServiceOptions {
  /** Where state files, job directories, logs and pid files live. */
  stateDir: string;
  /** moto's URL (S3, CloudWatch, CloudWatch Logs, ECR). */
  motoEndpoint: string;
  /** Where the container's entrypoints (`train`, `serve`, `prepare`) are (process executor). */
  containerBinDir: string;
  executor?: Executor;
  /** Which executor to build when `executor` is not given (default: LOCAL_EXECUTOR, else `process`). */
  executorKind?: 'process' | 'container';
  /** SIGTERM → SIGKILL grace for stopped jobs (SageMaker: 120 s). */
  stopGraceMs?: number;
  /** How often endpoint metrics go to moto CloudWatch. */
  metricsFlushMs?: number;
  /** How long an endpoint instance may take to answer /ping with 200. */
  pingTimeoutMs?: number;
  /** Checkpoint sync interval while a job trains. */
  checkpointSyncMs?: number;
  /** `throttle:0.3,error500:0.1,capacity:0.5`; also read from LOCAL_FAULTS. */
  faults?: string;
  /**
   * IAM enforcement: an enforcer, or `false` for none. Default (startLocalService): LOCAL_IAM (on unless `off`) with
   * the roles deployed in moto and LOCAL_IAM_ROLES (local/service/iam/policies.ts).
   */
  iam?: IamEnforcer | false;
  /** How long a training job without capacity waits in Starting before it fails with CapacityError. */
  capacityWaitMs?: number;
  /** Account instance quotas per type, `ml.p4de.24xlarge=8,...` (core/quotas.ts); also read from LOCAL_QUOTAS. */
  quotas?: string;
  /**
   * How long a scalable target just registered stays invisible to the calls that depend on it (Application Auto
   * Scaling's eventual consistency); also LOCAL_AUTOSCALING_CONSISTENCY_MS.
   */
  autoscalingConsistencyMs?: number;
  /** The period of the target-tracking metric (SageMaker: one minute); also LOCAL_AUTOSCALING_PERIOD_MS. */
  autoscalingPeriodMs?: number;
  /**
   * Publish the resources' state-change events through moto's EventBridge (core/state-events.ts). Default: on unless
   * LOCAL_STATE_EVENTS is `off`.
   */
  stateEvents?: boolean;
  log?: (msg: string) => void;
}

export class Ctx {
  readonly store: Store;
  readonly moto: MotoClients;
  readonly executor: Executor;
  readonly logs: LogShipper;
  readonly jobsDir: string;
  readonly endpointsDir: string;
  readonly buildsDir: string;
  readonly logDir: string;
  readonly pidDir: string;
  readonly stopGraceMs: number;
  readonly metricsFlushMs: number;
  readonly pingTimeoutMs: number;
  readonly checkpointSyncMs: number;
  /** IAM enforcement (undefined: LOCAL_IAM=off). */
  readonly iam: IamEnforcer | undefined;
  /**
   * This service's own URL once it listens: the one AWS endpoint of local mode (moto behind the IAM gateway), where
   * job and endpoint processes send their calls (roleSessionEnv).
   */
  selfUrl: string | undefined;
  private readonly roleClientsByArn = new Map<string, MotoClients>();
  readonly capacityWaitMs: number;
  readonly autoscalingConsistencyMs: number;
  readonly autoscalingPeriodMs: number;
  /** LOCAL_FAULTS, and the draws that decide where they land (one sequence for the whole service). */
  readonly faults: Faults;
  /** Account instance quotas (LOCAL_QUOTAS); empty: none. */
  readonly quotas: Quotas;
  readonly faultDraw: () => number;
  /** The state-change event publisher, when on (ServiceOptions.stateEvents). */
  readonly stateEvents?: StateEventPublisher;
  private readonly logger: (msg: string) => void;

  constructor(readonly opts: ServiceOptions) {
    const dir = path.resolve(opts.stateDir);
    this.store = new Store(path.join(dir, 'state'));
    this.jobsDir = path.join(dir, 'jobs');
    this.endpointsDir = path.join(dir, 'endpoints');
    this.buildsDir = path.join(dir, 'builds');
    this.logDir = path.join(dir, 'logs');
    this.pidDir = path.join(dir, 'pids');
    for (const d of [this.jobsDir, this.endpointsDir, this.buildsDir, this.logDir, this.pidDir])
      fs.mkdirSync(d, { recursive: true });
    this.moto = motoClients(opts.motoEndpoint);
    this.iam = opts.iam || undefined;
    this.logger = opts.log ?? ((msg) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`));
    this.logs = new LogShipper(
      (roleArn) => this.roleClients(roleArn).logs,
      (m) => this.log(m),
    );
    this.stopGraceMs = opts.stopGraceMs ?? 120_000;
    this.executor =
      opts.executor ??
      this.makeExecutor(
        opts.executorKind ?? (process.env.LOCAL_EXECUTOR === 'container' ? 'container' : 'process'),
        dir,
      );
    this.metricsFlushMs = opts.metricsFlushMs ?? 10_000;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? 10 * 60_000;
    this.checkpointSyncMs = opts.checkpointSyncMs ?? 10_000;
    this.capacityWaitMs = opts.capacityWaitMs ?? 2_000;
    this.autoscalingConsistencyMs = opts.autoscalingConsistencyMs ?? envMs('LOCAL_AUTOSCALING_CONSISTENCY_MS') ?? 3_000;
    this.autoscalingPeriodMs = opts.autoscalingPeriodMs ?? envMs('LOCAL_AUTOSCALING_PERIOD_MS') ?? 60_000;
    this.faults = parseFaults(opts.faults ?? process.env.LOCAL_FAULTS);
    this.faultDraw = faultDraws(this.faults);
    this.quotas = parseQuotas(opts.quotas ?? process.env.LOCAL_QUOTAS);
    if (opts.stateEvents ?? process.env.LOCAL_STATE_EVENTS !== 'off') {
      const tags = this.store.kind<{ Tags: Tag[] }>('tags');
      const events = new StateEventPublisher(
        opts.motoEndpoint,
        (arn) => tags.get(arn)?.Tags ?? [],
        (m) => this.log(m),
      );
      this.stateEvents = events;
      this.store.onChange = (kind, key, value) => events.changed(kind, key, value);
    }
  }

  private makeExecutor(kind: 'process' | 'container', dir: string): Executor {
    if (kind === 'process')
      return new ProcessExecutor(this.opts.containerBinDir, this.pidDir, (image) => this.processImageBinDir(image));
    ensurePodmanTools((m) => this.log(m));
    const stack = stackId(dir);
    // Containers an earlier incarnation of this service left running: their jobs are restarted from the state.
    const left = removeStackContainers(stack);
    if (left) this.log(`removed ${left} container(s) left by an earlier run of this stack`);
    return new ContainerExecutor(
      this.pidDir,
      stack,
      (image) => this.containerImage(image),
      Math.ceil(this.stopGraceMs / 1000),
    );
  }

  /**
   * AWS clients acting as `roleArn`, as SageMaker and CodeBuild act for a job: a session of the role whose every
   * call is authorized against the role's policy before it reaches moto (a refusal raises AWS's AccessDenied).
   * Without IAM enforcement (or a role), the service's own moto clients.
   */
  roleClients(roleArn: string | undefined): MotoClients {
    if (!this.iam || !roleArn) return this.moto;
    let c = this.roleClientsByArn.get(roleArn);
    if (!c) {
      const handler = new AuthorizingHandler(this.iam, (m) => this.log(`IAM: refused ${m}`));
      c = motoClients(this.opts.motoEndpoint, roleCredentials(roleArn), handler);
      this.roleClientsByArn.set(roleArn, c);
    }
    return c;
  }

  /** The podman image a resource's image URI names (built and pushed by the local CodeBuild's podman builder). */
  containerImage(image: string | undefined): ResolvedImage {
    const images = this.store.kind<LocalImage>('podman-images');
    const tags = this.store.kind<{ digest: string }>('podman-tags');
    const exists = (ref: string): boolean => {
      try {
        execFileSync('podman', ['image', 'exists', ref], { env: podmanEnv(), stdio: 'ignore', timeout: 30_000 });
        return true;
      } catch {
        return false;
      }
    };
    return resolveLocalImage(
      image,
      { byDigest: (d) => images.get(d), digestOfTag: (r, t) => tags.get(`${r}:${t}`)?.digest },
      exists,
    );
  }

  /** The venv bin dir of a process image (local CodeBuild) that an image URI names by digest, if built with one. */
  processImageBinDir(image: string | undefined): string | undefined {
    const digest = image?.split('@')[1];
    if (!digest) return undefined;
    const rec = this.store.kind<{ dir: string }>('process-images').get(digest);
    const bin = rec && path.join(rec.dir, '.venv', 'bin');
    return bin && fs.existsSync(path.join(bin, 'train')) ? bin : undefined;
  }

  /**
   * Where a job's or endpoint's processes send their AWS calls (S3 for `sagemaker_submit_directory`, the user's own
   * reads): this service once it listens, whose gateway holds them to the role's policy (moto before that).
   */
  get containerAwsEndpoint(): string {
    return this.selfUrl ?? this.opts.motoEndpoint;
  }

  /** The AWS environment of a job's or endpoint's processes: a session of `roleArn` and the local endpoints. */
  roleEnv(roleArn: string | undefined): Record<string, string> {
    return roleSessionEnv(this.containerAwsEndpoint, roleArn);
  }

  log(msg: string): void {
    this.logger(msg);
  }
}

function envMs(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of milliseconds, got ${raw}`);
  return n;
}
