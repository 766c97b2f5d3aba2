/**
 * Training jobs: CreateTrainingJob / DescribeTrainingJob / ListTrainingJobs / StopTrainingJob, the job record
 * and its status machine (InProgress: Starting → Downloading → Training → Uploading; Completed, Failed,
 * Stopping → Stopped, Stopped/MaxRuntimeExceeded). A job still InProgress when the service restarts is run again
 * (like a spot restart: it resumes from its synced checkpoints). A start without capacity (LOCAL_FAULTS capacity)
 * waits in Starting and fails with SageMaker's CapacityError (RetryStrategy does not cover it); with a RetryStrategy,
 * a job that failed with InternalServerError (LOCAL_FAULTS internal, or a host that could not be run) is started again
 * (back to Starting) up to MaximumRetryAttempts times.
 */
import type { Ctx } from '../../../core/context';
import { type MetricDatum } from '../../metric-definitions';
import { arn, inUse, invalid, notFound, now, wire } from '../../../core/protocol';
import type { Tags } from '../../tags';
import { parseTrainingRequest, type TrainingRequest } from './training-request';
import { assertAssumable } from '../../../iam/on-behalf';
import { SAGEMAKER_SERVICE } from '../../../iam/policies';
import { type Phase, TrainingRun, type RunOutcome } from './training-run';
import { failsInternally, lacksCapacity } from '../../../core/faults';
import { checkInstanceQuota } from '../../../core/quotas';
import { type Body, tags as readTags } from '../../../core/request-fields';
import { JobTable } from '../job-table';

export interface Transition {
  Status: string;
  StartTime: number;
  EndTime?: number;
  StatusMessage?: string;
}

export interface TrainingJob extends Omit<TrainingRequest, 'Environment'> {
  TrainingJobArn: string;
  TrainingJobStatus: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  SecondaryStatus: string;
  SecondaryStatusTransitions: Transition[];
  CreationTime: number;
  LastModifiedTime: number;
  TrainingStartTime?: number;
  TrainingEndTime?: number;
  TrainingTimeInSeconds?: number;
  BillableTimeInSeconds?: number;
  FinalMetricDataList?: MetricDatum[];
  ModelArtifacts?: { S3ModelArtifacts: string };
  FailureReason?: string;
  TuningJobArn?: string;
  Environment?: Record<string, string>;
  /** Starts of the job: its first, RetryStrategy's retries and the restarts after a service restart. */
  _attempts: number;
  /** Times RetryStrategy started the job again. */
  _retries?: number;
}

/** SageMaker's FailureReason when EC2 has no capacity for the job's instances. */
export const CAPACITY_FAILURE =
  'CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type.';
/** The Starting status message while SageMaker keeps trying to launch instances EC2 has no capacity for. */
export const CAPACITY_WAIT_MESSAGE = 'Insufficient capacity error from EC2 while launching instances, retrying!';
/** SageMaker's FailureReason for an internal failure (the LOCAL_FAULTS `internal` start failure). */
export const INTERNAL_FAILURE = 'InternalServerError: We encountered an internal error. Please try again.';
/**
 * Failures RetryStrategy starts a job again for: InternalServerError only, as API_RetryStrategy documents
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RetryStrategy.html); a CapacityError is final.
 */
const RETRIED_FAILURE = /^InternalServerError\b/;

export function trainingJobArn(name: string): string {
  return arn(`training-job/${name.toLowerCase()}`);
}

export class Training extends JobTable<TrainingJob, RunOutcome> {
  /** Jobs in Starting that will fail there (no capacity, or an injected internal error): the timer fails them. */
  private readonly startFailures = new Map<string, NodeJS.Timeout>();

  constructor(
    ctx: Ctx,
    private readonly tags: Tags,
  ) {
    super(ctx, {
      store: 'training-jobs',
      noun: 'training job',
      statusField: 'TrainingJobStatus',
      api: 'TrainingJob',
      nameField: 'TrainingJobName',
      missing: () => invalid('Requested resource not found.'),
      listOrder: 'Ascending',
      summary,
    });
  }

  protected createFromRequest(b: Body): string {
    return this.create(parseTrainingRequest(b), readTags(b)).TrainingJobArn;
  }

  create(
    req: TrainingRequest,
    tags: { Key: string; Value: string }[],
    extra: { TuningJobArn?: string } = {},
  ): TrainingJob {
    assertAssumable(this.ctx.iam, req.RoleArn, SAGEMAKER_SERVICE);
    if (this.jobs.has(req.TrainingJobName)) {
      throw inUse(
        `Training job names must be unique within an AWS account and region, and a training job with this name ` +
          `already exists (${trainingJobArn(req.TrainingJobName)})`,
      );
    }
    // A tuning job's trials wait for their quota inside the tuning job; a training job asks for it at create.
    if (!extra.TuningJobArn) {
      const type = req.ResourceConfig.InstanceType;
      const inUse = this.instancesInUse(type, (job) => ({
        type: job.ResourceConfig.InstanceType,
        count: job.ResourceConfig.InstanceCount,
      }));
      checkInstanceQuota(this.ctx.quotas, 'training job usage', type, inUse, req.ResourceConfig.InstanceCount);
    }
    const t = now();
    const job: TrainingJob = {
      ...req,
      Environment: Object.keys(req.Environment).length ? req.Environment : undefined,
      CheckpointConfig: req.CheckpointConfig,
      TrainingJobArn: trainingJobArn(req.TrainingJobName),
      TrainingJobStatus: 'InProgress',
      SecondaryStatus: 'Starting',
      SecondaryStatusTransitions: [
        { Status: 'Starting', StartTime: t, StatusMessage: 'Preparing the instances for training' },
      ],
      CreationTime: t,
      LastModifiedTime: t,
      ...extra,
      _attempts: 0,
    };
    this.jobs.put(job.TrainingJobName, job);
    if (tags.length) this.tags.add(job.TrainingJobArn, tags);
    this.launch(job.TrainingJobName);
    return job;
  }

  /** What Search finds: every job as DescribeTrainingJob shows it, with its tags. */
  searchRecords(): Record<string, unknown>[] {
    return this.jobs.values().map((job) => ({ ...wire(job), Tags: this.tags.get(job.TrainingJobArn) }));
  }

  stop(jobName: string): void {
    const job = this.jobs.get(jobName);
    if (!job) throw notFound(`Requested resource not found: training job ${jobName}`);
    if (job.TrainingJobStatus === 'Stopping') return;
    // Requests are checked by the documented rule training-job.stop-state; this guards internal callers (tuning).
    if (job.TrainingJobStatus !== 'InProgress')
      throw invalid(`The request was rejected because the training job is in status ${job.TrainingJobStatus}.`);
    this.setStatus(jobName, 'Stopping', (job) => transition(job, 'Stopping', 'Stopping the training job'));
    const waiting = this.startFailures.get(jobName);
    if (waiting) {
      clearTimeout(waiting);
      this.startFailures.delete(jobName);
      this.finish(jobName, { kind: 'stopped', metrics: job.FinalMetricDataList ?? [] });
      return;
    }
    this.runs.get(jobName)?.stop('user');
  }

  /** After a restart: run again what was running; finish what was stopping. */
  resume(): void {
    for (const job of this.jobs.values()) {
      if (job.TrainingJobStatus === 'InProgress') {
        this.jobs.update(job.TrainingJobName, (job) =>
          transition(job, 'Starting', 'Restarting the training job after the local service restarted'),
        );
        this.launch(job.TrainingJobName);
      } else if (job.TrainingJobStatus === 'Stopping') {
        this.finish(job.TrainingJobName, { kind: 'stopped', metrics: job.FinalMetricDataList ?? [] });
      }
    }
  }

  /** Service shutdown: stop the hosts without changing the jobs' statuses (they run again on restart). */
  override async shutdown(): Promise<void> {
    for (const t of this.startFailures.values()) clearTimeout(t);
    this.startFailures.clear();
    await super.shutdown();
  }

  isRunning(jobName: string): boolean {
    return this.runs.has(jobName) || this.startFailures.has(jobName);
  }

  private launch(jobName: string): void {
    const job = this.jobs.update(jobName, (job) => {
      job._attempts += 1;
    });
    if (!job) return;
    if (lacksCapacity(this.ctx.faults, job.ResourceConfig.InstanceType, this.ctx.faultDraw)) {
      this.jobs.update(jobName, (job) => statusMessage(job, 'Starting', CAPACITY_WAIT_MESSAGE));
      this.ctx.log(
        `training job ${jobName}: no capacity for ${job.ResourceConfig.InstanceType} (LOCAL_FAULTS capacity)`,
      );
      return this.failInStarting(jobName, CAPACITY_FAILURE);
    }
    if (failsInternally(this.ctx.faults, this.ctx.faultDraw)) {
      this.ctx.log(`training job ${jobName}: InternalServerError at start (LOCAL_FAULTS internal)`);
      return this.failInStarting(jobName, INTERNAL_FAILURE);
    }
    // StoppingCondition bounds the whole job: a retried attempt gets what the earlier ones left.
    const spent = job._retries ? Math.round(now() - job.CreationTime) : 0;
    const req: TrainingRequest = {
      ...job,
      Environment: job.Environment ?? {},
      StoppingCondition: {
        ...job.StoppingCondition,
        MaxRuntimeInSeconds: Math.max(1, job.StoppingCondition.MaxRuntimeInSeconds - spent),
      },
    };
    const run = new TrainingRun(this.ctx, req, (phase: Phase, message: string) => {
      this.jobs.update(jobName, (job) => {
        if (phase === 'Training') job.TrainingStartTime ??= now();
        if (job.TrainingJobStatus === 'Stopping' && phase !== 'Uploading') return;
        transition(job, phase, message);
      });
    });
    // Metrics show up in DescribeTrainingJob while the job trains, as on AWS.
    let shown = '';
    const metricsTimer = setInterval(() => {
      const m = run.parser.final();
      const key = JSON.stringify(m.map((metric) => [metric.MetricName, metric.Value]));
      if (key === shown) return;
      shown = key;
      this.jobs.update(jobName, (job) => {
        job.FinalMetricDataList = m;
      });
    }, 1000);
    this.startRun(
      jobName,
      run,
      (err) => ({ kind: 'failed', failureReason: `InternalServerError: ${err.message}`, metrics: run.parser.final() }),
      (outcome) => this.finish(jobName, outcome),
      () => clearInterval(metricsTimer),
    );
  }

  /** Leaves the job in Starting for capacityWaitMs, then fails it with `failureReason` (a start that cannot happen). */
  private failInStarting(jobName: string, failureReason: string): void {
    const timer = setTimeout(() => {
      this.startFailures.delete(jobName);
      this.finish(jobName, { kind: 'failed', failureReason, metrics: [] });
    }, this.ctx.capacityWaitMs);
    this.startFailures.set(jobName, timer);
  }

  /** RetryStrategy: starts a job that failed for a retried reason again, while it has retries left. */
  private retry(jobName: string, o: RunOutcome): boolean {
    const job = this.jobs.get(jobName);
    const max = job?.RetryStrategy?.MaximumRetryAttempts ?? 0;
    const done = job?._retries ?? 0;
    if (!job || job.TrainingJobStatus !== 'InProgress' || done >= max || !RETRIED_FAILURE.test(o.failureReason ?? ''))
      return false;
    this.jobs.update(jobName, (job) => {
      job._retries = done + 1;
      if (o.metrics.length) job.FinalMetricDataList = o.metrics;
      transition(job, 'Starting', `Retrying the training job (retry ${done + 1} of ${max}) after ${o.failureReason}`);
    });
    this.ctx.log(`training job ${jobName}: retry ${done + 1} of ${max} after ${o.failureReason}`);
    this.launch(jobName);
    return true;
  }

  private finish(jobName: string, o: RunOutcome): void {
    if (o.kind === 'shutdown') return;
    if (o.kind === 'failed' && this.retry(jobName, o)) return;
    const status = o.kind === 'completed' ? 'Completed' : o.kind === 'failed' ? 'Failed' : 'Stopped';
    this.setStatus(jobName, status, (job) => {
      const t = now();
      job.FinalMetricDataList = o.metrics;
      if (o.modelArtifacts) job.ModelArtifacts = { S3ModelArtifacts: o.modelArtifacts };
      job.TrainingEndTime = t;
      if (job.TrainingStartTime) {
        job.TrainingTimeInSeconds = Math.max(1, Math.round(t - job.TrainingStartTime));
        // Wall-clock seconds, not × InstanceCount: DescribeTrainingJob's documentation has the caller multiply
        // BillableTimeInSeconds by InstanceCount for the compute time billed.
        job.BillableTimeInSeconds = job.TrainingTimeInSeconds;
      }
      if (o.kind === 'completed') transition(job, 'Completed', 'Training job completed', true);
      else if (o.kind === 'failed') {
        job.FailureReason = o.failureReason;
        transition(job, 'Failed', 'Training job failed', true);
      } else if (o.kind === 'maxruntime')
        transition(job, 'MaxRuntimeExceeded', 'Job stopped because it exceeded MaxRuntimeInSeconds', true);
      else transition(job, 'Stopped', 'Training job stopped', true);
    });
  }
}

export function transition(
  j: { SecondaryStatus: string; SecondaryStatusTransitions: Transition[]; LastModifiedTime: number },
  status: string,
  message: string,
  terminal = false,
): void {
  const t = now();
  const last = j.SecondaryStatusTransitions[j.SecondaryStatusTransitions.length - 1];
  if (last && last.EndTime === undefined) last.EndTime = t;
  j.SecondaryStatusTransitions.push({
    Status: status,
    StartTime: t,
    ...(terminal ? { EndTime: t } : {}),
    StatusMessage: message,
  });
  j.SecondaryStatus = status;
  j.LastModifiedTime = t;
}

/** Sets the status message of the current secondary status (a new transition when the status changes). */
export function statusMessage(
  j: { SecondaryStatus: string; SecondaryStatusTransitions: Transition[]; LastModifiedTime: number },
  status: string,
  message: string,
): void {
  const last = j.SecondaryStatusTransitions[j.SecondaryStatusTransitions.length - 1];
  if (!last || last.Status !== status || last.EndTime !== undefined) return transition(j, status, message);
  last.StatusMessage = message;
  j.LastModifiedTime = now();
}

function summary(j: TrainingJob): Record<string, unknown> {
  return wire({
    TrainingJobName: j.TrainingJobName,
    TrainingJobArn: j.TrainingJobArn,
    CreationTime: j.CreationTime,
    TrainingEndTime: j.TrainingEndTime,
    LastModifiedTime: j.LastModifiedTime,
    TrainingJobStatus: j.TrainingJobStatus,
    SecondaryStatus: j.SecondaryStatus,
  });
}
