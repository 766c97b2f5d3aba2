/**
 * Hyperparameter tuning (step 5): create or re-attach to the tuning job, wait for it without growing workflow
 * history, read the best trial (or fail with the trials' reasons), and stop it on cancellation.
 */
import {
  CreateHyperParameterTuningJobCommand,
  type CreateHyperParameterTuningJobCommandInput,
  DescribeHyperParameterTuningJobCommand,
  type DescribeHyperParameterTuningJobCommandOutput,
  DescribeTrainingJobCommand,
  ListTrainingJobsForHyperParameterTuningJobCommand,
  StopHyperParameterTuningJobCommand,
} from '@aws-sdk/client-sagemaker';
import { ErrorType } from '../contracts/errors';
import {
  CreateTuningJobInput,
  type CreateTuningJobOutput,
  DescribeTuningResultInput,
  type StopTuningJobInput,
  type StopTuningJobOutput,
  TERMINAL_TUNING_STATUSES,
  type TuningJobCounters,
  type TuningJobSnapshot,
  type TuningResult,
  type WaitTuningJobInput,
} from '../contracts/tune-model';
import { aws, failure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { pollUntil } from './polling';
import { assertOwned, isAlreadyExists, isNotFound, sageMakerTags } from './sagemaker-owner';

type ParsedCreate = ReturnType<typeof CreateTuningJobInput.parse>;

/** The CreateHyperParameterTuningJob request for a parsed input (exported for tests and the local service). */
export function tuningJobRequest(input: ParsedCreate): CreateHyperParameterTuningJobCommandInput {
  const d = input.definition;
  const t = input.tuning;
  const r = { ...d.resources, ...t.resources };
  const tuned = new Set([...t.ranges.continuous, ...t.ranges.integer, ...t.ranges.categorical].map((x) => x.name));
  const maxRuntime = t.maxRuntimeSeconds ?? d.maxRuntimeSeconds;
  return {
    HyperParameterTuningJobName: input.tuningJobName,
    HyperParameterTuningJobConfig: {
      Strategy: t.strategy,
      HyperParameterTuningJobObjective: { Type: t.objective.type, MetricName: t.objective.metricName },
      // Grid search runs every combination: SageMaker derives the job count from the grid, so none is sent.
      ResourceLimits: {
        MaxNumberOfTrainingJobs: t.strategy === 'Grid' ? undefined : t.maxJobs,
        MaxParallelTrainingJobs: t.maxParallelJobs,
      },
      ParameterRanges: {
        ContinuousParameterRanges: t.ranges.continuous.map((x) => ({
          Name: x.name,
          MinValue: String(x.min),
          MaxValue: String(x.max),
          ScalingType: x.scaling,
        })),
        IntegerParameterRanges: t.ranges.integer.map((x) => ({
          Name: x.name,
          MinValue: String(x.min),
          MaxValue: String(x.max),
          ScalingType: x.scaling,
        })),
        CategoricalParameterRanges: t.ranges.categorical.map((x) => ({ Name: x.name, Values: x.values })),
      },
      TrainingJobEarlyStoppingType: t.earlyStopping,
    },
    TrainingJobDefinition: {
      StaticHyperParameters: Object.fromEntries(Object.entries(d.hyperparameters).filter(([k]) => !tuned.has(k))),
      AlgorithmSpecification: {
        TrainingImage: d.imageUri,
        TrainingInputMode: 'File',
        MetricDefinitions: d.metricDefinitions.map((m) => ({ Name: m.name, Regex: m.regex })),
      },
      RoleArn: d.roleArn,
      InputDataConfig: Object.entries(d.channels).map(([ChannelName, S3Uri]) => ({
        ChannelName,
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri, S3DataDistributionType: 'FullyReplicated' } },
      })),
      OutputDataConfig: { S3OutputPath: d.outputS3Uri },
      ResourceConfig: {
        InstanceType: r.instanceType as never,
        InstanceCount: r.instanceCount,
        VolumeSizeInGB: r.volumeSizeGb,
      },
      StoppingCondition: {
        MaxRuntimeInSeconds: maxRuntime,
        MaxWaitTimeInSeconds: d.spot.enabled ? Math.max(d.spot.maxWaitSeconds ?? maxRuntime, maxRuntime) : undefined,
      },
      EnableManagedSpotTraining: d.spot.enabled,
      ...(d.retryStrategy ? { RetryStrategy: { MaximumRetryAttempts: d.retryStrategy.maximumRetryAttempts } } : {}),
      CheckpointConfig: d.checkpointS3Uri ? { S3Uri: d.checkpointS3Uri } : undefined,
      // No TensorBoardOutputConfig: HyperParameterTrainingJobDefinition has no such member (botocore's model), so
      // SageMaker syncs no trial's /opt/ml/output/tensorboard; trials' curves come from their metrics instead.
      Environment: Object.keys(d.environment).length > 0 ? d.environment : undefined,
    },
    WarmStartConfig: t.warmStart
      ? {
          ParentHyperParameterTuningJobs: t.warmStart.parentTuningJobs.map((n) => ({ HyperParameterTuningJobName: n })),
          WarmStartType: t.warmStart.type,
        }
      : undefined,
    Tags: sageMakerTags(input.workflowId, d.tags),
  };
}

function counters(res: DescribeHyperParameterTuningJobCommandOutput): TuningJobCounters {
  const c = res.TrainingJobStatusCounters ?? {};
  return {
    completed: c.Completed ?? 0,
    inProgress: c.InProgress ?? 0,
    retryableError: c.RetryableError ?? 0,
    nonRetryableError: c.NonRetryableError ?? 0,
    stopped: c.Stopped ?? 0,
  };
}

function snapshot(res: DescribeHyperParameterTuningJobCommandOutput): TuningJobSnapshot {
  const best = res.BestTrainingJob;
  return {
    tuningJobName: res.HyperParameterTuningJobName ?? '',
    status: res.HyperParameterTuningJobStatus as TuningJobSnapshot['status'],
    counters: counters(res),
    bestObjective: best?.FinalHyperParameterTuningJobObjectiveMetric?.Value ?? null,
    bestTrainingJobName: best?.TrainingJobName ?? null,
    ...(res.FailureReason ? { failureReason: res.FailureReason } : {}),
  };
}

/** Creates the tuning activities. */
export function createTuningActivities(deps: ActivityDeps) {
  const sm = deps.clients.sagemaker;
  const describe = (name: string) =>
    aws(`DescribeHyperParameterTuningJob ${name}`, () =>
      sm.send(new DescribeHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
    );

  return {
    /** CreateHyperParameterTuningJob; on ResourceInUse re-attaches to the job when it carries our workflow ID tag. */
    async createTuningJob(raw: CreateTuningJobInput): Promise<CreateTuningJobOutput> {
      const input = parseInput(CreateTuningJobInput, raw, 'createTuningJob input');
      const name = input.tuningJobName;
      try {
        const res = await aws(`CreateHyperParameterTuningJob ${name}`, () =>
          sm.send(new CreateHyperParameterTuningJobCommand(tuningJobRequest(input))),
        );
        return { tuningJobArn: res.HyperParameterTuningJobArn ?? '', reattached: false };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await describe(name);
      const arn = existing.HyperParameterTuningJobArn ?? '';
      await assertOwned(deps, arn, input.workflowId, `Tuning job ${name}`);
      return { tuningJobArn: arn, reattached: true };
    },

    /**
     * Polls DescribeHyperParameterTuningJob, heartbeating {status, counters, bestObjective}; returns only when the
     * status differs from `last.status` or is terminal, so trial progress never lands in workflow history.
     */
    async waitForTuningJob(input: WaitTuningJobInput): Promise<TuningJobSnapshot> {
      return pollUntil(deps, input.pollIntervalSeconds, async () => {
        const snap = snapshot(await describe(input.tuningJobName));
        const changed = input.last === null || input.last.status !== snap.status;
        return changed || TERMINAL_TUNING_STATUSES.includes(snap.status)
          ? { done: true, value: snap }
          : { done: false, details: snap };
      });
    },

    /** The best trial with its model artefact; TuningFailed (non-retryable) when no trial succeeded. */
    async describeTuningResult(raw: DescribeTuningResultInput): Promise<TuningResult> {
      const input = parseInput(DescribeTuningResultInput, raw, 'describeTuningResult input');
      const res = await describe(input.tuningJobName);
      const best = res.BestTrainingJob;
      const value = best?.FinalHyperParameterTuningJobObjectiveMetric?.Value;
      if (!best || value === undefined || best.TrainingJobStatus !== 'Completed') {
        throw await noTrialSucceeded(res, input.maxFailureReasons);
      }
      const job = await aws(`DescribeTrainingJob ${best.TrainingJobName}`, () =>
        sm.send(new DescribeTrainingJobCommand({ TrainingJobName: best.TrainingJobName })),
      );
      return {
        tuningJobName: input.tuningJobName,
        bestTrainingJobName: best.TrainingJobName ?? '',
        tunedHyperparameters: best.TunedHyperParameters ?? {},
        hyperparameters: {
          ...input.staticHyperparameters,
          ...(job.HyperParameters ?? {}),
          ...(best.TunedHyperParameters ?? {}),
        },
        objectiveMetric:
          best.FinalHyperParameterTuningJobObjectiveMetric?.MetricName ??
          res.HyperParameterTuningJobConfig?.HyperParameterTuningJobObjective?.MetricName ??
          '',
        objectiveValue: value,
        modelArtifactS3Uri: job.ModelArtifacts?.S3ModelArtifacts ?? '',
        counters: counters(res),
      };
    },

    /** StopHyperParameterTuningJob; a job that is already terminal or stopping (or gone) is left alone. */
    async stopTuningJob(input: StopTuningJobInput): Promise<StopTuningJobOutput> {
      const name = input.tuningJobName;
      let status: string;
      try {
        status = (await describe(name)).HyperParameterTuningJobStatus ?? 'Unknown';
      } catch (err) {
        if (isNotFound(err)) return { stopped: false, status: 'NotFound' };
        throw err;
      }
      if (status !== 'InProgress') return { stopped: false, status };
      try {
        await aws(`StopHyperParameterTuningJob ${name}`, () =>
          sm.send(new StopHyperParameterTuningJobCommand({ HyperParameterTuningJobName: name })),
        );
        return { stopped: true, status: 'Stopping' };
      } catch (err) {
        // It finished between the describe and the stop: SageMaker answers ValidationException.
        const now = (await describe(name)).HyperParameterTuningJobStatus ?? 'Unknown';
        if (now !== 'InProgress') return { stopped: false, status: now };
        throw err;
      }
    },
  };

  /**
   * Builds the TuningFailed failure: the job's own reason plus the distinct trial failure reasons, most common first.
   */
  async function noTrialSucceeded(res: DescribeHyperParameterTuningJobCommandOutput, maxReasons: number) {
    const name = res.HyperParameterTuningJobName ?? '';
    const reasons = new Map<string, number>();
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await aws(`ListTrainingJobsForHyperParameterTuningJob ${name}`, () =>
        sm.send(
          new ListTrainingJobsForHyperParameterTuningJobCommand({
            HyperParameterTuningJobName: name,
            MaxResults: 100,
            NextToken: token,
          }),
        ),
      );
      for (const s of page.TrainingJobSummaries ?? []) {
        const reason =
          s.FailureReason ??
          (s.TrainingJobStatus !== 'Completed' ? `${s.TrainingJobStatus} without a reason` : undefined);
        if (reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      token = page.NextToken;
    } while (token && ++pages < 10);
    const c = counters(res);
    const top = [...reasons.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, maxReasons);
    const summary = top.length > 0 ? top.map(([r, n]) => `${n}× ${r}`).join('; ') : 'no trial reported a reason';
    const own = res.FailureReason ? ` FailureReason: ${res.FailureReason}.` : '';
    const message =
      `Tuning job ${name} (${res.HyperParameterTuningJobStatus}): no trial succeeded ` +
      `(completed ${c.completed}, failed ${c.nonRetryableError + c.retryableError}, stopped ${c.stopped}).${own}` +
      ` Trial failures: ${summary}`;
    return failure(ErrorType.TuningFailed, message, { counters: c, reasons: Object.fromEntries(top) });
  }
}
