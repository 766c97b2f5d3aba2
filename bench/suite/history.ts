/**
 * History size of a full pipeline (100-trial tuner) for several simulated job durations: migrationPipeline and its
 * children on a Temporal dev server, the training and tuning waits run by the real polling activities against a
 * scripted SageMaker whose jobs stay InProgress for days of polls (sleep injected as instant), the other steps by
 * the scripted fakes. Per workflow: events and bytes as the server counts them (DescribeWorkflowExecution).
 */
import { createActivities, type AwsClients } from '../../activities';
import { childWorkflowId } from '../../contracts/names';
import { PIPELINE_STEPS } from '../../contracts/pipeline-plan';
import { createFakeActivities } from '../../testing/scripted-activities';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';
import { migrationPipeline } from '../../workflows';
import { writeResult } from '../lib/results';
import type { Command } from 'commander';
import { durationSeconds, listOf, positiveInt } from '../../worker/command-line';
import { benchSpec, PRODUCTION_POLL_INTERVAL_S } from './lib/bench-spec';
import { simulateSageMaker } from './lib/simulated-sagemaker';

export const about =
  'history events and bytes per workflow of a full pipeline (100-trial tuner) at 1 h / 3 d / 28 d of simulated ' +
  'polling, vs Temporal and Step Functions limits';

// Anchors (docs.temporal.io/workflow-execution/limits;
// docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html).
const TEMPORAL_MAX_EVENTS = 51_200;
const TEMPORAL_WARN_EVENTS = 10_240;
const TEMPORAL_MAX_BYTES = 50 * 2 ** 20;
const TEMPORAL_WARN_BYTES = 10 * 2 ** 20;
const STEP_FUNCTIONS_MAX_EVENTS = 25_000;
const BAR_EVENTS = 500;
/**
 * Events a naive wait adds per poll in Temporal: a Describe activity (scheduled, started, completed), a workflow
 * task to see its result (3), a timer (started, fired) and a workflow task after it (3).
 */
const NAIVE_TEMPORAL_EVENTS_PER_POLL = 11;
/**
 * In Step Functions, a Task + Choice + Wait poll loop: Task 5 events (entered, scheduled, started, succeeded, exited),
 * Choice 2, Wait 2.
 */
const NAIVE_SFN_EVENTS_PER_POLL = 9;

interface Measured {
  label: string;
  polls: number;
  rows: { workflow: string; events: number; bytes: number; describes: number }[];
  wallS: number;
}

async function measure(
  env: Awaited<ReturnType<typeof createDevServerEnv>>,
  label: string,
  seconds: number,
  trials: number,
): Promise<Measured> {
  const polls = Math.round(seconds / PRODUCTION_POLL_INTERVAL_S);
  const sim = simulateSageMaker(polls, trials);
  try {
    const real = createActivities({
      clients: { sagemaker: sim.client } as unknown as AwsClients,
      sleep: async () => undefined,
    });
    const fakes = createFakeActivities();
    const counters = { completed: trials, inProgress: 0, retryableError: 0, nonRetryableError: 0, stopped: 0 };
    const activities = {
      ...fakes.impl,
      createTrainingJob: real.createTrainingJob,
      waitForTrainingJob: real.waitForTrainingJob,
      createTuningJob: real.createTuningJob,
      waitForTuningJob: real.waitForTuningJob,
      describeTuningResult: async (i: { tuningJobName: string }) => ({
        ...((await fakes.impl.describeTuningResult?.(i as never)) as object),
        counters,
      }),
    };
    const taskQueue = uniqueTaskQueue('bench-history');
    const workflowId = `bench-history-${label}-${process.pid}`;
    const worker = await createTestWorker(env, taskQueue, activities);
    const started = Date.now();
    // With both optional steps (a Processing and a Transform job), so the pipeline's history is the longest it gets.
    const spec = {
      ...benchSpec(trials, Math.min(28 * 86400, seconds + 3600)),
      prepareData: { enabled: true, arguments: ['--source', 'builtin'] },
      evaluation: { enabled: true },
    };
    const result = await worker.runUntil(
      env.client.workflow.execute(migrationPipeline, { taskQueue, workflowId, args: [spec] }),
    );
    if (result.outcome !== 'deployed')
      throw new Error(`pipeline ${workflowId} ended ${result.outcome}: ${result.message}`);
    const rows = [];
    for (const [name, id] of [
      ['migrationPipeline', workflowId],
      ...PIPELINE_STEPS.map((s) => [s, childWorkflowId(workflowId, s)]),
    ] as [string, string][]) {
      const d = await env.client.workflow
        .getHandle(id)
        .describe()
        .catch(() => null);
      if (!d) continue; // an optional step the spec leaves off (prepareData, evaluateModel)
      const describes = name === 'trainModel' ? sim.counts.training : name === 'tuneModel' ? sim.counts.tuning : 0;
      rows.push({ workflow: name, events: d.historyLength, bytes: d.historySize ?? 0, describes });
    }
    return { label, polls, rows, wallS: (Date.now() - started) / 1000 };
  } finally {
    sim.restore();
  }
}

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** Which anchors the naive designs' largest workflow would cross, per duration (from the computed columns). */
function crossings(runs: Measured[]): string {
  return runs
    .map((r) => {
      const worst = Math.max(...r.rows.map((w) => w.events + NAIVE_TEMPORAL_EVENTS_PER_POLL * w.describes));
      const sfn = Math.max(...r.rows.map((w) => NAIVE_SFN_EVENTS_PER_POLL * w.describes));
      const t =
        worst >= TEMPORAL_MAX_EVENTS
          ? "past Temporal's hard limit"
          : worst >= TEMPORAL_WARN_EVENTS
            ? "past Temporal's warning"
            : "under Temporal's warning";
      const s = sfn >= STEP_FUNCTIONS_MAX_EVENTS ? 'past' : 'under';
      return (
        `At ${r.label} the naive Temporal wait's largest workflow reaches ${worst.toLocaleString('en-US')} events ` +
        `(${t}) and the Step Functions loop ${sfn.toLocaleString('en-US')} (${s} its cap).`
      );
    })
    .join(' ');
}

/** The bench's options. */
export function options(cmd: Command): Command {
  return cmd
    .option(
      '--durations <list>',
      'job durations to simulate, comma-separated (e.g. 1h,3d,28d)',
      (v: string) => (listOf(durationSeconds)(v), v.split(',').map((d) => d.trim())),
      ['1h', '3d', '28d'],
    )
    .option('--trials <n>', 'trials of the tuner', positiveInt, 100);
}

export async function run(opts: { durations: string[]; trials: number }): Promise<void> {
  const durations = opts.durations;
  const trials = opts.trials;
  const env = await createDevServerEnv();
  const runs: Measured[] = [];
  try {
    for (const d of durations) {
      const r = await measure(env, d, durationSeconds(d), trials);
      console.log(
        `[history] ${d}: ${r.polls} polls per wait, ${r.rows.reduce((n, x) => n + x.events, 0)} events in all, ` +
          `${r.wallS.toFixed(1)} s`,
      );
      runs.push(r);
    }
  } finally {
    await env.teardown();
  }

  const rows: (string | number)[][] = [];
  for (const r of runs) {
    for (const w of r.rows) {
      const naive = w.describes ? w.events + NAIVE_TEMPORAL_EVENTS_PER_POLL * w.describes : w.events;
      const sfn = w.describes ? NAIVE_SFN_EVENTS_PER_POLL * w.describes : 0;
      rows.push([
        r.label,
        w.workflow,
        w.events,
        kib(w.bytes),
        w.describes,
        w.describes ? naive : '-',
        w.describes ? sfn : '-',
      ]);
    }
    const events = r.rows.reduce((n, x) => n + x.events, 0);
    const bytes = r.rows.reduce((n, x) => n + x.bytes, 0);
    const describes = r.rows.reduce((n, x) => n + x.describes, 0);
    const max = Math.max(...r.rows.map((x) => x.events));
    rows.push([
      r.label,
      `**all ${r.rows.length} (largest one: ${max})**`,
      events,
      kib(bytes),
      describes,
      events + NAIVE_TEMPORAL_EVENTS_PER_POLL * describes,
      NAIVE_SFN_EVENTS_PER_POLL * describes,
    ]);
  }
  const totals = runs.map((r) => r.rows.reduce((n, x) => n + x.events, 0));
  writeResult({
    name: 'history',
    title: `History size of a full pipeline with a ${trials}-trial tuner, by simulated job duration`,
    command: `npm run bench -- history --durations ${durations.join(',')} --trials ${trials}`,
    columns: [
      'simulated wait per job',
      'workflow',
      'events (measured)',
      'history bytes (measured)',
      'Describe calls (measured)',
      'naive: one activity per poll, events (computed)',
      'Step Functions poll loop, events (computed)',
    ],
    rows,
    notes: [
      `**Bar: under ${BAR_EVENTS} events for the whole run, independent of job duration.** Measured: ` +
        `${runs.map((r, i) => `${totals[i]} events at ${r.label}`).join(', ')} ` +
        `(${totals.every((t) => t < BAR_EVENTS) ? 'met' : 'NOT met'}; ` +
        (new Set(totals).size === 1
          ? 'identical at every duration'
          : `spread ${Math.min(...totals)}-${Math.max(...totals)}`) +
        `). Each of the ${runs[0]?.rows.length ?? 0} executions (the pipeline and its steps, prepareData and ` +
        `evaluateModel included) has its own history; the bar is held by their sum.`,
      `**Anchors.** Temporal: ${TEMPORAL_MAX_EVENTS.toLocaleString('en-US')} events or 50 MB per workflow ` +
        `execution (${TEMPORAL_MAX_BYTES.toLocaleString('en-US')} bytes) is a hard limit, with a warning at ` +
        `${TEMPORAL_WARN_EVENTS.toLocaleString('en-US')} events or 10 MB ` +
        `(${TEMPORAL_WARN_BYTES.toLocaleString('en-US')} bytes) (docs.temporal.io/workflow-execution/limits). ` +
        `AWS Step Functions: a hard quota of ${STEP_FUNCTIONS_MAX_EVENTS.toLocaleString('en-US')} events in one ` +
        `execution's history (docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html).`,
      `**How it was measured.** One migrationPipeline per duration on a Temporal dev server ` +
        `(createDevServerEnv), production poll interval ${PRODUCTION_POLL_INTERVAL_S} s. trainModel and tuneModel ` +
        `run the real createTrainingJob/waitForTrainingJob and createTuningJob/waitForTuningJob activities ` +
        `(activities/training.ts, tuning.ts, polling.ts) against a scripted SageMaker ` +
        `(bench/suite/lib/simulated-sagemaker.ts): ` +
        `the training job is InProgress for 4 secondary statuses with Training lasting the simulated duration ` +
        `(one Describe per ${PRODUCTION_POLL_INTERVAL_S} s poll), the tuning job InProgress for the same ` +
        `duration while its ${trials} trials complete one by one (counters and best objective move, the status ` +
        `does not). ` +
        'The poll sleep is injected as instant, so days of polls take seconds; everything else (heartbeats, the ' +
        'activity returning only on a status change, the workflow loop) is the production code. The other steps ' +
        'use the scripted fakes (testing/scripted-activities.ts); describeTuningResult reports the 100 ' +
        "trials. Events and bytes are the server's own historyLength and historySizeBytes.",
      `**Naive columns are computed, not measured**: the same run if each poll were its own activity plus a ` +
        `workflow timer (measured events + ${NAIVE_TEMPORAL_EVENTS_PER_POLL} per Describe call: activity ` +
        `scheduled/started/completed, timer started/fired, two workflow tasks of 3 events), and a Step Functions ` +
        `Task + Choice + Wait poll loop (${NAIVE_SFN_EVENTS_PER_POLL} events per poll). ` +
        crossings(runs) +
        ' The Step Functions column is a hand-written poll loop, not its `.sync` SageMaker integration (how ' +
        'many events `.sync` records while it waits was not found documented, so it is not shown).',
    ],
  });
}
