/**
 * Detection latency: the real trainModel workflow and its real waiting activity (activities/training.ts, polling.ts)
 * against an HTTP SageMaker stub whose job statuses the bench flips at random moments. For each change: how long
 * until a DescribeTrainingJob saw it, and until the workflow acted on it (scheduled its next wait, or completed);
 * plus how many Describe calls a job costs per hour.
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { tsToMs } from '@temporalio/common/lib/time';
import { createActivities, type AwsClients } from '../../activities';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../local/harness/temporal-test-env';
import { trainModel } from '../../workflows';
import { sleep } from '../../local/shared/procs';
import { writeResult } from '../lib/results';
import type { Command } from 'commander';
import { positiveInt } from '../../worker/command-line';
import { PRODUCTION_POLL_INTERVAL_S } from './lib/bench-spec';
import { startSageMakerStub, type StubJob } from './lib/sagemaker-stub-server';
import { trainingDefinition } from '../../local/harness/training-definition';

export const about =
  'delay from a SageMaker status change to the workflow acting on it (p50/p99/max), and DescribeTrainingJob ' +
  'calls per job-hour, at the production poll interval';

const BAR_SLACK_S = 2;
const BAR_CALLS_PER_HOUR = 60;

interface Change {
  job: string;
  kind: 'InProgress/Starting -> InProgress/Training' | 'InProgress/Training -> Completed';
  at: number;
  seenS: number;
  actedS: number;
}

const definition = trainingDefinition({
  channels: { train: 's3://b/train/' },
  outputS3Uri: 's3://b/out/',
  maxRuntimeSeconds: 3 * 86400,
  hyperparameters: {},
});

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** First describe of `job` at or after `t` (ms), as seconds after `t`. */
function seenAfter(job: StubJob, t: number): number {
  const d = job.describes.find((x) => x >= t);
  if (d === undefined) throw new Error(`job ${job.name}: no Describe after the change at ${new Date(t).toISOString()}`);
  return (d - t) / 1000;
}

/** The bench's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--jobs <n>', 'simulated training jobs', positiveInt, 20)
    .option('--interval <seconds>', 'poll interval', positiveInt, PRODUCTION_POLL_INTERVAL_S);
}

export async function run(opts: { jobs: number; interval: number }): Promise<void> {
  const jobs = opts.jobs;
  const interval = opts.interval;
  const stub = await startSageMakerStub();
  const env = await createDevServerEnv();
  const changes: Change[] = [];
  const lifetimes: { job: StubJob; createdAt: number; endedAt: number }[] = [];
  try {
    const sagemaker = new SageMakerClient({
      region: 'us-east-1',
      endpoint: stub.endpoint,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      maxAttempts: 3,
    });
    const activities = createActivities({ clients: { sagemaker } as unknown as AwsClients });
    const taskQueue = uniqueTaskQueue('bench-detection');
    const worker = await createTestWorker(env, taskQueue, {
      createTrainingJob: activities.createTrainingJob,
      waitForTrainingJob: activities.waitForTrainingJob,
      stopTrainingJob: activities.stopTrainingJob,
    });
    const follow = async (n: number) => {
      const name = `detection-job-${n}`;
      const handle = await env.client.workflow.start(trainModel, {
        taskQueue,
        workflowId: `detection-${process.pid}-${n}`,
        args: [{ trainingJobName: name, pollIntervalSeconds: interval, objectiveMetric: 'val_loss', definition }],
      });
      while (!stub.jobs.get(name)?.describes.length) await sleep(100);
      const job = stub.jobs.get(name) as StubJob;
      const createdAt = job.changedAt;
      // A uniformly random moment within one poll interval: every phase against the poll grid is equally likely.
      await sleep(Math.random() * interval * 1000);
      const t1 = stub.set(name, 'InProgress', 'Training');
      while (!job.describes.some((d) => d >= t1)) await sleep(100);
      await sleep(Math.random() * interval * 1000);
      const t2 = stub.set(name, 'Completed', 'Completed');
      await handle.result();
      const events = (await handle.fetchHistory()).events ?? [];
      const time = (e: (typeof events)[number]) => tsToMs(e.eventTime);
      const nextWait = events.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForTrainingJob' && time(e) >= t1,
      );
      const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
      if (!nextWait || !completed)
        throw new Error(`workflow for ${name}: no next wait after the first change or no completion in its history`);
      changes.push({
        job: name,
        kind: 'InProgress/Starting -> InProgress/Training',
        at: t1,
        seenS: seenAfter(job, t1),
        actedS: (time(nextWait) - t1) / 1000,
      });
      changes.push({
        job: name,
        kind: 'InProgress/Training -> Completed',
        at: t2,
        seenS: seenAfter(job, t2),
        actedS: (time(completed) - t2) / 1000,
      });
      lifetimes.push({ job, createdAt, endedAt: job.describes.at(-1) as number });
    };
    await worker.runUntil(Promise.all(Array.from({ length: jobs }, (_, n) => follow(n))));
  } finally {
    await env.teardown();
    await stub.close();
  }

  // Describe cadence: gaps between consecutive calls for one job. A gap well under the interval is an extra call
  // (a new wait activity describing at once what the previous one just saw).
  const gaps = lifetimes.flatMap(({ job }) =>
    job.describes.slice(1).map((d, i) => (d - (job.describes[i] as number)) / 1000),
  );
  const pollGaps = gaps.filter((g) => g >= interval / 2);
  const extra = gaps.length - pollGaps.length;
  const calls = lifetimes.reduce((n, l) => n + l.job.describes.length, 0);
  const jobHours = lifetimes.reduce((h, l) => h + (l.endedAt - l.createdAt) / 3_600_000, 0);
  const steadyPerHour = 3600 / quantile(pollGaps, 0.5);
  const extraPerChange = extra / changes.length;
  // A job's five status changes (Starting, Downloading, Training, Uploading, Completed), over one hour at this cadence.
  const oneHourJob = 3600 / interval + 5 * extraPerChange;
  const bound = interval + BAR_SLACK_S;

  const row = (label: string, xs: number[]) => [
    label,
    xs.length,
    quantile(xs, 0.5).toFixed(2),
    quantile(xs, 0.99).toFixed(2),
    Math.max(...xs).toFixed(2),
    bound,
    Math.max(...xs) <= bound ? 'met' : 'NOT met',
  ];
  const acted = changes.map((c) => c.actedS);
  writeResult({
    name: 'detection',
    title: `Detection latency and Describe calls, poll interval ${interval} s`,
    command: `npm run bench -- detection --jobs ${jobs} --interval ${interval}`,
    columns: ['measure', 'changes', 'p50 (s)', 'p99 (s)', 'max (s)', 'anchor: interval + 2 s', 'bar'],
    rows: [
      row(
        'status change -> first Describe that saw it',
        changes.map((c) => c.seenS),
      ),
      row('status change -> workflow acted (all)', acted),
      row(
        '  non-terminal (Starting -> Training): next wait scheduled',
        changes.filter((c) => !c.kind.endsWith('Completed')).map((c) => c.actedS),
      ),
      row(
        '  terminal (-> Completed): workflow completed',
        changes.filter((c) => c.kind.endsWith('Completed')).map((c) => c.actedS),
      ),
    ],
    notes: [
      `**Bar: a state change is acted on within the poll interval + ${BAR_SLACK_S} s (${bound} s); at most ` +
        `${BAR_CALLS_PER_HOUR} Describe calls per job-hour.** ` +
        `Measured: worst delay to action ${Math.max(...acted).toFixed(2)} s over ${changes.length} changes ` +
        `(${Math.max(...acted) <= bound ? 'met' : 'NOT met'}).`,
      `**Describe calls.** ${calls} DescribeTrainingJob calls over ${(jobHours * 60).toFixed(1)} job-minutes ` +
        `(${(calls / jobHours).toFixed(0)} per job-hour over these short jobs, each starting with one call at ` +
        `creation). ` +
        `Between polls the median gap is ${quantile(pollGaps, 0.5).toFixed(2)} s (min ` +
        `${Math.min(...pollGaps).toFixed(2)} s), i.e. ${steadyPerHour.toFixed(1)} calls per job-hour while a ` +
        `status holds; ` +
        `${extra} call(s) came less than half an interval after the previous one (${extraPerChange.toFixed(2)} ` +
        `per status change). ` +
        `A one-hour job with its five status changes therefore costs about ${oneHourJob.toFixed(1)} calls ` +
        `(${oneHourJob <= BAR_CALLS_PER_HOUR ? 'met' : 'NOT met'} against ${BAR_CALLS_PER_HOUR}); the history ` +
        `bench counts the same calls exactly over 3 and 28 simulated days.`,
      `**How it was measured.** ${jobs} trainModel workflows on a Temporal dev server, each running the real ` +
        `createTrainingJob/waitForTrainingJob activities with the AWS SDK client against an HTTP SageMaker stub in ` +
        `the bench process (bench/suite/lib/sagemaker-stub-server.ts, AWS JSON 1.1). ` +
        `After a job's wait has described it once, the bench flips it to InProgress/Training at a uniformly ` +
        `random moment within one interval, and once that was seen, to Completed at another random moment. ` +
        '"Seen" is the stub\'s clock at the first Describe after the flip; "acted" is the server\'s timestamp ' +
        "of the workflow's next ActivityTaskScheduled (waitForTrainingJob) or of WorkflowExecutionCompleted, on " +
        "the same machine's clock. " +
        `The interval is production's default (\`pollIntervalSeconds\` ${PRODUCTION_POLL_INTERVAL_S} s in ` +
        `contracts/pipeline-spec.ts) unless --interval says otherwise.`,
      'For comparison, how often SageMaker Pipelines or Step Functions `.sync` integrations describe a job ' +
        'while they wait was not found in their documentation, so no figure is given.',
    ],
  });
}
