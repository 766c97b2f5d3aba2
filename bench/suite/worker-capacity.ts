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
import { REPO_ROOT } from '../../local/config';
import { sleep } from '../../local/procs';
import { DEFAULT_MAX_CONCURRENT_ACTIVITIES } from '../../worker/config';
import { migrationPipeline } from '../../workflows';
import { writeResult } from '../lib/results';
import { flag, intFlag } from '../lib/args';
import { benchSpec, PRODUCTION_POLL_INTERVAL_S } from './lib/bench-spec';
import { startDevServer } from './lib/dev-server';
import { memory, sampleUsage, type Usage } from './lib/proc-stats';
import { startSageMakerStub } from './lib/sagemaker-stub-server';

export const about = 'CPU and RSS of one worker process holding 100 and 1,000 pipelines waiting on training jobs (bar: < 1 core, < 1 GiB)';

const BAR_CORES = 1;
const BAR_RSS = 2 ** 30;
const TASK_QUEUE = 'bench-capacity';
const START_CONCURRENCY = 20;

interface Outcome {
  pipelines: number;
  startupS: number;
  worker: Usage;
  server: Usage;
  workerPeakRss: number;
  describesPerS: number;
  jobsPolledInWindow: number;
}

const mib = (b: number) => Math.round(b / 2 ** 20);

async function startWorker(address: string, sagemakerEndpoint: string, bundlePath: string, heapMb: number | undefined, logFile: string): Promise<ChildProcess> {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...(heapMb ? [`--max-old-space-size=${heapMb}`] : []), '--import', 'tsx', path.join(__dirname, 'lib/capacity-worker.ts')], {
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
    },
  });
  fs.closeSync(out);
  const deadline = Date.now() + 180_000;
  while (!fs.readFileSync(logFile, 'utf8').includes('capacity-worker ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the capacity worker did not start (log: ${logFile})`);
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

async function measure(pipelines: number, sampleS: number, ramp: number, heapMb: number | undefined, dir: string, bundlePath: string): Promise<Outcome> {
  const stub = await startSageMakerStub();
  const server = await startDevServer(path.join(dir, `temporal-${pipelines}.log`));
  let worker: ChildProcess | undefined;
  let connection: Connection | undefined;
  try {
    worker = await startWorker(server.address, stub.endpoint, bundlePath, heapMb, path.join(dir, `worker-${pipelines}.log`));
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
        const batch = Array.from({ length: Math.min(START_CONCURRENCY, pipelines - startedCount, ramp - (startedCount - polled)) }, (_, k) => startedCount + k);
        startedCount += batch.length;
        await Promise.all(batch.map((n) => client.workflow.start(migrationPipeline, { taskQueue: TASK_QUEUE, workflowId: `capacity-${pipelines}-${n}`, args: [spec] })));
        continue;
      }
      if (Date.now() - lastLog > 15_000) {
        console.log(`[worker-capacity] ${pipelines}: ${startedCount} started, ${stub.jobs.size} jobs created, ${polled} waiting, worker RSS ${mib(memory(workerPid).rss)} MiB after ${Math.round((Date.now() - started) / 1000)} s`);
        lastLog = Date.now();
      }
      if (worker.exitCode !== null) throw new Error(`the capacity worker exited (log: ${dir})`);
      if (Date.now() - started > 30 * 60_000) throw new Error(`only ${polled} of ${pipelines} pipelines reached their training wait in 30 min`);
      await sleep(500);
    }
    const startupS = (Date.now() - started) / 1000;
    console.log(`[worker-capacity] ${pipelines}: all waiting after ${startupS.toFixed(0)} s; sampling ${sampleS} s`);
    await sleep(5_000);
    const windowStart = Date.now();
    const describes0 = stub.describeCount();
    const [w, s] = await Promise.all([sampleUsage(workerPid, sampleS), sampleUsage(server.pid, sampleS)]);
    const windowEnd = Date.now();
    const jobsPolledInWindow = [...stub.jobs.values()].filter((j) => j.describes.some((t) => t >= windowStart && t <= windowEnd)).length;
    return {
      pipelines,
      startupS,
      worker: w,
      server: s,
      workerPeakRss: memory(workerPid).peak,
      describesPerS: (stub.describeCount() - describes0) / ((windowEnd - windowStart) / 1000),
      jobsPolledInWindow,
    };
  } finally {
    await connection?.close().catch(() => undefined);
    if (worker) await stopWorker(worker);
    await server.stop();
    await stub.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const counts = flag(args, 'pipelines', '100,1000').split(',').map((n) => {
    const v = Number(n);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--pipelines: ${JSON.stringify(n)} is not a positive integer`);
    return v;
  });
  const sampleS = intFlag(args, 'sample', 60);
  const ramp = intFlag(args, 'ramp', 50);
  const heapMb = args.includes('--heap-mb') ? intFlag(args, 'heap-mb', 1) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capacity-'));
  // Production workers load a prebuilt bundle (npm run build); so does this one.
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') })).code);
  const results: Outcome[] = [];
  for (const n of counts) {
    const r = await measure(n, sampleS, ramp, heapMb, dir, bundlePath);
    console.log(`[worker-capacity] ${n}: worker ${(r.worker.cpuCores * 100).toFixed(1)} % CPU, RSS ${mib(r.worker.rssMean)} MiB (peak ${mib(r.workerPeakRss)}); server ${(r.server.cpuCores * 100).toFixed(1)} % CPU, RSS ${mib(r.server.rssMean)} MiB`);
    results.push(r);
  }

  const pct = (c: number) => `${(c * 100).toFixed(1)} %`;
  const rows = results.map((r) => [
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
  writeResult({
    name: 'worker-capacity',
    title: 'Worker capacity: pipelines waiting on training jobs in one worker process',
    command: `npm run bench -- worker-capacity --pipelines ${counts.join(',')} --sample ${sampleS} --ramp ${ramp}`,
    columns: ['pipelines', 'startup until all waiting (s)', 'jobs polled in the window', 'worker CPU (% of one core)', 'worker RSS steady (MiB)', 'worker RSS peak (MiB)', 'Temporal server CPU (% of one core)', 'Temporal server RSS (MiB)', 'DescribeTrainingJob calls/s', 'bar (< 1 core, < 1 GiB)'],
    rows,
    notes: [
      `**Bar: 1,000 waiting pipelines in one worker under 1 CPU core and 1 GiB RSS.** Measured at ${big.pipelines.toLocaleString('en-US')}: ${pct(big.worker.cpuCores)} of one core averaged over ${Math.round(big.worker.seconds)} s, RSS ${mib(big.worker.rssMean)} MiB steady and ${mib(big.workerPeakRss)} MiB at its peak (VmHWM, startup included).` +
        (results.length > 1 ? ' The smaller run is the scaling anchor.' : '') +
        (big.pipelines < 1000 ? ' This run did not reach 1,000 pipelines (see the memory finding below: RSS already passes the bar at this size).' : ''),
      `**Setup.** One Temporal dev server process (in memory, headless) and one worker process (bench/suite/lib/capacity-worker.ts, started with \`node --import tsx\`) with production's Worker settings from worker/config.ts (\`WORKER_MAX_CONCURRENT_ACTIVITIES\`, default ${DEFAULT_MAX_CONCURRENT_ACTIVITIES}) and production's workflows as a prebuilt bundle (as \`npm run build\` + \`WORKFLOW_BUNDLE_PATH\`). ` +
        `Each run starts N migrationPipeline runs (examples/pipeline.local.json at the production poll interval of ${PRODUCTION_POLL_INTERVAL_S} s); buildImage, publishImage and syncData use the scripted fakes, and trainModel runs the real createTrainingJob and waitForTrainingJob (activities/training.ts, polling.ts) with the AWS SDK client against an HTTP stub of SageMaker in the bench process (bench/suite/lib/sagemaker-stub-server.ts) whose jobs stay InProgress. ` +
        `"Startup" is from the first start request until every job has been described by its wait, with at most ${ramp} pipelines between their start and their wait at any time (--ramp; a burst of all 1,000 at once on 2 cores queued workflow tasks past their 10 s timeout and made no progress); ` +
        'then, after 5 s, CPU (utime+stime from /proc/<pid>/stat over the window) and RSS (VmRSS sampled each second; peak is VmHWM) of each process are read. "Jobs polled in the window" shows every wait is alive (each pipeline holds one heartbeating activity).',
      `**Defect found and fixed.** The worker did not set \`maxConcurrentActivityTaskExecutions\`, so the Temporal SDK's default of 100 applied: with one heartbeating activity per waiting pipeline, pipeline 101 onwards would sit unpolled in the task queue until some other job ended. worker/config.ts now sets ${DEFAULT_MAX_CONCURRENT_ACTIVITIES} (env \`WORKER_MAX_CONCURRENT_ACTIVITIES\`); regression test test/workflows/worker-capacity.test.ts ("follows 120 training jobs at once").`,
      `**Memory: the RSS bar is not met (open finding, not fixed).** RSS grows by about 6-7 MiB per waiting pipeline (steady: 544 MiB at 20, 1,047 MiB at 100, 1,523 MiB at 150 in separate runs) while the main thread's V8 heap stays near 60-110 MiB used (the worker logs \`process.memoryUsage()\` every 10 s to its log under ${os.tmpdir()}/bench-capacity-*). ` +
        'The growth is outside the main heap: in the workflow thread (its V8 isolate) and native memory. Likely cause, not yet proven: with reuseV8Context each workflow run gets its own instance of the bundle\'s modules, and the workflow bundle pulls in zod and every contracts/ schema (evaluating workflows/ and its imports costs about 6 MiB of heap in plain Node), so each cached parent and trainModel child carries megabytes, and V8 with its default heap limit (about 4 GiB here) collects lazily. ' +
        'Experiments on 150 pipelines (same machine, same hour): default settings 1,523 MiB steady; maxCachedWorkflows 100 (a config change tried and reverted) 1,431 MiB steady; maxCachedWorkflows 100 with --max-old-space-size=384 (bench flag --heap-mb 384) stayed near 600 MiB, but workflow tasks then ran past 5-10 s on this loaded machine and only 73 of 150 pipelines reached their wait in 13 minutes, so it was stopped. Sharing zod and contracts/ between runs through the bundler\'s preloadModules was tried and fails: shared modules are frozen and zod 4 defines safeParse lazily on its schema objects (TypeError: Cannot define property safeParse, object is not extensible). Next steps: slimmer workflow-side imports (no zod schemas evaluated per workflow run), then a bounded cache and heap limit chosen by this bench.',
      'Numbers from a 2-core machine shared with other work are provisional; the Temporal server and the bench (stub and client) run on the same cores as the worker.',
    ],
  });
}
