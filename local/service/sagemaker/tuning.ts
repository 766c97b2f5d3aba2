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
import { arn, inUse, invalid, notFound, now, paginate, wire } from '../core/protocol';
import type { Tags } from './tags';
import { type TrainingJob, type Training, sortRecords } from './training';
import {
  parseChannels,
  parseCheckpointConfig,
  parseMetricDefinitions,
  parseResourceConfig,
  parseStoppingCondition,
  type TrainingRequest,
} from './training-request';
import { grid, type Ranges, rng, sampleRandom, validateRanges } from './tuning-strategy';
import {
  arr,
  type Body,
  fail,
  int,
  name,
  obj,
  oneOf,
  optObj,
  optStr,
  str,
  strMap,
  tags as readTags,
} from '../core/request-fields';

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
      CreateHyperParameterTuningJob: (b) => this.create(b),
      DescribeHyperParameterTuningJob: (b) => {
        const j = this.get(name(b, 'HyperParameterTuningJobName', 32));
        return wire({ ...j, BestTrainingJob: j.BestTrainingJob && wire(j.BestTrainingJob) });
      },
      ListHyperParameterTuningJobs: (b) => {
        const contains = optStr(b, 'NameContains');
        const status = oneOf(b, 'StatusEquals', ['Completed', 'InProgress', 'Failed', 'Stopped', 'Stopping'] as const, {
          optional: true,
        });
        const order = oneOf(b, 'SortOrder', ['Ascending', 'Descending'] as const, { optional: true }) ?? 'Ascending';
        const sortBy = oneOf(b, 'SortBy', ['Name', 'Status', 'CreationTime'] as const, { optional: true }) ?? 'Name';
        let items = this.jobs
          .values()
          .filter(
            (j) =>
              (!contains || j.HyperParameterTuningJobName.includes(contains)) &&
              (!status || j.HyperParameterTuningJobStatus === status),
          );
        items = sortRecords(
          items,
          sortBy === 'Name'
            ? 'HyperParameterTuningJobName'
            : sortBy === 'Status'
              ? 'HyperParameterTuningJobStatus'
              : 'CreationTime',
          order,
        );
        const { page, NextToken } = paginate(items, b, 100, 100);
        return {
          HyperParameterTuningJobSummaries: page.map((j) =>
            wire({
              HyperParameterTuningJobName: j.HyperParameterTuningJobName,
              HyperParameterTuningJobArn: j.HyperParameterTuningJobArn,
              HyperParameterTuningJobStatus: j.HyperParameterTuningJobStatus,
              Strategy: j.HyperParameterTuningJobConfig.Strategy,
              CreationTime: j.CreationTime,
              HyperParameterTuningEndTime: j.HyperParameterTuningEndTime,
              LastModifiedTime: j.LastModifiedTime,
              TrainingJobStatusCounters: j.TrainingJobStatusCounters,
              ObjectiveStatusCounters: j.ObjectiveStatusCounters,
              ResourceLimits: j.HyperParameterTuningJobConfig.ResourceLimits,
            }),
          ),
          NextToken,
        };
      },
      StopHyperParameterTuningJob: (b) => {
        const n = name(b, 'HyperParameterTuningJobName', 32);
        const j = this.get(n);
        if (j.HyperParameterTuningJobStatus !== 'InProgress')
          throw invalid(
            `The request was rejected because the tuning job is in status ${j.HyperParameterTuningJobStatus}.`,
          );
        this.jobs.update(n, (r) => {
          r.HyperParameterTuningJobStatus = 'Stopping';
          r.LastModifiedTime = now();
        });
        for (const t of j._trials) if (t.TrainingJobStatus === 'InProgress') this.stopTrial(t.TrainingJobName);
        this.tick(n);
        return {};
      },
      ListTrainingJobsForHyperParameterTuningJob: (b) => {
        const j = this.get(name(b, 'HyperParameterTuningJobName', 32));
        const status = oneOf(b, 'StatusEquals', ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const, {
          optional: true,
        });
        const sortBy =
          oneOf(b, 'SortBy', ['Name', 'CreationTime', 'Status', 'FinalObjectiveMetricValue'] as const, {
            optional: true,
          }) ?? 'Name';
        const order = oneOf(b, 'SortOrder', ['Ascending', 'Descending'] as const, { optional: true }) ?? 'Ascending';
        let items = j._trials
          .filter((t) => !status || t.TrainingJobStatus === status)
          .map((t) => ({ ...t, _value: t.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? Number.NaN }));
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

  private create(b: Body): unknown {
    const tuningName = name(b, 'HyperParameterTuningJobName', 32);
    const cfg = obj(b.HyperParameterTuningJobConfig, 'HyperParameterTuningJobConfig');
    const strategy = oneOf(cfg, 'Strategy', ['Bayesian', 'Random', 'Hyperband', 'Grid'] as const, {
      path: 'hyperParameterTuningJobConfig.strategy',
    }) as string;
    const objective = optObj(
      cfg.HyperParameterTuningJobObjective,
      'HyperParameterTuningJobConfig.HyperParameterTuningJobObjective',
    );
    if (!objective)
      fail('HyperParameterTuningJobConfig.HyperParameterTuningJobObjective', undefined, 'Member must not be null');
    const Objective: Objective = {
      Type: oneOf(objective, 'Type', ['Maximize', 'Minimize'] as const, {
        path: 'hyperParameterTuningJobConfig.hyperParameterTuningJobObjective.type',
      }) as Objective['Type'],
      MetricName: str(objective, 'MetricName', {
        path: 'hyperParameterTuningJobConfig.hyperParameterTuningJobObjective.metricName',
        min: 1,
        max: 255,
      }),
    };
    const limits = obj(cfg.ResourceLimits, 'HyperParameterTuningJobConfig.ResourceLimits');
    const maxParallel = int(limits, 'MaxParallelTrainingJobs', {
      path: 'hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs',
      min: 1,
      max: 100,
    });
    const maxJobsRaw = limits.MaxNumberOfTrainingJobs;
    const ranges = (optObj(cfg.ParameterRanges, 'HyperParameterTuningJobConfig.ParameterRanges') ?? {}) as Ranges;
    validateRanges(ranges, strategy);
    let plan: Record<string, string>[] | undefined;
    let maxJobs: number;
    if (strategy === 'Grid') {
      plan = grid(ranges);
      maxJobs =
        maxJobsRaw === undefined
          ? plan.length
          : Math.min(
              plan.length,
              int(limits, 'MaxNumberOfTrainingJobs', {
                path: 'hyperParameterTuningJobConfig.resourceLimits.maxNumberOfTrainingJobs',
                min: 1,
                max: 750,
              }),
            );
    } else {
      maxJobs = int(limits, 'MaxNumberOfTrainingJobs', {
        path: 'hyperParameterTuningJobConfig.resourceLimits.maxNumberOfTrainingJobs',
        min: 1,
        max: 750,
      });
    }
    const def = obj(b.TrainingJobDefinition, 'TrainingJobDefinition');
    const defn = this.parseDefinition(def);
    assertAssumable(this.ctx.iam, defn.RoleArn, SAGEMAKER_SERVICE);
    if (!defn.AlgorithmSpecification.MetricDefinitions.some((m) => m.Name === Objective.MetricName)) {
      fail(
        'TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions',
        Objective.MetricName,
        `The objective metric ${Objective.MetricName} must be one of the MetricDefinitions`,
      );
    }
    const warm = optObj(b.WarmStartConfig, 'WarmStartConfig');
    if (warm) {
      const parents = arr(warm, 'ParentHyperParameterTuningJobs', {
        path: 'warmStartConfig.parentHyperParameterTuningJobs',
        min: 1,
        max: 5,
      });
      for (const [i, p] of parents.entries()) {
        const pn = name(
          obj(p, `warmStartConfig.parentHyperParameterTuningJobs.${i + 1}`),
          'HyperParameterTuningJobName',
          32,
          `warmStartConfig.parentHyperParameterTuningJobs.${i + 1}.member.hyperParameterTuningJobName`,
        );
        if (!this.jobs.has(pn)) throw invalid(`Parent tuning job ${pn} does not exist.`);
      }
      oneOf(warm, 'WarmStartType', ['IdenticalDataAndAlgorithm', 'TransferLearning'] as const, {
        path: 'warmStartConfig.warmStartType',
      });
    }
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
        TrainingJobEarlyStoppingType: optStr(cfg, 'TrainingJobEarlyStoppingType') ?? 'Off',
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
    const algo = obj(def.AlgorithmSpecification, `${p}.algorithmSpecification`);
    const TrainingImage = optStr(algo, 'TrainingImage', { path: `${p}.algorithmSpecification.trainingImage` });
    const TrainingInputMode = oneOf(algo, 'TrainingInputMode', ['Pipe', 'File', 'FastFile'] as const, {
      path: `${p}.algorithmSpecification.trainingInputMode`,
    }) as string;
    const out = obj(def.OutputDataConfig, `${p}.outputDataConfig`);
    const spot = def.EnableManagedSpotTraining === true;
    return {
      StaticHyperParameters: strMap(def, 'StaticHyperParameters', { maxEntries: 100, maxKey: 256, maxValue: 2500 }),
      AlgorithmSpecification: {
        TrainingImage,
        TrainingInputMode,
        MetricDefinitions: parseMetricDefinitions(
          arr(algo, 'MetricDefinitions', { optional: true }),
          `${p}.algorithmSpecification.metricDefinitions`,
        ),
      },
      RoleArn: str(def, 'RoleArn', { path: `${p}.roleArn`, min: 20, max: 2048 }),
      InputDataConfig: parseChannels(arr(def, 'InputDataConfig', { optional: true }), `${p}.inputDataConfig`),
      OutputDataConfig: { S3OutputPath: str(out, 'S3OutputPath', { path: `${p}.outputDataConfig.s3OutputPath` }) },
      ResourceConfig: parseResourceConfig(obj(def.ResourceConfig, `${p}.resourceConfig`), `${p}.resourceConfig`),
      StoppingCondition: parseStoppingCondition(
        obj(def.StoppingCondition, `${p}.stoppingCondition`),
        spot,
        `${p}.stoppingCondition`,
      ),
      EnableManagedSpotTraining: spot,
      CheckpointConfig: parseCheckpointConfig(def.CheckpointConfig, `${p}.checkpointConfig`),
      Environment: strMap(def, 'Environment', { maxEntries: 100 }),
    };
  }

  /** Launches trials up to the parallel limit; finishes the job when nothing is left to run. */
  private tick(tuningName: string): void {
    if (this.stopped) return;
    const j = this.jobs.get(tuningName);
    if (!j) return;
    const running = j._trials.filter(
      (t) => t.TrainingJobStatus === 'InProgress' || t.TrainingJobStatus === 'Stopping',
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
    const still = after._trials.some((t) => t.TrainingJobStatus === 'InProgress' || t.TrainingJobStatus === 'Stopping');
    if (still) return;
    if (after.HyperParameterTuningJobStatus === 'Stopping') this.finish(tuningName, 'Stopped');
    else if (after.HyperParameterTuningJobStatus === 'InProgress' && after._trials.length >= after._planned) {
      const ok = after._trials.some((t) => t.ObjectiveStatus === 'Succeeded');
      this.finish(
        tuningName,
        ok ? 'Completed' : 'Failed',
        ok
          ? undefined
          : `No training job succeeded with an objective metric value; the last failure: ${
              after._trials
                .map((t) => t.FailureReason)
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
    this.jobs.update(j.HyperParameterTuningJobName, (r) => {
      r._trials.push(summary);
      recount(r);
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
      const s = r._trials.find((t) => t.TrainingJobName === trialName);
      if (!s) return;
      const objective = r.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective;
      s.TrainingJobStatus = job.TrainingJobStatus;
      s.TrainingStartTime = job.TrainingStartTime;
      s.TrainingEndTime = job.TrainingEndTime;
      s.FailureReason = job.FailureReason;
      const value = job.FinalMetricDataList?.find((m) => m.MetricName === objective.MetricName)?.Value;
      if (job.TrainingJobStatus === 'Completed' && value !== undefined) {
        s.FinalHyperParameterTuningJobObjectiveMetric = {
          Type: objective.Type,
          MetricName: objective.MetricName,
          Value: value,
        };
        s.ObjectiveStatus = 'Succeeded';
      } else s.ObjectiveStatus = 'Failed';
      recount(r);
      const scored = r._trials.filter((t) => t.ObjectiveStatus === 'Succeeded');
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
    this.jobs.update(tuningName, (r) => {
      r.HyperParameterTuningJobStatus = status;
      r.HyperParameterTuningEndTime = now();
      r.LastModifiedTime = r.HyperParameterTuningEndTime;
      if (reason) r.FailureReason = reason;
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
      if (/^(InternalServerError|CapacityError)/.test(t.FailureReason ?? '')) c.RetryableError++;
      else c.NonRetryableError++;
    }
    o[t.ObjectiveStatus]++;
  }
  r.TrainingJobStatusCounters = c;
  r.ObjectiveStatusCounters = o;
}
