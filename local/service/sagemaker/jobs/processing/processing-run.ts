/**
 * One run of a processing job with the executor, as SageMaker Processing runs one: download every S3Input to its
 * LocalPath on each host (FullyReplicated: all objects on every host; ShardedByS3Key: object k on host k mod N),
 * write /opt/ml/config/processingjobconfig.json and resourceconfig.json, run N host processes with the
 * AppSpecification's entrypoint and arguments, stream their lines (job log file and CloudWatch Logs
 * `/aws/sagemaker/ProcessingJobs`), then upload every S3Output's LocalPath. The caller owns the job record.
 *
 * Container contract (https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html):
 * exit code 0 completes the job, anything else fails it; the first 1 KB of /opt/ml/output/message is the ExitMessage
 * in every terminal status, several hosts' messages concatenated, and a message that is not UTF-8 fails the job with
 * a ClientError (https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Ctx } from '../../../core/context';
import { downloadPrefix, syncDirUp } from '../../../core/s3-files';
import { awsErrorText, denialText, pullDenial } from '../../../iam/on-behalf';
import { writeJson } from '../../host-dirs';
import type { ProcessingRequest } from './processing-request';
import { JobHosts } from '../job-hosts';

export const PROCESSING_LOG_GROUP = '/aws/sagemaker/ProcessingJobs';
/** ExitMessage and FailureReason are at most 1 KB (ExitMessage/FailureReason in the service model). */
const MAX_TEXT = 1024;

export type ProcessingStopReason = 'user' | 'maxruntime' | 'shutdown';

export interface ProcessingOutcome {
  kind: 'completed' | 'failed' | 'stopped' | 'shutdown';
  failureReason?: string;
  exitMessage?: string;
  /** Why a stopped job stopped (StopProcessingJob, or MaxRuntimeInSeconds). */
  stopReason?: ProcessingStopReason;
}

/** One host's /opt/ml tree for a processing job. */
interface ProcessingHost {
  name: string;
  base: string;
  config: string;
  message: string;
  failure: string;
}

/** The host path of a container path under /opt/ml (the host's tree is the container's /opt/ml). */
export function hostPath(base: string, containerPath: string): string {
  return path.join(base, containerPath.replace(/^\/opt\/ml\/?/, ''));
}

export class ProcessingRun {
  private readonly hosts = new JobHosts<ProcessingStopReason>();
  readonly logFile: string;

  constructor(
    private readonly ctx: Ctx,
    private readonly req: ProcessingRequest,
    private readonly arn: string,
    /** Called once the hosts run (ProcessingStartTime). */
    private readonly onStarted: () => void,
  ) {
    this.logFile = path.join(ctx.logDir, 'processing-jobs', `${req.ProcessingJobName}.log`);
  }

  get jobDir(): string {
    return path.join(this.ctx.jobsDir, 'processing', this.req.ProcessingJobName);
  }

  /** Stops the hosts: SIGTERM now, SIGKILL after the grace period (as for training jobs, 120 s by default). */
  stop(reason: ProcessingStopReason, graceMs = this.ctx.stopGraceMs): void {
    this.hosts.stop(reason, graceMs);
  }

  private line(text: string): void {
    fs.appendFileSync(this.logFile, `${text}\n`);
  }

  /** The job's AWS clients: sessions of its execution role (every call authorized against the role's policy). */
  private get aws() {
    return this.ctx.roleClients(this.req.RoleArn);
  }

  async run(): Promise<ProcessingOutcome> {
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
    const req = this.req;
    const n = req.ProcessingResources.ClusterConfig.InstanceCount;
    const hosts: ProcessingHost[] = Array.from({ length: n }, (_, i) => {
      const name = `algo-${i + 1}`;
      const base = path.join(this.jobDir, name);
      return {
        name,
        base,
        config: path.join(base, 'config'),
        message: path.join(base, 'output', 'message'),
        failure: path.join(base, 'output', 'failure'),
      };
    });
    const maxRuntime = setTimeout(() => this.stop('maxruntime'), req.StoppingCondition.MaxRuntimeInSeconds * 1000);
    maxRuntime.unref();
    try {
      // A run after a service restart starts from a clean tree, as a new instance would.
      fs.rmSync(this.jobDir, { recursive: true, force: true });
      try {
        await this.download(hosts);
      } catch (err) {
        return {
          kind: 'failed',
          failureReason: `ClientError: Data download failed: ${awsErrorText(err)}`.slice(0, MAX_TEXT),
        };
      }
      if (this.hosts.reason) return this.stopped(hosts);
      const pull = pullDenial(this.ctx.iam, req.RoleArn, req.AppSpecification.ImageUri);
      if (pull)
        return {
          kind: 'failed',
          failureReason: `ClientError: Cannot pull the processing container image. ${denialText(pull)}`.slice(
            0,
            MAX_TEXT,
          ),
        };
      const exits = await this.process(hosts);
      if (this.hosts.reason) return this.stopped(hosts);
      const message = this.exitMessage(hosts);
      if (message.invalid)
        return {
          kind: 'failed',
          failureReason: `ClientError: /opt/ml/output/message of ${message.invalid} is not UTF-8 encoded text`,
        };
      const bad = exits.findIndex((e) => e.code !== 0);
      if (bad >= 0) {
        const e = exits[bad] as { code: number | null; signal: string | null };
        const how = e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
        const reason = this.reasonText(hosts, bad) ?? `see the job log in CloudWatch Logs (${PROCESSING_LOG_GROUP})`;
        return {
          kind: 'failed',
          exitMessage: message.text,
          failureReason: `AlgorithmError: algo-${bad + 1} exited with ${how}: ${reason}`.slice(0, MAX_TEXT),
        };
      }
      try {
        await this.upload(hosts);
      } catch (err) {
        return {
          kind: 'failed',
          exitMessage: message.text,
          failureReason: `ClientError: Failed to upload the processing outputs: ${awsErrorText(err)}`.slice(
            0,
            MAX_TEXT,
          ),
        };
      }
      return { kind: 'completed', exitMessage: message.text };
    } finally {
      clearTimeout(maxRuntime);
      this.hosts.settle();
      await this.ctx.logs.flush();
    }
  }

  private stopped(hosts: ProcessingHost[]): ProcessingOutcome {
    if (this.hosts.reason === 'shutdown') return { kind: 'shutdown' };
    const message = this.exitMessage(hosts);
    return { kind: 'stopped', stopReason: this.hosts.reason, exitMessage: message.invalid ? undefined : message.text };
  }

  private async download(hosts: ProcessingHost[]): Promise<void> {
    const s3 = this.aws.s3;
    const cache = path.join(this.jobDir, '.inputs');
    for (const input of this.req.ProcessingInputs ?? []) {
      const src = input.S3Input;
      if (src.S3DataDistributionType === 'ShardedByS3Key') {
        let total = 0;
        for (const [i, h] of hosts.entries())
          total += await downloadPrefix(s3, src.S3Uri, hostPath(h.base, src.LocalPath), (k) => k % hosts.length === i);
        this.line(
          `[local] input ${input.InputName}: ${total} objects from ${src.S3Uri} sharded over ${hosts.length} hosts`,
        );
      } else {
        const dir = path.join(cache, input.InputName);
        const count = await downloadPrefix(s3, src.S3Uri, dir);
        if (count === 0) throw new Error(`no objects under ${src.S3Uri} (input ${input.InputName})`);
        for (const h of hosts) fs.cpSync(dir, hostPath(h.base, src.LocalPath), { recursive: true });
        this.line(`[local] input ${input.InputName}: ${count} objects from ${src.S3Uri} to ${src.LocalPath}`);
      }
    }
    fs.rmSync(cache, { recursive: true, force: true });
    // Outputs' directories exist before the container starts, as SageMaker mounts them.
    for (const h of hosts)
      for (const o of this.req.ProcessingOutputConfig?.Outputs ?? [])
        fs.mkdirSync(hostPath(h.base, o.S3Output.LocalPath), { recursive: true });
  }

  /** processingjobconfig.json: the job as CreateProcessingJob described it, with its ARN. */
  private jobConfig(): Record<string, unknown> {
    const r = this.req;
    return {
      ProcessingJobArn: this.arn,
      ProcessingJobName: r.ProcessingJobName,
      AppSpecification: r.AppSpecification,
      Environment: r.Environment ?? {},
      ProcessingInputs: r.ProcessingInputs ?? [],
      ProcessingOutputConfig: r.ProcessingOutputConfig ?? { Outputs: [] },
      ProcessingResources: r.ProcessingResources,
      RoleArn: r.RoleArn,
      StoppingCondition: r.StoppingCondition,
      ...(r.NetworkConfig ? { NetworkConfig: r.NetworkConfig } : {}),
    };
  }

  private async process(hosts: ProcessingHost[]): Promise<{ code: number | null; signal: string | null }[]> {
    const req = this.req;
    const epoch = Math.floor(Date.now() / 1000);
    const names = hosts.map((host) => host.name);
    for (const h of hosts) {
      writeJson(path.join(h.config, 'processingjobconfig.json'), this.jobConfig());
      writeJson(path.join(h.config, 'resourceconfig.json'), { current_host: h.name, hosts: names });
      fs.mkdirSync(path.dirname(h.message), { recursive: true });
      fs.rmSync(h.message, { force: true });
      fs.rmSync(h.failure, { force: true });
    }
    const app = req.AppSpecification;
    this.hosts.handles = hosts.map((host) => {
      const stream = `${req.ProcessingJobName}/${host.name}-${epoch}`;
      return this.ctx.executor.start({
        entry: 'prepare',
        command: { entrypoint: app.ContainerEntrypoint, args: app.ContainerArguments },
        baseDir: host.base,
        image: app.ImageUri,
        label: `processing-${req.ProcessingJobName}/${host.name}`,
        // The execution role's session and the local endpoints come first, as on SageMaker the container's
        // credentials do; the job's Environment may still override them.
        env: { ...this.ctx.roleEnv(req.RoleArn), ...(req.Environment ?? {}) },
        onLine: (text) => {
          this.line(`[${host.name}] ${text}`);
          this.ctx.logs.add(PROCESSING_LOG_GROUP, stream, text, req.RoleArn);
        },
      });
    });
    this.onStarted();
    if (this.hosts.reason) this.stop(this.hosts.reason);
    return Promise.all(this.hosts.handles.map((host) => host.exited));
  }

  /** The hosts' output/message files, concatenated and cut to 1 KB; `invalid` names a host whose is not UTF-8. */
  private exitMessage(hosts: ProcessingHost[]): { text?: string; invalid?: string } {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let text = '';
    for (const h of hosts) {
      if (!fs.existsSync(h.message)) continue;
      try {
        text += decoder.decode(fs.readFileSync(h.message));
      } catch {
        return { invalid: h.name };
      }
    }
    return text ? { text: text.slice(0, MAX_TEXT) } : {};
  }

  /** A failed host's own words: its output/message, else output/failure (the training contract's file). */
  private reasonText(hosts: ProcessingHost[], bad: number): string | undefined {
    const order = [bad, ...hosts.keys()].filter((i, k, a) => a.indexOf(i) === k);
    for (const file of ['message', 'failure'] as const)
      for (const i of order) {
        const f = (hosts[i] as ProcessingHost)[file];
        const t = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : '';
        if (t) return t;
      }
    return undefined;
  }

  /**
   * Uploads every output's LocalPath, from every host, to its S3Uri (keys relative to LocalPath; symlinks are not
   * followed, as on SageMaker). Continuous outputs are uploaded here too, once the job ends: local mode does not
   * upload while the job runs.
   */
  private async upload(hosts: ProcessingHost[]): Promise<void> {
    for (const o of this.req.ProcessingOutputConfig?.Outputs ?? []) {
      let n = 0;
      for (const h of hosts)
        n += await syncDirUp(this.aws.s3, hostPath(h.base, o.S3Output.LocalPath), o.S3Output.S3Uri, new Map());
      this.line(`[local] output ${o.OutputName}: ${n} files uploaded to ${o.S3Output.S3Uri}`);
    }
  }
}
