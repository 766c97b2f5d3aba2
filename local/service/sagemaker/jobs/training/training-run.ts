/**
 * One attempt of a training job with the executor: download channels (and existing checkpoints) per host, write
 * the config files, run N host processes with JAX distributed on CPU, stream their logs (job log file and
 * CloudWatch Logs), parse metrics, sync checkpoints, then tar /opt/ml/model to S3. It reports its phases through
 * `onPhase`; the caller owns the job record.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../../shared/procs';
import { dirHasFiles, downloadPrefix, syncDirUp, uploadFile } from '../../../core/s3-files';
import type { Ctx } from '../../../core/context';
import { awsErrorText, denialText, pullDenial } from '../../../iam/on-behalf';
import { hostLayout, inputDataConfig, makeHostDirs, resourceConfig, writeJson, type HostLayout } from '../../host-dirs';
import { MetricParser, type MetricDatum } from '../../metric-definitions';
import type { TrainingRequest } from './training-request';
import { JobHosts } from '../job-hosts';

const execFileP = promisify(execFile);
export const TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

export type StopReason = 'user' | 'maxruntime' | 'shutdown';

export interface RunOutcome {
  kind: 'completed' | 'failed' | 'stopped' | 'maxruntime' | 'shutdown';
  failureReason?: string;
  metrics: MetricDatum[];
  modelArtifacts?: string;
}

export type Phase = 'Downloading' | 'Training' | 'Uploading';

export class TrainingRun {
  private readonly hosts = new JobHosts<StopReason>();
  readonly parser: MetricParser;
  readonly logFile: string;

  constructor(
    private readonly ctx: Ctx,
    private readonly req: TrainingRequest,
    private readonly onPhase: (phase: Phase, message: string) => void,
  ) {
    this.parser = new MetricParser(req.AlgorithmSpecification.MetricDefinitions);
    this.logFile = path.join(ctx.logDir, 'training-jobs', `${req.TrainingJobName}.log`);
  }

  get jobDir(): string {
    return path.join(this.ctx.jobsDir, this.req.TrainingJobName);
  }

  /** Stops the hosts: SIGTERM now, SIGKILL after the grace period (SageMaker: 120 s). */
  stop(reason: StopReason, graceMs = this.ctx.stopGraceMs): void {
    this.hosts.stop(reason, graceMs);
  }

  private line(text: string): void {
    fs.appendFileSync(this.logFile, `${text}\n`);
  }

  async run(): Promise<RunOutcome> {
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
    const req = this.req;
    const n = req.ResourceConfig.InstanceCount;
    const names = Array.from({ length: n }, (_, i) => `algo-${i + 1}`);
    const layouts = names.map((h) =>
      hostLayout(path.join(this.jobDir, h), req.CheckpointConfig?.LocalPath, req.TensorBoardOutputConfig?.LocalPath),
    );
    const maxRuntime = setTimeout(() => this.stop('maxruntime'), req.StoppingCondition.MaxRuntimeInSeconds * 1000);
    maxRuntime.unref();
    try {
      this.onPhase('Downloading', 'Downloading input data');
      try {
        await this.download(layouts);
      } catch (err) {
        return {
          kind: 'failed',
          failureReason: `ClientError: Data download failed: ${awsErrorText(err)}`.slice(0, 1024),
          metrics: [],
        };
      }
      if (this.hosts.reason) return await this.finishStopped(layouts);
      // The image is pulled with the execution role after the data is in place, as SageMaker's phases go.
      const pull = pullDenial(this.ctx.iam, req.RoleArn, req.AlgorithmSpecification.TrainingImage);
      if (pull)
        return {
          kind: 'failed',
          failureReason:
            `ClientError: Cannot pull algorithm container. Either the image does not exist or its permissions are incorrect. ${denialText(pull)}`.slice(
              0,
              1024,
            ),
          metrics: [],
        };
      this.onPhase('Training', 'Training image download completed. Training in progress.');
      const exits = await this.train(names, layouts);
      await this.syncCheckpoints(layouts);
      await this.syncTensorBoard(layouts).catch((e: Error) =>
        this.line(`[local] TensorBoard sync failed: ${e.message}`),
      );
      if (this.hosts.reason) return await this.finishStopped(layouts);
      const bad = exits.findIndex((e) => e.code !== 0);
      if (bad >= 0)
        return {
          kind: 'failed',
          failureReason: this.failureReason(layouts, bad, exits[bad] as { code: number | null; signal: string | null }),
          metrics: this.parser.final(),
        };
      this.onPhase('Uploading', 'Uploading generated training model');
      let modelArtifacts: string;
      try {
        modelArtifacts = await this.upload(layouts);
      } catch (err) {
        return {
          kind: 'failed',
          failureReason:
            `ClientError: Failed to upload the model artifacts to ${req.OutputDataConfig.S3OutputPath}: ${awsErrorText(err)}`.slice(
              0,
              1024,
            ),
          metrics: this.parser.final(),
        };
      }
      return { kind: 'completed', metrics: this.parser.final(), modelArtifacts };
    } finally {
      clearTimeout(maxRuntime);
      this.hosts.settle();
      await this.ctx.logs.flush();
    }
  }

  /** The job's AWS clients: sessions of its execution role (every call authorized against the role's policy). */
  private get aws() {
    return this.ctx.roleClients(this.req.RoleArn);
  }

  private async download(layouts: HostLayout[]): Promise<void> {
    const s3 = this.aws.s3;
    const cache = path.join(this.jobDir, '.channels');
    fs.rmSync(cache, { recursive: true, force: true });
    for (const l of layouts) {
      fs.rmSync(l.data, { recursive: true, force: true });
      makeHostDirs(l);
    }
    for (const ch of this.req.InputDataConfig) {
      const src = ch.DataSource.S3DataSource;
      if (src.S3DataDistributionType === 'ShardedByS3Key') {
        for (const [i, l] of layouts.entries()) {
          await downloadPrefix(s3, src.S3Uri, path.join(l.data, ch.ChannelName), (k) => k % layouts.length === i);
        }
      } else {
        const dir = path.join(cache, ch.ChannelName);
        const count = await downloadPrefix(s3, src.S3Uri, dir);
        if (count === 0) throw new Error(`no objects under ${src.S3Uri} (channel ${ch.ChannelName})`);
        for (const l of layouts) fs.cpSync(dir, path.join(l.data, ch.ChannelName), { recursive: true });
      }
      this.line(`[local] channel ${ch.ChannelName} downloaded from ${src.S3Uri}`);
    }
    const ck = this.req.CheckpointConfig;
    if (ck) {
      for (const l of layouts) {
        const got = await downloadPrefix(s3, ck.S3Uri, l.checkpoints);
        if (got > 0) this.line(`[local] ${got} checkpoint files restored from ${ck.S3Uri} into ${l.base}`);
      }
    }
  }

  private async train(
    names: string[],
    layouts: HostLayout[],
  ): Promise<{ code: number | null; signal: string | null }[]> {
    const req = this.req;
    const coordinator = `127.0.0.1:${await freePort()}`;
    const epoch = Math.floor(Date.now() / 1000);
    for (const [i, l] of layouts.entries()) {
      writeJson(path.join(l.config, 'hyperparameters.json'), req.HyperParameters);
      writeJson(
        path.join(l.config, 'inputdataconfig.json'),
        inputDataConfig(req.InputDataConfig, req.AlgorithmSpecification.TrainingInputMode),
      );
      writeJson(
        path.join(l.config, 'resourceconfig.json'),
        resourceConfig(names, names[i] as string, req.ResourceConfig.InstanceType),
      );
    }
    const ckSeen = new Map<string, string>();
    const tbSeen = new Map<string, string>();
    const ckTimer =
      req.CheckpointConfig || req.TensorBoardOutputConfig
        ? setInterval(() => {
            void this.syncCheckpoints(layouts, ckSeen).catch((e: Error) =>
              this.line(`[local] checkpoint sync failed: ${e.message}`),
            );
            void this.syncTensorBoard(layouts, tbSeen).catch((e: Error) =>
              this.line(`[local] TensorBoard sync failed: ${e.message}`),
            );
          }, this.ctx.checkpointSyncMs)
        : undefined;
    try {
      this.hosts.handles = layouts.map((l, i) => {
        const host = names[i] as string;
        const stream = `${req.TrainingJobName}/${host}-${epoch}`;
        return this.ctx.executor.start({
          entry: 'train',
          baseDir: l.base,
          image: req.AlgorithmSpecification.TrainingImage,
          label: `${req.TrainingJobName}/${host}`,
          // SM_STUDIO_LOCAL_MODE: the training toolkit waits up to 15 min for `algo-N` to resolve before it runs a
          // user program (script mode); here every host is 127.0.0.1 and the names resolve nowhere.
          // The execution role's session and the local endpoints come first, as on SageMaker the container's
          // credentials do: the job's Environment may still override them.
          env: {
            SM_STUDIO_LOCAL_MODE: 'true',
            ...this.ctx.roleEnv(req.RoleArn),
            ...req.Environment,
            JAXSM_COORDINATOR_ADDRESS: coordinator,
            TRAINING_JOB_NAME: req.TrainingJobName,
            SM_CURRENT_HOST: host,
          },
          onLine: (text) => {
            this.line(`[${host}] ${text}`);
            this.ctx.logs.add(TRAINING_LOG_GROUP, stream, text, req.RoleArn);
            this.parser.feed(text);
          },
        });
      });
      if (this.hosts.reason) this.stop(this.hosts.reason);
      // When one host fails the others would wait forever on the collective: stop them like SageMaker does.
      const exits = await Promise.all(
        this.hosts.handles.map(async (h) => {
          const e = await h.exited;
          if (e.code !== 0 && !this.hosts.reason) {
            for (const other of this.hosts.handles) if (other !== h) other.kill('SIGTERM');
            setTimeout(() => this.hosts.handles.forEach((o) => o.kill('SIGKILL')), 10_000).unref();
          }
          return e;
        }),
      );
      return exits;
    } finally {
      if (ckTimer) clearInterval(ckTimer);
    }
  }

  private syncing: Promise<unknown> = Promise.resolve();
  private async syncCheckpoints(layouts: HostLayout[], seen = new Map<string, string>()): Promise<void> {
    const ck = this.req.CheckpointConfig;
    if (!ck) return;
    // One sync at a time; every host's files go to the same prefix, as on SageMaker.
    this.syncing = this.syncing.then(async () => {
      for (const l of layouts) await syncDirUp(this.aws.s3, l.checkpoints, ck.S3Uri, seen);
    });
    await this.syncing;
  }

  /**
   * TensorBoardOutputConfig: SageMaker uploads LocalPath to S3OutputPath while the job runs and once more at its end
   * (https://docs.aws.amazon.com/sagemaker/latest/dg/debugger-enable-tensorboard-summaries.html); every host's files
   * go to the one prefix, like checkpoints. Event files grow in place, so a changed file is uploaded again.
   */
  private async syncTensorBoard(layouts: HostLayout[], seen = new Map<string, string>()): Promise<void> {
    const tb = this.req.TensorBoardOutputConfig;
    if (!tb) return;
    this.syncing = this.syncing.then(async () => {
      for (const l of layouts) await syncDirUp(this.aws.s3, l.tensorboard, tb.S3OutputPath, seen);
    });
    await this.syncing;
  }

  private failureReason(
    layouts: HostLayout[],
    bad: number,
    exit: { code: number | null; signal: string | null },
  ): string {
    const order = [bad, ...layouts.keys()].filter((i, k, a) => a.indexOf(i) === k);
    for (const i of order) {
      const f = (layouts[i] as HostLayout).failure;
      if (fs.existsSync(f)) {
        const text = fs.readFileSync(f, 'utf8').trim();
        if (text) return `AlgorithmError: ${text}`.slice(0, 1024);
      }
    }
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    return (
      `AlgorithmError: algo-${bad + 1} exited with ${how}; ` +
      `see the job log in CloudWatch Logs (${TRAINING_LOG_GROUP})`
    );
  }

  private async finishStopped(layouts: HostLayout[]): Promise<RunOutcome> {
    const kind =
      this.hosts.reason === 'maxruntime' ? 'maxruntime' : this.hosts.reason === 'shutdown' ? 'shutdown' : 'stopped';
    if (kind === 'shutdown') return { kind, metrics: this.parser.final() };
    let modelArtifacts: string | undefined;
    if (layouts.some((layout) => dirHasFiles(layout.model))) {
      this.onPhase('Uploading', 'Uploading generated training model');
      modelArtifacts = await this.upload(layouts).catch(() => undefined);
    }
    return { kind, metrics: this.parser.final(), modelArtifacts };
  }

  /** Tars the model directory (algo-1's, as SageMaker keeps the first host's) and uploads model.tar.gz. */
  private async upload(layouts: HostLayout[]): Promise<string> {
    const first = layouts.find((layout) => dirHasFiles(layout.model)) ?? (layouts[0] as HostLayout);
    const base = `${this.req.OutputDataConfig.S3OutputPath.replace(/\/+$/, '')}/${this.req.TrainingJobName}/output`;
    const tarball = path.join(this.jobDir, 'model.tar.gz');
    fs.mkdirSync(first.model, { recursive: true });
    await execFileP('tar', ['-czf', tarball, '-C', first.model, '.']);
    await uploadFile(this.aws.s3, tarball, `${base}/model.tar.gz`);
    if (dirHasFiles(first.outputData)) {
      const out = path.join(this.jobDir, 'output.tar.gz');
      await execFileP('tar', ['-czf', out, '-C', first.outputData, '.']);
      await uploadFile(this.aws.s3, out, `${base}/output.tar.gz`);
    }
    return `${base}/model.tar.gz`;
  }
}
