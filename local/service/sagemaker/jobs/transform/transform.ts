/**
 * Transform jobs: CreateTransformJob / DescribeTransformJob / ListTransformJobs / StopTransformJob, the job record
 * and its status machine (InProgress → Completed | Failed; Stopping → Stopped), run by {@link TransformRun}.
 * A job still InProgress when the service restarts is run again from the start (its `.out` objects are written
 * whole, so a rerun overwrites them); one that was Stopping is Stopped.
 */
import type { Ctx } from '../../../core/context';
import { arn, invalid, jobNameInUse, notFound, now } from '../../../core/protocol';
import { type Body, tags as readTags } from '../../../core/request-fields';
import { assertAssumable } from '../../../iam/on-behalf';
import { SAGEMAKER_SERVICE } from '../../../iam/policies';
import type { ModelRecord } from '../../fleet';
import type { Tags } from '../../tags';
import { parseTransformRequest, type TransformRequest } from './transform-request';
import { TransformRun, type TransformOutcome } from './transform-run';
import { checkInstanceQuota } from '../../../core/quotas';
import { JobTable } from '../job-table';

export interface TransformJob extends TransformRequest {
  TransformJobArn: string;
  TransformJobStatus: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  FailureReason?: string;
  CreationTime: number;
  LastModifiedTime: number;
  TransformStartTime?: number;
  TransformEndTime?: number;
  /** Starts of the job: its first and the reruns after a service restart. */
  _attempts: number;
}

export function transformJobArn(name: string): string {
  return arn(`transform-job/${name.toLowerCase()}`);
}

export class Transforms extends JobTable<TransformJob, TransformOutcome | { kind: 'shutdown' }> {
  constructor(
    ctx: Ctx,
    private readonly tags: Tags,
    private readonly model: (name: string) => ModelRecord | undefined,
  ) {
    super(ctx, {
      store: 'transform-jobs',
      noun: 'transform job',
      statusField: 'TransformJobStatus',
      api: 'TransformJob',
      nameField: 'TransformJobName',
      missing: (name) => notFound(`Could not find job to describe: ${transformJobArn(name)}`),
      hidden: ['LastModifiedTime'],
      listOrder: 'Descending',
      summary,
    });
  }

  protected createFromRequest(b: Body): string {
    return this.create(parseTransformRequest(b), readTags(b)).TransformJobArn;
  }

  create(req: TransformRequest, tags: { Key: string; Value: string }[]): TransformJob {
    const model = this.model(req.ModelName);
    if (!model) throw invalid(`Could not find model "${arn(`model/${req.ModelName.toLowerCase()}`)}".`);
    if (model.ExecutionRoleArn) assertAssumable(this.ctx.iam, model.ExecutionRoleArn, SAGEMAKER_SERVICE);
    if (this.jobs.has(req.TransformJobName)) throw jobNameInUse(transformJobArn(req.TransformJobName));
    const res = req.TransformResources;
    const inUse = this.instancesInUse(res.InstanceType, (job) => ({
      type: job.TransformResources.InstanceType,
      count: job.TransformResources.InstanceCount,
    }));
    checkInstanceQuota(this.ctx.quotas, 'transform job usage', res.InstanceType, inUse, res.InstanceCount);
    const t = now();
    const job: TransformJob = {
      ...req,
      TransformJobArn: transformJobArn(req.TransformJobName),
      TransformJobStatus: 'InProgress',
      CreationTime: t,
      LastModifiedTime: t,
      _attempts: 0,
    };
    this.jobs.put(job.TransformJobName, job);
    if (tags.length) this.tags.add(job.TransformJobArn, tags);
    this.launch(job.TransformJobName);
    return job;
  }

  stop(name: string): void {
    const job = this.jobs.get(name);
    if (!job) throw notFound(`Could not find job to stop: ${transformJobArn(name)}`);
    if (job.TransformJobStatus !== 'InProgress') return; // stopping a finished or stopping job changes nothing
    this.setStatus(name, 'Stopping', (job) => {
      job.LastModifiedTime = now();
    });
    const run = this.runs.get(name);
    if (run) run.stop('user');
    else this.finish(name, { kind: 'stopped' });
  }

  /** After a restart: run again what was running; finish what was stopping. */
  resume(): void {
    for (const job of this.jobs.values()) {
      if (job.TransformJobStatus === 'InProgress') this.launch(job.TransformJobName);
      else if (job.TransformJobStatus === 'Stopping') this.finish(job.TransformJobName, { kind: 'stopped' });
    }
  }

  private launch(name: string): void {
    const job = this.jobs.update(name, (job) => {
      job._attempts += 1;
    });
    if (!job) return;
    const model = this.model(job.ModelName);
    if (!model) {
      this.finish(name, { kind: 'failed', reason: `ClientError: Could not find model "${job.ModelName}".` });
      return;
    }
    const run = new TransformRun(this.ctx, job, model, () =>
      this.jobs.update(name, (job) => {
        job.TransformStartTime ??= now();
        job.LastModifiedTime = now();
      }),
    );
    this.ctx.log(`transform job ${name}: starting ${job.TransformResources.InstanceCount} instance(s)`);
    this.startRun(
      name,
      run,
      (err) => ({ kind: 'failed', reason: `InternalServerError: ${err.message}` }),
      (outcome) => {
        if (outcome.kind !== 'shutdown') this.finish(name, outcome);
      },
    );
  }

  private finish(name: string, o: TransformOutcome): void {
    const status = o.kind === 'completed' ? 'Completed' : o.kind === 'stopped' ? 'Stopped' : 'Failed';
    this.setStatus(name, status, (job) => {
      const t = now();
      job.LastModifiedTime = t;
      job.TransformEndTime = t;
      if (o.kind === 'failed') job.FailureReason = o.reason.slice(0, 1024);
    });
    this.ctx.log(`transform job ${name}: ${o.kind}${o.kind === 'failed' ? `: ${o.reason}` : ''}`);
  }
}

function summary(job: TransformJob): Record<string, unknown> {
  return {
    TransformJobName: job.TransformJobName,
    TransformJobArn: job.TransformJobArn,
    CreationTime: job.CreationTime,
    TransformEndTime: job.TransformEndTime,
    LastModifiedTime: job.LastModifiedTime,
    TransformJobStatus: job.TransformJobStatus,
    FailureReason: job.FailureReason,
  };
}
