/**
 * Processing jobs: CreateProcessingJob / DescribeProcessingJob / ListProcessingJobs / StopProcessingJob, the job
 * record and its statuses (InProgress → Completed | Failed; Stopping → Stopped; ProcessingJobStatus in the service
 * model). MaxRuntimeInSeconds stops the job ("After the condition is met, the processing job is stopped":
 * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingStoppingCondition.html). A job still
 * InProgress when the service restarts is run again from the start (its inputs downloaded again, its outputs
 * uploaded when it ends); one that was Stopping ends Stopped.
 */
import type { Ctx } from '../../../core/context';
import { arn, invalid, jobNameInUse, notFound, now, wire } from '../../../core/protocol';
import { type Body, tags as readTags } from '../../../core/request-fields';
import { assertAssumable } from '../../../iam/on-behalf';
import { SAGEMAKER_SERVICE } from '../../../iam/policies';
import { parseProcessingRequest, type ProcessingRequest } from './processing-request';
import { type ProcessingOutcome, ProcessingRun } from './processing-run';
import type { Tags } from '../../tags';
import { checkInstanceQuota } from '../../../core/quotas';
import { JobTable } from '../job-table';

export type ProcessingJobStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

export interface ProcessingJob extends ProcessingRequest {
  ProcessingJobArn: string;
  ProcessingJobStatus: ProcessingJobStatus;
  CreationTime: number;
  LastModifiedTime: number;
  ProcessingStartTime?: number;
  ProcessingEndTime?: number;
  ExitMessage?: string;
  FailureReason?: string;
  /** Starts of the job: its first and the restarts after a service restart. */
  _attempts: number;
}

/** A processing job's ARN (SageMaker writes resource names in lower case in ARNs). */
export function processingJobArn(name: string): string {
  return arn(`processing-job/${name.toLowerCase()}`);
}

export class Processing extends JobTable<ProcessingJob, ProcessingOutcome> {
  constructor(
    ctx: Ctx,
    private readonly tags: Tags,
  ) {
    super(ctx, {
      store: 'processing-jobs',
      noun: 'processing job',
      statusField: 'ProcessingJobStatus',
      api: 'ProcessingJob',
      nameField: 'ProcessingJobName',
      // SageMaker answers an unknown name with a ValidationException (as DescribeTrainingJob does), not the model's
      // ResourceNotFound; callers test for both (activities/sagemaker-owner.ts isNotFound).
      missing: (name) => invalid(`Could not find requested job with name ${name}`),
      listOrder: 'Ascending',
      summary,
    });
  }

  protected createFromRequest(b: Body): string {
    return this.create(parseProcessingRequest(b), readTags(b)).ProcessingJobArn;
  }

  create(req: ProcessingRequest, tags: { Key: string; Value: string }[]): ProcessingJob {
    assertAssumable(this.ctx.iam, req.RoleArn, SAGEMAKER_SERVICE);
    if (this.jobs.has(req.ProcessingJobName))
      // "The name must be unique within an Amazon Web Services Region in an Amazon Web Services account."
      // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html)
      throw jobNameInUse(processingJobArn(req.ProcessingJobName));
    const cluster = req.ProcessingResources.ClusterConfig;
    const inUse = this.instancesInUse(cluster.InstanceType, (job) => ({
      type: job.ProcessingResources.ClusterConfig.InstanceType,
      count: job.ProcessingResources.ClusterConfig.InstanceCount,
    }));
    checkInstanceQuota(this.ctx.quotas, 'processing job usage', cluster.InstanceType, inUse, cluster.InstanceCount);
    const t = now();
    const job: ProcessingJob = {
      ...req,
      ProcessingJobArn: processingJobArn(req.ProcessingJobName),
      ProcessingJobStatus: 'InProgress',
      CreationTime: t,
      LastModifiedTime: t,
      _attempts: 0,
    };
    this.jobs.put(job.ProcessingJobName, job);
    if (tags.length) this.tags.add(job.ProcessingJobArn, tags);
    this.launch(job.ProcessingJobName);
    return job;
  }

  stop(name: string): void {
    const job = this.jobs.get(name);
    if (!job) throw notFound(`Could not find processing job '${processingJobArn(name)}'.`);
    // Requests in another status are refused by the documented rule processing-job.stop-state.
    if (job.ProcessingJobStatus !== 'InProgress') return;
    this.setStatus(name, 'Stopping', (job) => {
      job.LastModifiedTime = now();
    });
    const run = this.runs.get(name);
    if (run) run.stop('user');
    else this.finish(name, { kind: 'stopped', stopReason: 'user' });
  }

  /** After a restart: run again what was running; finish what was stopping. */
  resume(): void {
    for (const job of this.jobs.values()) {
      if (job.ProcessingJobStatus === 'InProgress') {
        this.ctx.log(`processing job ${job.ProcessingJobName}: running it again after the local service restarted`);
        this.launch(job.ProcessingJobName);
      } else if (job.ProcessingJobStatus === 'Stopping') {
        this.finish(job.ProcessingJobName, { kind: 'stopped', stopReason: 'user' });
      }
    }
  }

  private launch(name: string): void {
    const job = this.jobs.update(name, (job) => {
      job._attempts += 1;
    });
    if (!job) return;
    // MaxRuntimeInSeconds bounds the whole job: a run after a restart gets what the earlier ones left.
    const spent = job._attempts > 1 ? Math.round(now() - (job.ProcessingStartTime ?? job.CreationTime)) : 0;
    const req: ProcessingRequest = {
      ...job,
      StoppingCondition: {
        MaxRuntimeInSeconds: Math.max(1, job.StoppingCondition.MaxRuntimeInSeconds - spent),
      },
    };
    const run = new ProcessingRun(this.ctx, req, job.ProcessingJobArn, () =>
      this.jobs.update(name, (job) => {
        job.ProcessingStartTime ??= now();
        job.LastModifiedTime = now();
      }),
    );
    this.startRun(
      name,
      run,
      (err) => ({ kind: 'failed', failureReason: `InternalServerError: ${err.message}` }),
      (outcome) => this.finish(name, outcome),
    );
  }

  private finish(name: string, o: ProcessingOutcome): void {
    if (o.kind === 'shutdown') return;
    const status = o.kind === 'completed' ? 'Completed' : o.kind === 'failed' ? 'Failed' : 'Stopped';
    const job = this.setStatus(name, status, (job) => {
      const t = now();
      job.ProcessingEndTime = t;
      job.LastModifiedTime = t;
      if (o.exitMessage !== undefined) job.ExitMessage = o.exitMessage;
      if (o.kind === 'failed') job.FailureReason = (o.failureReason ?? 'InternalServerError').slice(0, 1024);
    });
    if (o.stopReason === 'maxruntime')
      this.ctx.log(
        `processing job ${name}: stopped after MaxRuntimeInSeconds (${job?.StoppingCondition.MaxRuntimeInSeconds} s)`,
      );
  }
}

function summary(j: ProcessingJob): Record<string, unknown> {
  return wire({
    ProcessingJobName: j.ProcessingJobName,
    ProcessingJobArn: j.ProcessingJobArn,
    CreationTime: j.CreationTime,
    ProcessingEndTime: j.ProcessingEndTime,
    LastModifiedTime: j.LastModifiedTime,
    ProcessingJobStatus: j.ProcessingJobStatus,
    FailureReason: j.FailureReason,
    ExitMessage: j.ExitMessage,
  });
}
