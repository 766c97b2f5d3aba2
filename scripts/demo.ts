/**
 * `npm run demo`: the product's front door. Brings the local stack up (or reuses it), prepares the demo dataset,
 * starts a worker, runs the whole migration pipeline with examples/pipeline.local.json while printing each step's
 * progress, runs it a second time as a blue/green update of the same endpoint, and finally asks the endpoint a
 * question through the AWS SDK. Idempotent: the second `npm run demo` reuses the stack, the dataset, the image
 * (same source hash) and the synced data, and updates the existing endpoint.
 *
 * Ctrl-C cancels the running pipeline (its steps stop their training/tuning jobs), stops the worker, and leaves
 * the stack running (`npm run local -- down` stops it). A second Ctrl-C stops the worker at once.
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PIPELINE_STEPS, type PipelineSummary } from '../contracts/pipeline-plan';
import type { StepStatus } from '../contracts/status';
import { childWorkflowId } from '../contracts/names';
import { approveModelUpdate } from '../contracts/workflow-api';
import { DEFAULT_TASK_QUEUE } from '../contracts/task-queue';
import { REPO_ROOT, stackConfig, workerEnv } from '../local/stack/config';
import { isAlive, readPid, sleep, stopGroup } from '../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../local/shared/credentials';
import { up } from '../local/stack/launcher';
import { codecFromEnv } from '../worker/payload-codec';
import { approveIfWaiting, cancelAndReport, queryStatus, registerModelId } from '../worker/pipeline-client';

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
const datasetDir = path.join(cfg.stateDir, 'dataset');
const specFile = path.join(REPO_ROOT, 'examples', 'pipeline.local.json');
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
      'Ctrl-C: cancelling the running pipeline (its steps stop their jobs), then stopping the worker; Ctrl-C again to stop now',
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

/** The spec's bucket: on AWS it is the user's; in local mode the demo creates it in moto. */
async function ensureBucket(bucket: string): Promise<void> {
  // The bucket is set up by the account's administrator, not the worker (whose policy cannot create buckets).
  const s3 = new S3Client({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    credentials: ADMIN_CREDENTIALS,
  });
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    say(`S3 bucket ${bucket}: exists`);
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    say(`S3 bucket ${bucket}: created in moto`);
  } finally {
    s3.destroy();
  }
}

function prepareDataset(): void {
  const files = ['train', 'val'].map((c) => path.join(datasetDir, c, 'corpus.txt'));
  if (files.every((f) => fs.existsSync(f) && fs.statSync(f).size > 0)) {
    say(`dataset: ${shortPath(datasetDir)}/{train,val} already prepared`);
    return;
  }
  const prepare = path.join(cfg.containerBinDir, 'prepare');
  if (!fs.existsSync(prepare))
    throw new DemoFailure(`${prepare} not found: run \`bash scripts/bootstrap.sh\` (it sets up container/.venv)`);
  const work = fs.mkdtempSync(path.join(cfg.stateDir, 'prepare-'));
  say(`dataset: running the container's \`prepare --source builtin\` (SAGEMAKER_BASE_DIR=${shortPath(work)})`);
  const out = path.join(work, 'processing', 'output');
  const r = spawnSync(prepare, ['--source', 'builtin', '--output', out], {
    env: { ...process.env, SAGEMAKER_BASE_DIR: work },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new DemoFailure(
      `prepare failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`,
    );
  fs.rmSync(datasetDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(datasetDir), { recursive: true });
  fs.renameSync(out, datasetDir);
  fs.rmSync(work, { recursive: true, force: true });
  say(`dataset: ${r.stdout.trim()}`);
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
  fs.mkdirSync(logsDir, { recursive: true });
  const startOffset = fs.existsSync(workerLog) ? fs.statSync(workerLog).size : 0;
  const out = fs.openSync(workerLog, 'a');
  fs.writeSync(out, `\n=== demo worker ${new Date().toISOString()} ===\n`);
  // Its own process group, so Ctrl-C reaches only the demo, which then stops the worker deliberately.
  worker = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(REPO_ROOT, 'worker', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, TEMPORAL_TASK_QUEUE: taskQueue },
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const pid = worker.pid;
  if (pid === undefined) throw new DemoFailure('could not start the worker', [workerLog]);
  fs.writeFileSync(workerPidFile, `${pid}\n`);
  say(`worker: started (pid ${pid}, log ${shortPath(workerLog)}); bundling workflows...`);
  const started = Date.now();
  while (Date.now() - started < 120_000) {
    checkInterrupt();
    if (!isAlive(pid))
      throw new DemoFailure(
        `the worker exited during start:\n${readFrom(workerLog, startOffset).trim().split('\n').slice(-15).join('\n')}`,
        [workerLog],
      );
    if (readFrom(workerLog, startOffset).includes('worker polling task queue')) {
      say(`worker: polling task queue "${taskQueue}" (ready in ${secs(Date.now() - started)})`);
      return;
    }
    await sleep(250);
  }
  throw new DemoFailure('the worker did not start polling within 120 s', [workerLog]);
}

async function stopWorker(): Promise<void> {
  const pid = worker?.pid;
  if (pid === undefined || !isAlive(pid)) return;
  await stopGroup(pid, 15_000);
  fs.rmSync(workerPidFile, { force: true });
  say(`worker: stopped (pid ${pid})`);
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
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
    `pipeline ${workflowId} failed during ${step || 'start'}:\n  ${messages.join('\n  caused by: ') || String(error)}\n  history: ${uiUrl(workflowId)}`,
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
  if (s.training) say(`  training     ${s.training.jobName}  objective=${s.training.objective ?? 'n/a'}`);
  if (s.tuning)
    say(`  tuning       ${s.tuning.jobName}  best ${s.tuning.bestTrainingJob}  objective=${s.tuning.objective}`);
  if (s.registry)
    say(
      `  registry     version ${s.registry.version ?? '?'} ${s.registry.approvalStatus}  champion ${s.registry.champion}`,
    );
  if (s.endpoint) say(`  endpoint     ${s.endpoint.name} ${s.endpoint.action} (config ${s.endpoint.configName})`);
  say(`  max spend    $${s.estimatedMaxSpendUsd.toFixed(2)} (estimate at AWS prices; local mode costs nothing)`);
  say(`  step times   ${r.timings.map((t) => `${t.step} ${secs(t.ms)}`).join(', ')}`);
}

/** While registerModel runs: once it waits for a reviewer, approve as reviewer "demo"; true once sent. */
function approveAsDemo(why: string): NonNullable<RunOptions['duringRegister']> {
  return async (client, workflowId) => {
    try {
      if (!(await approveIfWaiting(client, workflowId, { reviewer: 'demo', reason: `npm run demo: ${why}` })))
        return false;
      say(
        `  approved the version as reviewer "demo" (${why}): update ${approveModelUpdate.name} on ${registerModelId(workflowId)}`,
      );
      return true;
    } catch (err) {
      say(`  ${approveModelUpdate.name} not accepted yet: ${(err as Error).message}`);
      return false;
    }
  };
}

// --- the demo ---------------------------------------------------------------------------------------------------

async function invokeEndpoint(endpointName: string, steps: unknown): Promise<void> {
  // The user asking the model a question is not the worker (its policy does not include InvokeEndpoint).
  const runtime = new SageMakerRuntimeClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
    credentials: ADMIN_CREDENTIALS,
  });
  const prompt = 'The assert statement';
  say(`InvokeEndpoint ${endpointName}: ${JSON.stringify(prompt)}`);
  const res = await runtime.send(
    new InvokeEndpointCommand({
      EndpointName: endpointName,
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: JSON.stringify({ inputs: prompt, parameters: { max_new_tokens: 40 } }),
    }),
  );
  const body = JSON.parse(Buffer.from(res.Body ?? new Uint8Array()).toString('utf8')) as
    { generated_text?: string } | { generated_text?: string }[];
  const text = Array.isArray(body) ? body[0]?.generated_text : body.generated_text;
  say(`answer (variant ${res.InvokedProductionVariant ?? '?'}): ${JSON.stringify(prompt + (text ?? ''))}`);
  say(
    `  (a 0.45 M-parameter byte-level model after ${steps} CPU training steps: it has learnt letters and short words, not sentences)`,
  );
}

async function main(): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as Record<string, unknown> & {
    data: { source: Record<string, unknown> };
    bucket: string;
    tuning: Record<string, unknown>;
    training: Record<string, unknown>;
    registry: { approval?: Record<string, unknown> };
    deployment: { endpointName: string };
  };
  // The spec's dataset path is relative to the repository; the stack's state dir may be elsewhere.
  spec.data.source = { localPath: datasetDir };

  let phaseStart = Date.now();
  await startStack();
  say(`  (${secs(Date.now() - phaseStart)})`);
  checkInterrupt();
  await ensureBucket(spec.bucket);
  prepareDataset();
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
      `run 1: migrationPipeline with ${path.relative(REPO_ROOT, specFile)} (build, publish, sync, 4-host training, 4-trial tuning, register, blue/green deploy)`,
    );
    // Auto approval approves only a model that beats the approved version. A repeated demo trains the same model
    // again (same data, hyperparameters and seed: training is deterministic), so the version ties and waits for a
    // reviewer; the demo then approves it itself, as `npm run cli -- approve <workflow-id>` would.
    const first = await runPipeline(client, spec, {
      label: 'run 1',
      duringRegister: approveAsDemo('it ties the version an earlier demo approved'),
    });
    printSummary('run 1', first);
    if (first.summary.outcome !== 'deployed')
      throw new DemoFailure(`run 1 did not deploy: ${first.summary.message}`, [workerLog]);
    checkInterrupt();

    say(
      'run 2: the same pipeline again, as a blue/green update of the endpoint demo-lm (CANARY: 1 instance first, then all)',
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
    say(`total ${secs(Date.now() - t0)}`);
    process.exit(code);
  });
