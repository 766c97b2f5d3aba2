/**
 * Worker capacity: N migrationPipeline runs waiting on their training jobs in ONE worker process. The worker is a
 * child process (bench/suite/lib/capacity-worker.ts) with production's settings and the real training activities
 * against an HTTP SageMaker stub whose jobs stay InProgress; once every job has been described, the worker's and the
 * Temporal server's CPU and RSS are sampled from /proc over a window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../../local/stack/config';
import { sleep } from '../../local/shared/procs';
import { DEFAULT_MAX_CACHED_WORKFLOWS, DEFAULT_MAX_CONCURRENT_ACTIVITIES, loadConfig } from '../../worker/config';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags';
import { bundleWorkflows, WORKFLOWS_PATH } from '../../worker/workflow-bundle';
import { migrationPipeline } from '../../workflows';
import { writeResult } from '../lib/results';
import { type Command, InvalidArgumentError } from 'commander';
import { listOf, positiveInt } from '../../worker/command-line';
import { benchSpec, PRODUCTION_POLL_INTERVAL_S } from './lib/bench-spec';
import { startDevServer } from './lib/dev-server';
import { cpuSeconds, memory, residentBreakdown, sampleUsage, type Usage } from './lib/proc-stats';
import { startSageMakerStub, type SageMakerStub } from './lib/sagemaker-stub-server';
import { startSqsStub, type SqsStub } from './lib/sqs-stub-server';
import { trainingEvent } from './lib/training-event';
import { WORKFLOW_ID_TAG } from '../../contracts/task-queue';

export const about =
  'CPU and RSS of one worker process holding 100 and 1,000 pipelines waiting on training jobs (bar: < 1 core, < 1 GiB)';

const BAR_CORES = 1;
const BAR_RSS = 2 ** 30;
const TASK_QUEUE = 'bench-capacity';
const START_CONCURRENCY = 20;

/** How the bundle lays out modules: production's (zod and contracts shared) or the anchor (evaluated per run). */
type Layout = 'shared' | 'per-run';

interface Outcome {
  layout: Layout;
  pipelines: number;
  startupS: number;
  worker: Usage;
  server: Usage;
  workerPeakRss: number;
  describesPerS: number;
  jobsPolledInWindow: number;
  /** The machine's 1-minute load average at the end of the window (other work on the shared machine included). */
  loadAverage: number;
  /** The worker's last own memory line (heap, young and old generation, external) before it stopped. */
  workerMemory: string;
  /** CPU seconds the worker used from its start until every pipeline was waiting (replays on cache misses included). */
  startupCpuS: number;
  /** The worker's resident memory at the end of the window: anonymous vs file-backed, largest anonymous mappings. */
  resident: { anon: number; file: number; topAnon: number[] };
  /** The worker's workflow cache size (WORKER_MAX_CACHED_WORKFLOWS or its default). */
  cachedWorkflows: number;
  /** With --relay: state-change events enqueued during the window, and those the relay signalled and deleted. */
  events?: { sent: number; relayed: number };
}

const mib = (b: number) => Math.round(b / 2 ** 20);

async function startWorker(
  address: string,
  sagemakerEndpoint: string,
  sqs: SqsStub | undefined,
  bundlePath: string,
  heapMb: number | undefined,
  logFile: string,
): Promise<ChildProcess> {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      // Production's node flags (the worker image's ENTRYPOINT, `npm run worker`).
      ...WORKER_NODE_FLAGS,
      ...(heapMb ? [`--max-old-space-size=${heapMb}`] : []),
      '--import',
      'tsx',
      path.join(__dirname, 'lib/capacity-worker.ts'),
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
        WORKFLOW_BUNDLE_PATH: bundlePath,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL_SAGEMAKER: sagemakerEndpoint,
        // Nothing else may reach a real AWS: every other activity is a fake.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        // --relay: production's relay (worker/main.ts starts it when the queue is set) against the bench's queue.
        ...(sqs ? { PIPELINE_EVENTS_QUEUE_URL: sqs.queueUrl, AWS_ENDPOINT_URL_SQS: sqs.endpoint } : {}),
      },
    },
  );
  fs.closeSync(out);
  const deadline = Date.now() + 180_000;
  while (!fs.readFileSync(logFile, 'utf8').includes('capacity-worker ready')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the capacity worker did not start (log: ${logFile})`);
    await sleep(250);
  }
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  if (!(await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]))) child.kill('SIGKILL');
}

/**
 * --relay: during the window every job moves to InProgress/Training and its documented event is enqueued, spread
 * evenly over the window, so the relay signals every waiting step once and each step describes once (docs/events.md).
 */
async function sendEvents(stub: SageMakerStub, sqs: SqsStub, windowS: number): Promise<number> {
  const jobs = [...stub.jobs.values()];
  const gapMs = (windowS * 1000) / Math.max(1, jobs.length);
  for (const job of jobs) {
    stub.set(job.name, 'InProgress', 'Training');
    sqs.queue.enqueue(trainingEvent(job.name, job.tags?.[WORKFLOW_ID_TAG] ?? '', 'InProgress', 'Training'));
    await sleep(gapMs);
  }
  return jobs.length;
}

async function measure(
  layout: Layout,
  pipelines: number,
  sampleS: number,
  ramp: number,
  heapMb: number | undefined,
  dir: string,
  bundlePath: string,
  relay: boolean,
): Promise<Outcome> {
  const stub = await startSageMakerStub();
  const sqs = relay ? await startSqsStub() : undefined;
  const server = await startDevServer(path.join(dir, `temporal-${layout}-${pipelines}.log`));
  const logFile = path.join(dir, `worker-${layout}-${pipelines}.log`);
  let worker: ChildProcess | undefined;
  let connection: Connection | undefined;
  try {
    worker = await startWorker(server.address, stub.endpoint, sqs, bundlePath, heapMb, logFile);
    const workerPid = worker.pid as number;
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const spec = benchSpec(4, 3 * 86400);
    const started = Date.now();
    let startedCount = 0;
    // All waiting: every pipeline's training job exists and its wait has described it at least once.
    let lastLog = 0;
    for (;;) {
      const polled = [...stub.jobs.values()].filter((j) => j.describes.length > 0).length;
      if (polled >= pipelines) break;
      // Ramp: at most `ramp` pipelines between their start and their training wait. A burst of all N at once on a
      // small machine only queues workflow tasks past their 10 s timeout, and the retries then crowd out progress.
      if (startedCount < pipelines && startedCount - polled < ramp) {
        const batch = Array.from(
          { length: Math.min(START_CONCURRENCY, pipelines - startedCount, ramp - (startedCount - polled)) },
          (_, k) => startedCount + k,
        );
        startedCount += batch.length;
        await Promise.all(
          batch.map((n) =>
            client.workflow.start(migrationPipeline, {
              taskQueue: TASK_QUEUE,
              workflowId: `capacity-${pipelines}-${n}`,
              args: [spec],
            }),
          ),
        );
        continue;
      }
      if (Date.now() - lastLog > 15_000) {
        console.log(
          `[worker-capacity] ${pipelines}: ${startedCount} started, ${stub.jobs.size} jobs created, ${polled} ` +
            `waiting, worker RSS ${mib(memory(workerPid).rss)} MiB after ` +
            `${Math.round((Date.now() - started) / 1000)} s`,
        );
        lastLog = Date.now();
      }
      if (worker.exitCode !== null) throw new Error(`the capacity worker exited (log: ${dir})`);
      // Generous: on a 2-core machine shared with other work 1,000 pipelines took 25 min to start.
      if (Date.now() - started > 60 * 60_000)
        throw new Error(`only ${polled} of ${pipelines} pipelines reached their training wait in 60 min`);
      await sleep(500);
    }
    const startupS = (Date.now() - started) / 1000;
    const startupCpuS = cpuSeconds(workerPid);
    console.log(`[worker-capacity] ${pipelines}: all waiting after ${startupS.toFixed(0)} s; sampling ${sampleS} s`);
    await sleep(5_000);
    const windowStart = Date.now();
    const describes0 = stub.describeCount();
    const [w, s, sent] = await Promise.all([
      sampleUsage(workerPid, sampleS),
      sampleUsage(server.pid, sampleS),
      // The last event goes out before the window's end, so its signal and Describe fall inside it.
      sqs ? sendEvents(stub, sqs, sampleS * 0.8) : 0,
    ]);
    const windowEnd = Date.now();
    const jobsPolledInWindow = [...stub.jobs.values()].filter((j) =>
      j.describes.some((t) => t >= windowStart && t <= windowEnd),
    ).length;
    return {
      layout,
      pipelines,
      startupS,
      worker: w,
      server: s,
      workerPeakRss: memory(workerPid).peak,
      describesPerS: (stub.describeCount() - describes0) / ((windowEnd - windowStart) / 1000),
      jobsPolledInWindow,
      loadAverage: os.loadavg()[0] ?? 0,
      workerMemory: lastMemoryLine(logFile),
      startupCpuS,
      resident: residentBreakdown(workerPid),
      cachedWorkflows: loadConfig({ ...process.env, AWS_REGION: 'us-east-1' }).maxCachedWorkflows,
      events: sqs ? { sent, relayed: sqs.queue.deleted } : undefined,
    };
  } finally {
    await connection?.close().catch(() => undefined);
    if (worker) await stopWorker(worker);
    await server.stop();
    await stub.close();
    await sqs?.close();
  }
}

/** The last `memory: ...` line the capacity worker logged (it logs one every 10 s). */
function lastMemoryLine(logFile: string): string {
  const lines = fs.readFileSync(logFile, 'utf8').split('\n');
  return (lines.reverse().find((l) => l.startsWith('memory: ')) ?? 'memory: (none logged)').slice('memory: '.length);
}

/** A whole number of pipelines >= 0 (0 skips the anchor). */
function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number (0 skips the anchor).');
  return Number(value);
}

/** The bench's options. */
export function options(cmd: Command): Command {
  return (
    cmd
      .option(
        '--pipelines <list>',
        'waiting pipelines per measurement, comma-separated',
        listOf(positiveInt),
        [100, 1000],
      )
      // Longer than the 60 s poll interval, so every wait polls inside the window.
      .option('--sample <seconds>', 'seconds sampled per measurement', positiveInt, 75)
      .option('--anchor <n>', 'pipelines for the per-run-bundle anchor row (0 skips it)', wholeNumber, 100)
      .option('--ramp <n>', 'pipelines started per second', positiveInt, 50)
      .option('--heap-mb <n>', "the worker's --max-old-space-size", positiveInt)
      .option('--relay', 'run the event relay in the worker and send every waiting step one state-change event')
  );
}

export async function run(opts: {
  pipelines: number[];
  sample: number;
  anchor: number;
  ramp: number;
  heapMb?: number;
  relay?: boolean;
}): Promise<void> {
  const relay = opts.relay === true;
  const counts = opts.pipelines;
  const sampleS = opts.sample;
  const anchor = opts.anchor;
  const ramp = opts.ramp;
  const heapMb = opts.heapMb;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-'));
  // Production workers load a prebuilt bundle (npm run build); so does this one.
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, await bundleWorkflows());
  // The anchor: the same workflows bundled without shared modules, as before the fix, so each run evaluates zod and
  // the contracts itself.
  const perRunBundlePath = path.join(dir, 'workflow-bundle-per-run.js');
  if (anchor > 0)
    fs.writeFileSync(perRunBundlePath, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH })).code);
  const plan: [Layout, number][] = [
    ...(anchor > 0 ? [['per-run', anchor] as [Layout, number]] : []),
    ...counts.map((n) => ['shared', n] as [Layout, number]),
  ];
  const results: Outcome[] = [];
  for (const [layout, n] of plan) {
    const r = await measure(
      layout,
      n,
      sampleS,
      ramp,
      heapMb,
      dir,
      layout === 'shared' ? bundlePath : perRunBundlePath,
      relay,
    );
    console.log(
      `[worker-capacity] ${layout} ${n}: worker ${(r.worker.cpuCores * 100).toFixed(1)} % CPU, RSS ` +
        `${mib(r.worker.rssMean)} MiB (peak ${mib(r.workerPeakRss)}); server ` +
        `${(r.server.cpuCores * 100).toFixed(1)} % CPU, RSS ${mib(r.server.rssMean)} MiB; worker startup CPU ` +
        `${r.startupCpuS.toFixed(0)} s, cache ${r.cachedWorkflows}, anon ${mib(r.resident.anon)} MiB, file ` +
        `${mib(r.resident.file)} MiB, largest anon mappings ${r.resident.topAnon.map(mib).join(' ')} MiB; ` +
        `${r.workerMemory}; load ${r.loadAverage.toFixed(1)}` +
        (r.events ? `; events sent ${r.events.sent}, relayed ${r.events.relayed}` : ''),
    );
    results.push(r);
  }

  const pct = (c: number) => `${(c * 100).toFixed(1)} %`;
  const rows = results.map((r) => [
    r.layout === 'shared'
      ? 'production: zod and contracts shared'
      : 'anchor: zod and contracts per run (before the fix)',
    r.cachedWorkflows,
    r.events ? `running (${r.events.relayed} / ${r.events.sent} events relayed)` : 'off',
    r.pipelines,
    Math.round(r.startupS),
    `${r.jobsPolledInWindow} / ${r.pipelines}`,
    pct(r.worker.cpuCores),
    mib(r.worker.rssMean),
    mib(r.workerPeakRss),
    pct(r.server.cpuCores),
    mib(r.server.rssMean),
    Number(r.describesPerS.toFixed(2)),
    r.worker.cpuCores < BAR_CORES && r.workerPeakRss < BAR_RSS ? 'met' : 'NOT met',
  ]);
  const big = results.at(-1) as Outcome;
  const before = results.find((r) => r.layout === 'per-run');
  const after = results.find((r) => r.layout === 'shared' && r.pipelines === before?.pipelines);
  writeResult({
    name: 'worker-capacity',
    title: 'Worker capacity: pipelines waiting on training jobs in one worker process',
    command:
      `npm run bench -- worker-capacity --pipelines ${counts.join(',')} ` +
      `--anchor ${anchor} --sample ${sampleS} --ramp ${ramp}${relay ? ' --relay' : ''}`,
    columns: [
      'workflow bundle',
      'cached workflow runs (max)',
      'event relay',
      'pipelines',
      'startup until all waiting (s)',
      'jobs polled in the window',
      'worker CPU (% of one core)',
      'worker RSS steady (MiB)',
      'worker RSS peak (MiB)',
      'Temporal server CPU (% of one core)',
      'Temporal server RSS (MiB)',
      'DescribeTrainingJob calls/s',
      'bar (< 1 core, < 1 GiB)',
    ],
    rows,
    notes: [
      `**Bar: 1,000 waiting pipelines in one worker under 1 CPU core and 1 GiB RSS.** Measured at ` +
        `${big.pipelines.toLocaleString('en-US')}: ${pct(big.worker.cpuCores)} of one core averaged over ` +
        `${Math.round(big.worker.seconds)} s, RSS ${mib(big.worker.rssMean)} MiB steady and ` +
        `${mib(big.workerPeakRss)} MiB at its peak (VmHWM, startup included). "bar" judges the peak.` +
        (big.pipelines < 1000 ? ' This run did not reach 1,000 pipelines.' : ''),
      `**Setup.** One Temporal dev server process (in memory, headless) and one worker process ` +
        `(bench/suite/lib/capacity-worker.ts, started with \`node ${WORKER_NODE_FLAGS.join(' ')} --import tsx\`, ` +
        `production's node flags from worker/node-flags.ts) with production's Worker ` +
        `settings from worker/config.ts (\`WORKER_MAX_CONCURRENT_ACTIVITIES\`, default ` +
        `${DEFAULT_MAX_CONCURRENT_ACTIVITIES}; \`WORKER_MAX_CACHED_WORKFLOWS\`, default ` +
        `${DEFAULT_MAX_CACHED_WORKFLOWS}, taken from the bench's environment) and production's workflows as a prebuilt bundle ` +
        `(worker/workflow-bundle.ts, as \`npm run build\` + \`WORKFLOW_BUNDLE_PATH\`). ` +
        `Each run starts N migrationPipeline runs (examples/pipeline.local.json at the production poll interval ` +
        `of ${PRODUCTION_POLL_INTERVAL_S} s); buildImage, publishImage and syncData use the scripted fakes, and ` +
        `trainModel runs the real createTrainingJob and waitForTrainingJob (activities/training.ts, polling.ts) ` +
        `with the AWS SDK client against an HTTP stub of SageMaker in the bench process ` +
        `(bench/suite/lib/sagemaker-stub-server.ts) whose jobs stay InProgress. ` +
        `"Startup" is from the first start request until every job has been described by its wait, with at most ` +
        `${ramp} pipelines between their start and their wait at any time (--ramp); ` +
        'then, after 5 s, CPU (utime+stime from /proc/<pid>/stat over the window) and RSS (VmRSS sampled each ' +
        'second; peak is VmHWM) of each process are read. "Jobs polled in the window" shows every wait is alive ' +
        '(each pipeline holds one heartbeating activity). ' +
        `The anchor row (--anchor N, 0 to skip) runs the same workflows bundled without shared modules, as ` +
        `every worker did before the memory fix below. With --relay the worker also runs production's event ` +
        `relay (worker/event-relay-main.ts, as worker/main.ts starts it when PIPELINE_EVENTS_QUEUE_URL is set) ` +
        `with the real SQS client against an in-process queue over HTTP (bench/suite/lib/sqs-stub-server.ts), the ` +
        `waits poll only as the net (600 s), and during the window every job moves to InProgress/Training and its ` +
        `documented state-change event is enqueued, spread over the window: each step is signalled, cancels its ` +
        `wait, describes once and waits again, so every pipeline's step runs a workflow task (a replay when its ` +
        `run is no longer cached).`,
      `**Where the worker's memory is** (end of each window; /proc/<pid>/smaps_rollup and smaps): ` +
        results
          .map(
            (r) =>
              `${r.pipelines}${r.events ? ' with the relay' : ''}: ${mib(r.resident.anon)} MiB anonymous, ` +
              `${mib(r.resident.file)} MiB file-backed, largest anonymous mappings ` +
              `${r.resident.topAnon.map(mib).join(', ')} MiB; worker CPU from start until all waiting ` +
              `${r.startupCpuS.toFixed(0)} s`,
          )
          .join('; ') +
        '.',
      `**Defect found and fixed: activity slots.** The worker did not set ` +
        `\`maxConcurrentActivityTaskExecutions\`, so the Temporal SDK's default of 100 applied: with one ` +
        `heartbeating activity per waiting pipeline, pipeline 101 onwards would sit unpolled in the task queue ` +
        `until some other job ended. worker/config.ts now sets ${DEFAULT_MAX_CONCURRENT_ACTIVITIES} (env ` +
        `\`WORKER_MAX_CONCURRENT_ACTIVITIES\`); regression test test/workflows/worker-capacity.test.ts ("follows ` +
        `120 training jobs at once").`,
      "**Defect found and fixed: memory per waiting pipeline.** With the SDK's reusable V8 context, every " +
        'cached workflow run evaluates its own copy of each module it imports; the workflows import zod and the ' +
        "contracts' schemas, about 2.6 MiB per run, and a waiting pipeline keeps two runs cached (itself and its " +
        'training step). ' +
        (before && after
          ? `In this run, at ${before.pipelines} pipelines: ${mib(before.worker.rssMean)} MiB steady before, ` +
            `${mib(after.worker.rssMean)} MiB after. `
          : '') +
        'Now zod and the contracts are preloaded once per worker and shared by every run ' +
        '(worker/workflow-bundle.ts, workflows/shared-modules.ts); a run costs about 45 KiB in the sandbox. The ' +
        "SDK deep-freezes shared modules, which zod's parse-time caches cannot survive, so shared-modules.ts " +
        'freezes each exported schema shallowly first (the deep freeze stops there), and workflow code parses ' +
        'with z.safeParse(schema, value) (a lint rule enforces it). ' +
        'Regression test: test/workflows/sandbox-memory.test.ts (fails at 2.6 MiB per run without the shared ' +
        'modules); every workflow, replay and e2e test runs on the shared layout.',
      "**Found and capped, not the whole regression: Node 24's young generation.** Between d2eafb5 (measured on Node 20: 886 MiB " +
        'peak, 847 MiB steady at 1,000) and the Node 24 runtime upgrade the 1,000-pipeline worker passed 1 GiB. The ' +
        'workflow sandbox did not grow (a cached run costs 47 KiB on both d2eafb5 and this code, on Node 24) and ' +
        'the dependencies are the same versions; Node 24 sizes each semi-space of the young generation at up to ' +
        '64 MiB (Node 20: 16 MiB; `heap_size_limit` 4288 vs 4144 MiB), and a worker that allocates steadily grows ' +
        'it to the maximum and keeps it committed (up to 128 MiB of mostly empty new space). Every production ' +
        "worker now starts with `--max-semi-space-size=16` (worker/node-flags.ts; the worker image's ENTRYPOINT " +
        'and `npm run worker`), as this bench does; regression test test/unit/worker/worker-node-flags.test.ts. The ' +
        'rest of the growth is the workflow cache (next note). The ' +
        `worker's own last memory line in each run (process.memoryUsage and V8's committed new and old space): ` +
        `${results.map((r) => `${r.layout} ${r.pipelines}: ${r.workerMemory}`).join('; ')}.`,
      `**Defect found and fixed: every waiting run stayed cached.** The worker did not set \`maxCachedWorkflows\`, ` +
        "so the SDK's default applied, sized from V8's heap limit: about 2,400 runs on Node 24 (2,300 on Node 20), " +
        'more than the 2,000 runs 1,000 waiting pipelines hold (each pipeline and its training step). A waiting run ' +
        'gets no workflow task until its job ends or an event wakes its step, so caching it only costs memory: on ' +
        '2026-12-07, with a cache of 500 the worker grew about 0.7 MiB per pipeline while the cache filled (up to ' +
        '250 pipelines) and about 0.37 MiB per pipeline after, so a cached run costs about 0.17 MiB in all (the ' +
        "sandbox's share is 47 KiB; the rest is outside the main thread's V8 heap: the workflow thread's isolate " +
        "and the Temporal core's state for the run). worker/config.ts now caches " +
        `${DEFAULT_MAX_CACHED_WORKFLOWS} runs (env \`WORKER_MAX_CACHED_WORKFLOWS\`); an evicted run is replayed ` +
        'from its history (a few dozen events) at its next task ' +
        '(https://docs.temporal.io/develop/worker-performance/workflow-cache). Tests: ' +
        'test/unit/worker-config.test.ts (the default is under 2,000) and test/workflows/worker-capacity.test.ts ' +
        '(12 waiting steps with a cache of 4: at most 4 cached, and every evicted step completes when its job ends).',
      'Numbers from a 2-core machine shared with other work are provisional: RSS is comparable between runs, ' +
        'CPU and startup times are not (other processes compete for the cores). The Temporal server and the ' +
        'bench (stub and client) run on the same cores as the worker. 1-minute load average at the end of ' +
        `each window: ${results.map((r) => `${r.layout} ${r.pipelines}: ${r.loadAverage.toFixed(1)}`).join('; ')}.`,
    ],
  });
}
