/**
 * `npm run demo`: the product's front door. Brings the local stack up (or reuses it), starts a worker, runs the whole
 * migration pipeline with examples/pipeline.local.json (or `--spec <file>`, e.g.
 * examples/pipeline.user-code.local.json, the team's own train.py and inference.py) while printing each step's
 * progress, runs it a second time as a blue/green update of the same endpoint, and finally asks the endpoint a
 * question through the AWS SDK. The dataset is prepared by the pipeline itself (its prepareData step runs the image's
 * `prepare` as a Processing job) and the champion is scored by a Batch Transform job (evaluateModel) before it is
 * registered. Idempotent: the second `npm run demo` reuses the stack, the image (same source hash) and the synced
 * data, and updates the existing endpoint.
 *
 * Ctrl-C cancels the running pipeline (its steps stop their training/tuning jobs), stops the worker, and leaves
 * the stack running (`npm run local -- down` stops it). A second Ctrl-C stops the worker at once.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PIPELINE_STEPS, type PipelineSummary } from '../contracts/pipeline-plan';
import type { StepStatus } from '../contracts/status';
import { childWorkflowId } from '../contracts/names';
import { approveModelUpdate } from '../contracts/workflow-api';
import { DEFAULT_TASK_QUEUE } from '../contracts/task-queue';
import { ensureBucket as ensureBucketExists } from '../testing/bucket';
import { LOCAL_SPEC_FILE, type Spec } from '../testing/tiny-spec';
import { startWorkerProcess, waitForWorkerReady } from '../testing/worker-process';
import { REPO_ROOT, stackConfig, workerEnv } from '../local/stack/config';
import { isAlive, readPid, sleep, stopGroup } from '../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../local/shared/credentials';
import { up } from '../local/stack/launcher';
import { codecFromEnv } from '../worker/payload-codec';
import { approveIfWaiting, cancelAndReport, queryStatus, registerModelId } from '../worker/pipeline-client';
import { streamLines } from '../worker/response-stream';
import { readSpecFile } from '../worker/spec-file';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // node 20 is supported here
const t0 = Date.now();
const say = (msg: string): void => console.log(`[demo] ${msg}`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
/** A path relative to the current directory when it lies inside it, else absolute. */
const shortPath = (p: string): string => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
};

const cfg = stackConfig();
const env = workerEnv(cfg);
const taskQueue = process.env.TEMPORAL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
const logsDir = path.join(cfg.stateDir, 'logs');
const workerLog = path.join(logsDir, 'worker.log');
const workerPidFile = path.join(cfg.stateDir, 'pids', 'demo-worker.pid');
const specArg = process.argv.indexOf('--spec');
const specFile =
  specArg >= 0 && process.argv[specArg + 1] ? path.resolve(process.argv[specArg + 1] as string) : LOCAL_SPEC_FILE;
const uiUrl = (id: string): string =>
  `http://127.0.0.1:${cfg.temporalUiPort}/namespaces/${env.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(id)}`;

/** Ends the demo with exit code 1 after printing what failed and where to look. */
class DemoFailure extends Error {
  constructor(
    message: string,
    readonly logs: string[] = [],
  ) {
    super(message);
  }
}

// --- Ctrl-C ---------------------------------------------------------------------------------------------------

let interrupts = 0;
let firstInterruptAt = 0;
let onInterrupt: (() => void) | undefined;
let worker: ChildProcess | undefined;

process.on('SIGINT', () => {
  // One Ctrl-C can arrive twice: from the terminal and relayed by the tsx/npm parents. Count those as one.
  if (interrupts > 0 && Date.now() - firstInterruptAt < 1_500) return;
  interrupts += 1;
  if (interrupts === 1) {
    firstInterruptAt = Date.now();
    say(
      'Ctrl-C: cancelling the running pipeline (its steps stop their jobs), then stopping the worker; Ctrl-C ' +
        'again to stop now',
    );
    onInterrupt?.();
  } else {
    say('second Ctrl-C: stopping the worker now');
    void stopWorker().finally(() => process.exit(130));
  }
});
process.on('SIGTERM', () => void stopWorker().finally(() => process.exit(143)));

class Interrupted extends Error {}
const checkInterrupt = (): void => {
  if (interrupts > 0) throw new Interrupted('interrupted');
};

// --- stack, dataset, worker -----------------------------------------------------------------------------------

async function startStack(): Promise<void> {
  say(`local stack: Temporal, moto, local SageMaker service (state in ${shortPath(cfg.stateDir)})`);
  await up(cfg, (m) => say(`  ${m}`));
  Object.assign(process.env, env);
}

/** An S3 client for the local stack's moto (the demo's own reads and writes, as the stack's admin). */
function localS3(): S3Client {
  return new S3Client({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    credentials: ADMIN_CREDENTIALS,
  });
}

/** The spec's bucket: on AWS it is the user's; in local mode the demo creates it in moto. */
async function ensureBucket(bucket: string): Promise<void> {
  // The bucket is set up by the account's administrator, not the worker (whose policy cannot create buckets).
  const s3 = localS3();
  try {
    const state = await ensureBucketExists(s3, bucket);
    say(`S3 bucket ${bucket}: ${state === 'exists' ? 'exists' : 'created in moto'}`);
  } finally {
    s3.destroy();
  }
}

/** Copies a run's report page from S3 to the state dir and prints its path (a file to open in any browser). */
async function saveReport(summary: PipelineSummary): Promise<void> {
  const uri = summary.report?.s3Uri;
  if (!uri) return;
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) ?? [];
  const s3 = localS3();
  try {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString();
    const file = path.join(cfg.stateDir, 'reports', `${summary.workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.html`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body ?? '');
    say(`  report page  ${file} (open it in a browser; again any time: npm run cli -- report ${summary.workflowId})`);
  } catch (err) {
    say(`  report page  not copied from ${uri}: ${(err as Error).message}`);
  } finally {
    s3.destroy();
  }
}

/**
 * Copies the run's TensorBoard event files (each training job's `TensorBoardOutputConfig` prefix,
 * `pipelines/<name>/models/<job>/tensorboard/`) from local S3 to the state dir and prints the command that shows them;
 * against AWS the same command takes the S3 prefix itself (docs/observability.md).
 */
async function saveTensorBoard(spec: Spec, summary: PipelineSummary): Promise<void> {
  // Job names start with the run's workflow ID (contracts/names.ts), so earlier demos' jobs are left out.
  const prefix = `pipelines/${spec.pipelineName}/models/`;
  const dir = path.join(cfg.stateDir, 'tensorboard', summary.workflowId.replace(/[^A-Za-z0-9._-]/g, '_'));
  const s3 = localS3();
  try {
    let copied = 0;
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: spec.bucket,
          Prefix: `${prefix}${summary.workflowId}-`,
          ContinuationToken: token,
        }),
      );
      for (const { Key } of page.Contents ?? []) {
        if (!Key?.includes('/tensorboard/')) continue;
        const body = await (
          await s3.send(new GetObjectCommand({ Bucket: spec.bucket, Key }))
        ).Body?.transformToByteArray();
        const file = path.join(dir, Key.slice(prefix.length));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, body ?? new Uint8Array());
        copied += 1;
      }
      token = page.NextContinuationToken;
    } while (token);
    if (copied === 0) return say(`  tensorboard  no event files under s3://${spec.bucket}/${prefix}`);
    say(`  tensorboard  ${copied} event file(s) in ${dir}: tensorboard --logdir ${dir}`);
    say(`               (on AWS: tensorboard --logdir s3://${spec.bucket}/${prefix}; pip install tensorboard)`);
  } catch (err) {
    say(`  tensorboard  event files not copied from s3://${spec.bucket}/${prefix}: ${(err as Error).message}`);
  } finally {
    s3.destroy();
  }
}

/** A worker left behind by a demo that was killed hard (SIGKILL) would steal tasks with old code: stop it. */
async function stopStaleWorker(): Promise<void> {
  const pid = readPid(workerPidFile);
  if (pid !== undefined && isAlive(pid)) {
    say(`stopping a worker left by an earlier demo (pid ${pid})`);
    await stopGroup(pid, 10_000);
  }
  fs.rmSync(workerPidFile, { force: true });
}

async function startWorker(): Promise<void> {
  await stopStaleWorker();
  // Its own process group, so Ctrl-C reaches only the demo, which then stops the worker deliberately.
  const started = startWorkerProcess({
    env,
    taskQueue,
    logFile: workerLog,
    header: `\n=== demo worker ${new Date().toISOString()} ===`,
  });
  worker = started.child;
  const pid = worker.pid;
  if (pid === undefined) throw new DemoFailure('could not start the worker', [workerLog]);
  fs.writeFileSync(workerPidFile, `${pid}\n`);
  say(`worker: started (pid ${pid}, log ${shortPath(workerLog)}); bundling workflows...`);
  try {
    const ms = await waitForWorkerReady(started, 120_000, checkInterrupt);
    say(`worker: polling task queue "${taskQueue}" (ready in ${secs(ms)})`);
  } catch (err) {
    if (err instanceof Interrupted) throw err;
    throw new DemoFailure((err as Error).message, [workerLog]);
  }
}

async function stopWorker(): Promise<void> {
  const pid = worker?.pid;
  if (pid === undefined || !isAlive(pid)) return;
  await stopGroup(pid, 15_000);
  fs.rmSync(workerPidFile, { force: true });
  say(`worker: stopped (pid ${pid})`);
}

// --- one pipeline run -----------------------------------------------------------------------------------------

interface StepTiming {
  step: string;
  ms: number;
}

interface RunResult {
  summary: PipelineSummary;
  timings: StepTiming[];
}

/** Stale pipelines of an earlier, interrupted demo would fight this one over the endpoint: cancel them. */
async function cancelStaleRuns(client: Client): Promise<void> {
  const stale: string[] = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'migrationPipeline' AND ExecutionStatus = 'Running'`,
  })) {
    if (/^demo-\d/.test(wf.workflowId) && !wf.workflowId.includes('/')) stale.push(wf.workflowId);
  }
  for (const id of stale) {
    say(`cancelling ${id}, left running by an earlier demo`);
    await cancelAndReport(client, id, 60_000);
  }
}

interface RunOptions {
  label: string;
  /** Called on each poll while registerModel runs; resolves true once it sent what it needed. */
  duringRegister?: (client: Client, workflowId: string) => Promise<boolean>;
}

async function runPipeline(client: Client, spec: unknown, opts: RunOptions): Promise<RunResult> {
  const workflowId = `demo-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '')}`;
  const handle = await client.workflow.start('migrationPipeline', { taskQueue, workflowId, args: [spec] });
  say(`${opts.label}: started workflow ${workflowId}`);
  say(`  Temporal UI: ${uiUrl(workflowId)}`);

  const timings: StepTiming[] = [];
  const runStart = Date.now();
  const finished = new Set<string>();
  let current = -1;
  let lastLine = '';
  let registerDone = false;
  let closed = false;
  let cancelRequested = false;
  onInterrupt = () => {
    if (!closed && !cancelRequested) {
      cancelRequested = true;
      void handle.cancel().catch(() => undefined);
    }
  };
  const result = handle.result().then(
    (summary: PipelineSummary) => ({ summary }),
    (error: unknown) => ({ error }),
  );
  void result.then(() => (closed = true));
  const stamp = (): string => `  [${mmss(Date.now() - runStart)}]`;

  /** Prints a finished step once: its final phase and how long its child workflow ran. */
  const finish = async (step: string): Promise<void> => {
    if (finished.has(step)) return;
    finished.add(step);
    const id = childWorkflowId(workflowId, step);
    let desc;
    try {
      desc = await client.workflow.getHandle(id).describe();
    } catch {
      return; // never started (tuning disabled, nothing to deploy)
    }
    const ms = (desc.closeTime ?? new Date()).getTime() - desc.startTime.getTime();
    timings.push({ step, ms });
    const final = await queryStatus(client, id);
    const outcome = desc.status.name === 'COMPLETED' ? 'done' : desc.status.name.toLowerCase();
    say(`${stamp()} ${step} ${outcome} in ${secs(ms)}${final ? `: ${describeChild(final)}` : ''}`);
  };

  let cancelDeadline = 0;
  for (;;) {
    const settled = await Promise.race([result, sleep(2_000).then(() => undefined)]);
    const phase = (await queryStatus(client, workflowId))?.pipelinePhase;
    const index =
      phase === undefined
        ? -1
        : phase === 'done'
          ? PIPELINE_STEPS.length
          : (PIPELINE_STEPS as readonly string[]).indexOf(phase);
    // Steps that ended since the last poll (a fast one may have started and ended between two polls).
    const upTo = settled ? PIPELINE_STEPS.length : index;
    for (let i = 0; i < upTo; i++) await finish(PIPELINE_STEPS[i] as string);
    if (index > current) current = index;
    const step = PIPELINE_STEPS[current];
    if (step && !settled && !finished.has(step)) {
      const child = await queryStatus(client, childWorkflowId(workflowId, step));
      const line = `${step}: ${child ? describeChild(child) : 'starting'}`;
      if (line !== lastLine) say(`${stamp()} ${line}`);
      lastLine = line;
      if (step === 'registerModel' && opts.duringRegister && !registerDone)
        registerDone = await opts.duringRegister(client, workflowId);
    }
    if (settled) {
      if ('error' in settled) throw failureOf(settled.error, workflowId, PIPELINE_STEPS[current] ?? 'start');
      if (interrupts > 0) throw new Interrupted(`${workflowId}: ${settled.summary.message}`);
      timings.push({ step: 'total', ms: Date.now() - runStart });
      return { summary: settled.summary, timings };
    }
    if (cancelRequested) {
      cancelDeadline ||= Date.now() + 90_000;
      if (Date.now() > cancelDeadline)
        throw new Interrupted(
          `${workflowId} did not finish cancelling within 90 s; it stays in Temporal (${uiUrl(workflowId)})`,
        );
    }
  }
}

/** One short line from a step's status: its phase plus the metrics it reports. */
function describeChild(s: StepStatus): string {
  const metrics = Object.entries(s.metrics ?? {})
    .filter(([k]) => !/spend/i.test(k))
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`);
  return [s.phase, ...metrics].join(' ');
}

function mmss(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The failure chain of a failed pipeline, with the logs that explain it. */
function failureOf(error: unknown, workflowId: string, step: string): DemoFailure {
  const messages: string[] = [];
  let e: unknown = error instanceof WorkflowFailedError ? error.cause : error;
  while (e instanceof Error) {
    if (e.message && !messages.includes(e.message)) messages.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  const smLogs = path.join(cfg.stateDir, 'sagemaker', 'logs');
  const logs = [workerLog, path.join(logsDir, 'sagemaker.log')];
  if (step === 'trainModel' || step === 'tuneModel') logs.push(path.join(smLogs, 'training-jobs') + path.sep);
  if (step === 'deployModel') logs.push(path.join(smLogs, 'endpoints') + path.sep);
  if (step === 'buildImage') logs.push(smLogs + path.sep);
  return new DemoFailure(
    `pipeline ${workflowId} failed during ${step || 'start'}:\n  ` +
      `${messages.join('\n  caused by: ') || String(error)}\n  history: ${uiUrl(workflowId)}`,
    logs,
  );
}

function printSummary(label: string, r: RunResult): void {
  const s = r.summary;
  say(`${label}: ${s.outcome} - ${s.message}`);
  if (s.image)
    say(
      `  image        ${s.image.uri}${s.image.reused ? ' (reused: source hash unchanged, build skipped)' : ' (built)'}`,
    );
  if (s.prepared)
    say(`  prepared     ${s.prepared.processingJob}  channels ${Object.keys(s.prepared.channels).join(', ')}`);
  if (s.training) say(`  training     ${s.training.jobName}  objective=${s.training.objective ?? 'n/a'}`);
  if (s.tuning)
    say(`  tuning       ${s.tuning.jobName}  best ${s.tuning.bestTrainingJob}  objective=${s.tuning.objective}`);
  if (s.evaluation)
    say(
      `  evaluation   ${s.evaluation.transformJob}  eval_nll=${s.evaluation.evalNll.toFixed(4)} over ` +
        `${s.evaluation.records} records (${s.evaluation.tokens} tokens)`,
    );
  if (s.registry)
    say(
      `  registry     version ${s.registry.version ?? '?'} ${s.registry.approvalStatus}  champion ` +
        `${s.registry.champion}`,
    );
  if (s.endpoint) say(`  endpoint     ${s.endpoint.name} ${s.endpoint.action} (config ${s.endpoint.configName})`);
  say(`  max spend    $${s.estimatedMaxSpendUsd.toFixed(2)} (estimate at AWS prices; local mode costs nothing)`);
  if (s.report) {
    say(
      `  actual spend $${s.report.actualSpendUsd.toFixed(2)} at AWS prices (billable time × instances)` +
        (s.report.overspent ? ` - OVERSPENT: above the estimate × ${s.report.overspendFactor}` : ''),
    );
    say(`  report       ${s.report.s3Uri}`);
  }
  say(`  step times   ${r.timings.map((t) => `${t.step} ${secs(t.ms)}`).join(', ')}`);
}

/** While registerModel runs: once it waits for a reviewer, approve as reviewer "demo"; true once sent. */
function approveAsDemo(why: string): NonNullable<RunOptions['duringRegister']> {
  return async (client, workflowId) => {
    try {
      if (!(await approveIfWaiting(client, workflowId, { reviewer: 'demo', reason: `npm run demo: ${why}` })))
        return false;
      say(
        `  approved the version as reviewer "demo" (${why}): update ${approveModelUpdate.name} on ` +
          `${registerModelId(workflowId)}`,
      );
      return true;
    } catch (err) {
      say(`  ${approveModelUpdate.name} not accepted yet: ${(err as Error).message}`);
      return false;
    }
  };
}

// --- the demo ---------------------------------------------------------------------------------------------------

/** Streams the answer (InvokeEndpointWithResponseStream, one JSON line per token) and prints it as it arrives. */
async function invokeEndpoint(endpointName: string, steps: unknown): Promise<void> {
  // The user asking the model a question is not the worker (its policy does not include InvokeEndpoint).
  const runtime = new SageMakerRuntimeClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
    credentials: ADMIN_CREDENTIALS,
  });
  const prompt = 'The assert statement';
  say(`InvokeEndpointWithResponseStream ${endpointName}: ${JSON.stringify(prompt)}`);
  const t0 = Date.now();
  const res = await runtime.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: endpointName,
      ContentType: 'application/json',
      Accept: 'application/jsonlines',
      Body: JSON.stringify({ inputs: prompt, parameters: { max_new_tokens: 40 } }),
    }),
  );
  process.stdout.write(`[demo] answer (variant ${res.InvokedProductionVariant ?? '?'}): ${prompt}`);
  let firstTokenMs: number | undefined;
  let details: { ttft_ms?: number; generated_tokens?: number } | undefined;
  for await (const line of streamLines(res.Body)) {
    const msg = JSON.parse(line) as { token?: { text: string }; details?: typeof details };
    if (msg.token) {
      firstTokenMs ??= Date.now() - t0;
      process.stdout.write(msg.token.text);
    } else if (msg.details) details = msg.details;
  }
  process.stdout.write('\n');
  say(
    `  time to first token ${firstTokenMs ?? '?'} ms at the client (${details?.ttft_ms ?? '?'} ms in the server), ` +
      `${details?.generated_tokens ?? '?'} tokens in ${Date.now() - t0} ms`,
  );
  say(
    `  (a 0.45 M-parameter byte-level model after ${steps} CPU training steps: it has learnt letters and short ` +
      `words, not sentences)`,
  );
}

async function main(): Promise<void> {
  const read = readSpecFile(specFile); // code paths in the spec are relative to its file
  if (!read.ok) throw new DemoFailure(read.message);
  const spec = read.raw as Spec;
  // The spec's data path is relative to the repository (the examples are run from its root).
  const source = spec.data.source as { localPath?: string };
  if (source.localPath && !path.isAbsolute(source.localPath)) source.localPath = path.join(REPO_ROOT, source.localPath);

  let phaseStart = Date.now();
  await startStack();
  say(`  (${secs(Date.now() - phaseStart)})`);
  checkInterrupt();
  await ensureBucket(spec.bucket);
  phaseStart = Date.now();
  await startWorker();

  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  // The worker encrypts payloads when PAYLOAD_ENCRYPTION_* is set; the demo's client must use the same codec.
  const codec = codecFromEnv(process.env);
  const client = new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: codec ? { payloadCodecs: [codec] } : undefined,
  });
  try {
    await cancelStaleRuns(client);
    checkInterrupt();

    say(
      `run 1: migrationPipeline with ${path.relative(REPO_ROOT, specFile)} (build, publish, sync, prepare ` +
        `as a Processing job, 4-host training, 4-trial tuning, evaluation by Batch Transform, register, blue/green ` +
        `deploy)`,
    );
    // Auto approval approves only a model that beats the approved version. A repeated demo trains the same model
    // again (same data, hyperparameters and seed: training is deterministic), so the version ties and waits for a
    // reviewer; the demo then approves it itself, as `npm run cli -- approve <workflow-id>` would.
    const first = await runPipeline(client, spec, {
      label: 'run 1',
      duringRegister: approveAsDemo('it ties the version an earlier demo approved'),
    });
    printSummary('run 1', first);
    await saveReport(first.summary);
    await saveTensorBoard(spec, first.summary);
    if (first.summary.outcome !== 'deployed')
      throw new DemoFailure(`run 1 did not deploy: ${first.summary.message}`, [workerLog]);
    checkInterrupt();

    say(
      'run 2: the same pipeline again, as a blue/green update of the endpoint demo-lm (CANARY: 1 instance ' +
        'first, then all)',
    );
    say('  the image build is skipped (unchanged source hash) and the data sync finds nothing new;');
    say('  the retrained model ties the one just approved, which auto approval would hold for review, so');
    say('  this run uses registry.approval.policy=manual (in memory) and the demo approves it as reviewer "demo";');
    say('  tuning is off for this run (in memory) to keep the demo short');
    const second = await runPipeline(
      client,
      {
        ...spec,
        tuning: { ...spec.tuning, enabled: false },
        registry: { ...spec.registry, approval: { ...spec.registry.approval, policy: 'manual' } },
      },
      { label: 'run 2', duringRegister: approveAsDemo('run 2 uses the manual policy') },
    );
    printSummary('run 2', second);
    if (second.summary.outcome !== 'deployed')
      throw new DemoFailure(`run 2 did not deploy: ${second.summary.message}`, [workerLog]);

    await invokeEndpoint(
      spec.deployment.endpointName,
      (spec.training as { hyperparameters?: { max_steps?: unknown } }).hyperparameters?.max_steps ?? '?',
    );
  } finally {
    await connection.close();
  }
}

void main()
  .then(
    () => 0,
    (err: unknown) => {
      if (err instanceof Interrupted) {
        say(`stopped: ${err.message}`);
        return 130;
      }
      if (err instanceof DemoFailure) {
        say(`FAILED: ${err.message}`);
        for (const l of err.logs) say(`  log: ${shortPath(l)}`);
        return 1;
      }
      say(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      say(`  log: ${shortPath(workerLog)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopWorker();
    say(
      `the local stack keeps running for the next demo (Temporal UI http://127.0.0.1:${cfg.temporalUiPort}); stop it with \`npm run local -- down\``,
    );
    say(
      'your own train.py and inference.py instead of the built-in trainer: npm run demo -- --spec examples/pipeline.user-code.local.json (examples/user-code/; docs/user-code.md)',
    );
    say(`total ${secs(Date.now() - t0)}`);
    process.exit(code);
  });
