/**
 * Hyperparameter tuning jobs: trials are real training jobs (named `<tuning>-<NNN>-<hash>`, TuningJobArn set),
 * at most MaxParallelTrainingJobs at a time, hyperparameters from the strategy (Random and Grid for real;
 * Bayesian and Hyperband run as Random, recorded in the `local:strategy` tag and the service log). The objective
 * is the trial's final value of the objective metric (its MetricDefinitions), which gives the BestTrainingJob.
 */
import { createHash } from 'node:crypto';
import type { Ctx } from '../core/context';
import { assertAssumable } from '../iam/on-behalf';
import { SAGEMAKER_SERVICE } from '../iam/policies';
import { channelFingerprint } from '../core/s3-files';
import type { TuningJobView } from '../core/documented-rules';
import { definitionChannels } from '../core/documented-rules/warm-start';
import { arn, AwsError, inUse, notFound, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { type TrainingJob, type Training } from './jobs/training/training';
import { listJobs, sortRecords } from './job-listing';
import {
  parseChannels,
  parseCheckpointConfig,
  parseMetricDefinitions,
  parseRetryStrategy,
  parseStoppingCondition,
  type TrainingRequest,
} from './jobs/training/training-request';
import { trialResources } from './tuning-resources';
import { grid, type Ranges, rng, sampleRandom, validateRanges } from './tuning-strategy';
import { type Body, fail, s3Uri, tags as readTags, unsupported } from '../core/request-fields';

/** SageMaker's default quotas per tuning job (https://docs.aws.amazon.com/general/latest/gr/sagemaker.html). */
const MAX_TRIALS = 750;
const MAX_PARALLEL_TRIALS = 100;
const limitExceeded = (message: string): AwsError => new AwsError('ResourceLimitExceeded', message);
const quotaMessage = (quota: string, limit: number, asked: number): string =>
  `The account-level service limit '${quota}' is ${limit} Training jobs, with current utilization of 0 Training jobs ` +
  `and a request delta of ${asked} Training jobs.`;

type Status = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

interface Objective {
  Type: 'Maximize' | 'Minimize';
  MetricName: string;
}

interface TrialSummary {
  TrainingJobName: string;
  TrainingJobArn: string;
  TuningJobName: string;
  CreationTime: number;
  TrainingStartTime?: number;
  TrainingEndTime?: number;
  TrainingJobStatus: string;
  TunedHyperParameters: Record<string, string>;
  FailureReason?: string;
  FinalHyperParameterTuningJobObjectiveMetric?: { Type: string; MetricName: string; Value: number };
  ObjectiveStatus: 'Succeeded' | 'Pending' | 'Failed';
}

interface TuningJob {
  HyperParameterTuningJobName: string;
  HyperParameterTuningJobArn: string;
  HyperParameterTuningJobConfig: {
    Strategy: string;
    HyperParameterTuningJobObjective: Objective;
    ResourceLimits: { MaxNumberOfTrainingJobs?: number; MaxParallelTrainingJobs: number; MaxRuntimeInSeconds?: number };
    ParameterRanges: Ranges;
    TrainingJobEarlyStoppingType?: string;
  };
  TrainingJobDefinition: Record<string, unknown>;
  WarmStartConfig?: unknown;
  HyperParameterTuningJobStatus: Status;
  CreationTime: number;
  LastModifiedTime: number;
  HyperParameterTuningEndTime?: number;
  TrainingJobStatusCounters: {
    Completed: number;
    InProgress: number;
    RetryableError: number;
    NonRetryableError: number;
    Stopped: number;
  };
  ObjectiveStatusCounters: { Succeeded: number; Pending: number; Failed: number };
  BestTrainingJob?: TrialSummary;
  FailureReason?: string;
  _trials: TrialSummary[];
  _planned: number;
  _plan?: Record<string, string>[];
  _dataFingerprint?: Record<string, string>;
}

export class Tuning {
  private stopped = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly tags: Tags,
    private readonly training: Training,
  ) {
    training.events.on('finished', (jobName: string) => this.onTrialFinished(jobName));
  }

  private get jobs() {
    return this.ctx.store.kind<TuningJob>('tuning-jobs');
  }

  private get(tuningName: string): TuningJob {
    const j = this.jobs.get(tuningName);
    if (!j) throw notFound(`Amazon SageMaker can't find a tuning job with name ${tuningName}`);
    return j;
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      // What the channels hold when the job starts: a later IdenticalDataAndAlgorithm warm start compares with it.
      CreateHyperParameterTuningJob: async (b) =>
        this.create(
          b,
          await channelFingerprint(
            this.ctx.moto.s3,
            definitionChannels((b.TrainingJobDefinition as Body | undefined) ?? {}),
          ),
        ),
      DescribeHyperParameterTuningJob: (b) => {
        const j = this.get(b.HyperParameterTuningJobName as string);
        return wire({ ...j, BestTrainingJob: j.BestTrainingJob && wire(j.BestTrainingJob) });
      },
      ListHyperParameterTuningJobs: (b) => {
        const { page, NextToken } = listJobs(this.jobs.values(), b, {
          nameField: 'HyperParameterTuningJobName',
          statusField: 'HyperParameterTuningJobStatus',
          sortBy: 'Name',
          sortOrder: 'Ascending',
          nameIgnoresCase: false,
          pageSize: { default: 100, max: 100 },
        });
        return {
          HyperParameterTuningJobSummaries: page.map((job) =>
            wire({
              HyperParameterTuningJobName: job.HyperParameterTuningJobName,
              HyperParameterTuningJobArn: job.HyperParameterTuningJobArn,
              HyperParameterTuningJobStatus: job.HyperParameterTuningJobStatus,
              Strategy: job.HyperParameterTuningJobConfig.Strategy,
              CreationTime: job.CreationTime,
              HyperParameterTuningEndTime: job.HyperParameterTuningEndTime,
              LastModifiedTime: job.LastModifiedTime,
              TrainingJobStatusCounters: job.TrainingJobStatusCounters,
              ObjectiveStatusCounters: job.ObjectiveStatusCounters,
              ResourceLimits: job.HyperParameterTuningJobConfig.ResourceLimits,
            }),
          ),
          NextToken,
        };
      },
      StopHyperParameterTuningJob: (b) => {
        const n = b.HyperParameterTuningJobName as string;
        // Only an InProgress job gets here (documented rule tuning-job.stop-state).
        const j = this.get(n);
        this.jobs.update(n, (job) => {
          job.HyperParameterTuningJobStatus = 'Stopping';
          job.LastModifiedTime = now();
        });
        for (const t of j._trials) if (t.TrainingJobStatus === 'InProgress') this.stopTrial(t.TrainingJobName);
        this.tick(n);
        return {};
      },
      ListTrainingJobsForHyperParameterTuningJob: (b) => {
        const j = this.get(b.HyperParameterTuningJobName as string);
        const status = b.StatusEquals as string | undefined;
        const sortBy = (b.SortBy as string | undefined) ?? 'Name';
        const order = (b.SortOrder as 'Ascending' | 'Descending' | undefined) ?? 'Ascending';
        let items = j._trials
          .filter((trial) => !status || trial.TrainingJobStatus === status)
          .map((trial) => ({
            ...trial,
            _value: trial.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? Number.NaN,
          }));
        if (sortBy === 'FinalObjectiveMetricValue') {
          const sign = order === 'Ascending' ? 1 : -1;
          // Trials without an objective go last, whatever the order.
          items = items.sort((a, c) =>
            Number.isNaN(a._value) ? 1 : Number.isNaN(c._value) ? -1 : sign * (a._value - c._value),
          );
        } else
          items = sortRecords(
            items,
            sortBy === 'Name' ? 'TrainingJobName' : sortBy === 'Status' ? 'TrainingJobStatus' : 'CreationTime',
            order,
          );
        const { page, NextToken } = paginate(items, b, 10, 100);
        return { TrainingJobSummaries: page.map((t) => wire(t)), NextToken };
      },
    };
  }

  /** What the documented rules read of a tuning job (warm start, stop). */
  view(tuningName: string): TuningJobView | undefined {
    const j = this.jobs.get(tuningName);
    if (!j) return undefined;
    return {
      status: j.HyperParameterTuningJobStatus,
      objectiveMetric: j.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName,
      definition: j.TrainingJobDefinition,
      ranges: j.HyperParameterTuningJobConfig.ParameterRanges as unknown as Body,
      dataFingerprint: j._dataFingerprint,
    };
  }

  private create(b: Body, dataFingerprint: Record<string, string>): unknown {
    // Types, lengths, ranges, enums and patterns have been checked against AWS's model (core/model-gate.ts).
    const tuningName = b.HyperParameterTuningJobName as string;
    if (b.TrainingJobDefinitions !== undefined)
      unsupported(
        'trainingJobDefinitions',
        'tuning jobs over several training job definitions (TrainingJobDefinitions)',
      );
    const cfg = b.HyperParameterTuningJobConfig as Body;
    const strategy = cfg.Strategy as string;
    const objective = cfg.HyperParameterTuningJobObjective as Body | undefined;
    if (!objective)
      fail(
        'HyperParameterTuningJobConfig.HyperParameterTuningJobObjective',
        undefined,
        'HyperParameterTuningJobObjective is required with one TrainingJobDefinition',
      );
    const Objective: Objective = {
      Type: objective.Type as Objective['Type'],
      MetricName: objective.MetricName as string,
    };
    const limits = cfg.ResourceLimits as Body;
    const maxParallel = limits.MaxParallelTrainingJobs as number;
    const maxJobsRaw = limits.MaxNumberOfTrainingJobs as number | undefined;
    // Account quotas, answered as SageMaker answers quotas (https://docs.aws.amazon.com/general/latest/gr/sagemaker.html).
    // The message in SageMaker's quota shape (limit, utilization, request delta), which the pipeline reads to tell a
    // quota that clears (in use by others) from one below the request (activities/quota.ts); a per-job limit has
    // nothing else in use.
    if (maxParallel > MAX_PARALLEL_TRIALS)
      throw limitExceeded(
        quotaMessage('Number of concurrent training jobs per tuning job', MAX_PARALLEL_TRIALS, maxParallel),
      );
    if (maxJobsRaw !== undefined && maxJobsRaw > MAX_TRIALS)
      throw limitExceeded(quotaMessage('Number of training jobs per tuning job', MAX_TRIALS, maxJobsRaw));
    const ranges = (cfg.ParameterRanges as Ranges | undefined) ?? {};
    validateRanges(ranges, strategy);
    let plan: Record<string, string>[] | undefined;
    let maxJobs: number;
    if (strategy === 'Grid') {
      plan = grid(ranges);
      maxJobs = maxJobsRaw === undefined ? plan.length : Math.min(plan.length, maxJobsRaw);
    } else {
      if (maxJobsRaw === undefined)
        fail(
          'hyperParameterTuningJobConfig.resourceLimits.maxNumberOfTrainingJobs',
          undefined,
          `MaxNumberOfTrainingJobs is required with the ${strategy} strategy`,
        );
      maxJobs = maxJobsRaw;
    }
    const def = b.TrainingJobDefinition as Body | undefined;
    if (!def) fail('trainingJobDefinition', undefined, 'TrainingJobDefinition is required');
    const defn = this.parseDefinition(def);
    assertAssumable(this.ctx.iam, defn.RoleArn, SAGEMAKER_SERVICE);
    if (!defn.AlgorithmSpecification.MetricDefinitions.some((metric) => metric.Name === Objective.MetricName)) {
      fail(
        'TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions',
        Objective.MetricName,
        `The objective metric ${Objective.MetricName} must be one of the MetricDefinitions`,
      );
    }
    // The warm-start rules (parents, objective, hyperparameters, data) are documented rules (core/documented-rules).
    const warm = b.WarmStartConfig as Body | undefined;
    if (this.jobs.has(tuningName)) throw inUse(`Tuning job with name ${tuningName} already exists.`);
    const t = now();
    const tuningArn = arn(`hyper-parameter-tuning-job/${tuningName.toLowerCase()}`);
    this.jobs.put(tuningName, {
      HyperParameterTuningJobName: tuningName,
      HyperParameterTuningJobArn: tuningArn,
      HyperParameterTuningJobConfig: {
        Strategy: strategy,
        HyperParameterTuningJobObjective: Objective,
        ResourceLimits: {
          MaxNumberOfTrainingJobs: maxJobs,
          MaxParallelTrainingJobs: maxParallel,
          MaxRuntimeInSeconds: limits.MaxRuntimeInSeconds as number | undefined,
        },
        ParameterRanges: ranges,
        TrainingJobEarlyStoppingType: (cfg.TrainingJobEarlyStoppingType as string | undefined) ?? 'Off',
      },
      TrainingJobDefinition: def,
      WarmStartConfig: warm,
      HyperParameterTuningJobStatus: 'InProgress',
      CreationTime: t,
      LastModifiedTime: t,
      TrainingJobStatusCounters: { Completed: 0, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 },
      ObjectiveStatusCounters: { Succeeded: 0, Pending: 0, Failed: 0 },
      _trials: [],
      _planned: maxJobs,
      _plan: plan,
      _dataFingerprint: dataFingerprint,
    });
    const note =
      strategy === 'Bayesian' || strategy === 'Hyperband'
        ? `${strategy} emulated with Random search by the local service`
        : `${strategy} search`;
    this.tags.add(tuningArn, [...readTags(b), { Key: 'local:strategy', Value: note }]);
    this.ctx.log(`tuning job ${tuningName}: ${note}, ${maxJobs} trials, ${maxParallel} at a time`);
    this.tick(tuningName);
    return { HyperParameterTuningJobArn: tuningArn };
  }

  private parseDefinition(
    def: Body,
  ): Omit<TrainingRequest, 'TrainingJobName' | 'HyperParameters'> & { StaticHyperParameters: Record<string, string> } {
    const p = 'trainingJobDefinition';
    const algo = def.AlgorithmSpecification as Body;
    const out = def.OutputDataConfig as Body;
    const S3OutputPath = out.S3OutputPath as string;
    s3Uri(S3OutputPath, `${p}.outputDataConfig.s3OutputPath`);
    const spot = def.EnableManagedSpotTraining === true;
    return {
      StaticHyperParameters: (def.StaticHyperParameters as Record<string, string> | undefined) ?? {},
      AlgorithmSpecification: {
        TrainingImage: algo.TrainingImage as string | undefined,
        TrainingInputMode: algo.TrainingInputMode as string,
        MetricDefinitions: parseMetricDefinitions(
          (algo.MetricDefinitions as unknown[] | undefined) ?? [],
          `${p}.algorithmSpecification.metricDefinitions`,
        ),
      },
      RoleArn: def.RoleArn as string,
      InputDataConfig: parseChannels((def.InputDataConfig as unknown[] | undefined) ?? [], `${p}.inputDataConfig`),
      OutputDataConfig: { S3OutputPath },
      ResourceConfig: trialResources(def, p),
      StoppingCondition: parseStoppingCondition(
        def.StoppingCondition as Body | undefined,
        spot,
        `${p}.stoppingCondition`,
      ),
      EnableManagedSpotTraining: spot,
      CheckpointConfig: parseCheckpointConfig(def.CheckpointConfig, `${p}.checkpointConfig`),
      Environment: (def.Environment as Record<string, string> | undefined) ?? {},
      RetryStrategy: parseRetryStrategy(def.RetryStrategy),
    };
  }

  /** Launches trials up to the parallel limit; finishes the job when nothing is left to run. */
  private tick(tuningName: string): void {
    if (this.stopped) return;
    const j = this.jobs.get(tuningName);
    if (!j) return;
    const running = j._trials.filter(
      (trial) => trial.TrainingJobStatus === 'InProgress' || trial.TrainingJobStatus === 'Stopping',
    ).length;
    if (j.HyperParameterTuningJobStatus === 'InProgress') {
      const limits = j.HyperParameterTuningJobConfig.ResourceLimits;
      let launched = j._trials.length;
      for (
        let slots = limits.MaxParallelTrainingJobs - running;
        slots > 0 && launched < j._planned;
        slots--, launched++
      )
        this.launchTrial(j, launched);
    }
    const after = this.jobs.get(tuningName) as TuningJob;
    const still = after._trials.some(
      (trial) => trial.TrainingJobStatus === 'InProgress' || trial.TrainingJobStatus === 'Stopping',
    );
    if (still) return;
    if (after.HyperParameterTuningJobStatus === 'Stopping') this.finish(tuningName, 'Stopped');
    else if (after.HyperParameterTuningJobStatus === 'InProgress' && after._trials.length >= after._planned) {
      const ok = after._trials.some((trial) => trial.ObjectiveStatus === 'Succeeded');
      this.finish(
        tuningName,
        ok ? 'Completed' : 'Failed',
        ok
          ? undefined
          : `No training job succeeded with an objective metric value; the last failure: ${
              after._trials
                .map((trial) => trial.FailureReason)
                .filter(Boolean)
                .pop() ?? 'none'
            }`,
      );
    }
  }

  private launchTrial(j: TuningJob, index: number): void {
    const def = this.parseDefinition(j.TrainingJobDefinition);
    const cfg = j.HyperParameterTuningJobConfig;
    const tuned = j._plan
      ? (j._plan[index] as Record<string, string>)
      : sampleRandom(cfg.ParameterRanges, rng(`${j.HyperParameterTuningJobName}/${index}`));
    const hash = createHash('sha256')
      .update(`${j.HyperParameterTuningJobName}/${index}/${JSON.stringify(tuned)}`)
      .digest('hex')
      .slice(0, 8);
    const trialName = `${j.HyperParameterTuningJobName}-${String(index + 1).padStart(3, '0')}-${hash}`;
    const { StaticHyperParameters, ...rest } = def;
    const req: TrainingRequest = {
      ...rest,
      TrainingJobName: trialName,
      HyperParameters: {
        ...StaticHyperParameters,
        ...tuned,
        _tuning_objective_metric: cfg.HyperParameterTuningJobObjective.MetricName,
      },
    };
    const summary: TrialSummary = {
      TrainingJobName: trialName,
      TrainingJobArn: '',
      TuningJobName: j.HyperParameterTuningJobName,
      CreationTime: now(),
      TrainingJobStatus: 'InProgress',
      TunedHyperParameters: tuned,
      ObjectiveStatus: 'Pending',
    };
    try {
      const job = this.training.create(req, [], { TuningJobArn: j.HyperParameterTuningJobArn });
      summary.TrainingJobArn = job.TrainingJobArn;
      summary.CreationTime = job.CreationTime;
    } catch (err) {
      summary.TrainingJobStatus = 'Failed';
      summary.FailureReason = (err as Error).message;
      summary.ObjectiveStatus = 'Failed';
    }
    this.jobs.update(j.HyperParameterTuningJobName, (job) => {
      job._trials.push(summary);
      recount(job);
    });
  }

  private stopTrial(trialName: string): void {
    try {
      this.training.stop(trialName);
    } catch {
      /* already finished */
    }
  }

  private onTrialFinished(trialName: string): void {
    const job: TrainingJob | undefined = this.training.jobs.get(trialName);
    if (!job?.TuningJobArn) return;
    const tuningName = this.jobs
      .values()
      .find((t) => t.HyperParameterTuningJobArn === job.TuningJobArn)?.HyperParameterTuningJobName;
    if (!tuningName) return;
    this.jobs.update(tuningName, (r) => {
      const s = r._trials.find((trial) => trial.TrainingJobName === trialName);
      if (!s) return;
      const objective = r.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective;
      s.TrainingJobStatus = job.TrainingJobStatus;
      s.TrainingStartTime = job.TrainingStartTime;
      s.TrainingEndTime = job.TrainingEndTime;
      s.FailureReason = job.FailureReason;
      const value = job.FinalMetricDataList?.find((metric) => metric.MetricName === objective.MetricName)?.Value;
      if (job.TrainingJobStatus === 'Completed' && value !== undefined) {
        s.FinalHyperParameterTuningJobObjectiveMetric = {
          Type: objective.Type,
          MetricName: objective.MetricName,
          Value: value,
        };
        s.ObjectiveStatus = 'Succeeded';
      } else s.ObjectiveStatus = 'Failed';
      recount(r);
      const scored = r._trials.filter((trial) => trial.ObjectiveStatus === 'Succeeded');
      const sign = objective.Type === 'Maximize' ? -1 : 1;
      const best = scored.sort(
        (a, b) =>
          sign *
          ((a.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? 0) -
            (b.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? 0)),
      )[0];
      if (best) r.BestTrainingJob = { ...best };
      r.LastModifiedTime = now();
    });
    this.tick(tuningName);
  }

  private finish(tuningName: string, status: Status, reason?: string): void {
    this.jobs.update(tuningName, (job) => {
      job.HyperParameterTuningJobStatus = status;
      job.HyperParameterTuningEndTime = now();
      job.LastModifiedTime = job.HyperParameterTuningEndTime;
      if (reason) job.FailureReason = reason;
    });
    this.ctx.log(`tuning job ${tuningName}: ${status}`);
  }

  /** After a restart: trials are training jobs and resume on their own; refresh every job's view and go on. */
  resume(): void {
    for (const j of this.jobs.values()) {
      if (j.HyperParameterTuningJobStatus !== 'InProgress' && j.HyperParameterTuningJobStatus !== 'Stopping') continue;
      for (const t of j._trials) {
        const tj = this.training.jobs.get(t.TrainingJobName);
        if (
          tj &&
          tj.TrainingJobStatus !== t.TrainingJobStatus &&
          tj.TrainingJobStatus !== 'InProgress' &&
          tj.TrainingJobStatus !== 'Stopping'
        )
          this.onTrialFinished(t.TrainingJobName);
      }
      this.tick(j.HyperParameterTuningJobName);
    }
  }

  shutdown(): void {
    this.stopped = true;
  }
}

function recount(r: TuningJob): void {
  const c = { Completed: 0, InProgress: 0, RetryableError: 0, NonRetryableError: 0, Stopped: 0 };
  const o = { Succeeded: 0, Pending: 0, Failed: 0 };
  for (const t of r._trials) {
    if (t.TrainingJobStatus === 'Completed') c.Completed++;
    else if (t.TrainingJobStatus === 'InProgress' || t.TrainingJobStatus === 'Stopping') c.InProgress++;
    else if (t.TrainingJobStatus === 'Stopped') c.Stopped++;
    else if (t.TrainingJobStatus === 'Failed') {
      // API_TrainingJobStatusCounters: retryable only when it failed because of an internal service error.
      if (/^InternalServerError\b/.test(t.FailureReason ?? '')) c.RetryableError++;
      else c.NonRetryableError++;
    }
    o[t.ObjectiveStatus]++;
  }
  r.TrainingJobStatusCounters = c;
  r.ObjectiveStatusCounters = o;
}
