/** What the local AWS holds for one pipeline run, found by the deterministic names its workflow ID gives it. */
import {
  DescribeEndpointCommand,
  ListEndpointsCommand,
  ListHyperParameterTuningJobsCommand,
  ListModelPackagesCommand,
  ListTrainingJobsCommand,
  type SageMakerClient,
  type TrainingJobSummary,
} from '@aws-sdk/client-sagemaker';
import { runResourceNames, sanitize } from '../contracts/names';

/** A run's resources: "nothing duplicated" means one training job, one tuning job, one package version. */
export interface RunAudit {
  /** The run's own training jobs (its tuning job's trials apart). */
  trainingJobs: TrainingJobSummary[];
  tuningJobs: number;
  /** The training jobs of the run's tuning job. */
  trials: TrainingJobSummary[];
  /** Versions in `modelPackageGroup`, when asked. */
  packageVersions: number;
  /** `endpointName`'s status and config, when asked and it exists. */
  endpoint?: { status: string; config?: string };
}

/** Lists what the local SageMaker holds for the run `workflowId`. */
export async function auditRun(
  sm: SageMakerClient,
  workflowId: string,
  opts: { modelPackageGroup?: string; endpointName?: string } = {},
): Promise<RunAudit> {
  const prefix = sanitize(workflowId);
  const names = runResourceNames(workflowId);
  const all: TrainingJobSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sm.send(new ListTrainingJobsCommand({ MaxResults: 100, NextToken }));
    all.push(...(page.TrainingJobSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  const mine = all.filter((j) => j.TrainingJobName?.startsWith(prefix));
  const tuning =
    (await sm.send(new ListHyperParameterTuningJobsCommand({ MaxResults: 100, NameContains: names.tuningJob })))
      .HyperParameterTuningJobSummaries ?? [];
  let packageVersions = 0;
  if (opts.modelPackageGroup) {
    const listed = await sm.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: opts.modelPackageGroup, MaxResults: 100 }),
    );
    packageVersions = (listed.ModelPackageSummaryList ?? []).length;
  }
  let endpoint: RunAudit['endpoint'];
  if (opts.endpointName) {
    const list = (await sm.send(new ListEndpointsCommand({ NameContains: opts.endpointName }))).Endpoints ?? [];
    if (list.some((e) => e.EndpointName === opts.endpointName)) {
      const d = await sm.send(new DescribeEndpointCommand({ EndpointName: opts.endpointName }));
      endpoint = { status: d.EndpointStatus ?? 'unknown', config: d.EndpointConfigName };
    }
  }
  return {
    trainingJobs: mine.filter((j) => !j.TrainingJobName?.startsWith(names.tuningJob)),
    tuningJobs: tuning.length,
    trials: mine.filter((j) => j.TrainingJobName?.startsWith(names.tuningJob)),
    packageVersions,
    endpoint,
  };
}
