/**
 * `npm run histories:record`: runs the pipeline for real in local mode (its own stack: Temporal dev server, moto, the
 * local SageMaker service running the container on CPU; the real activities) and writes the event history of every
 * run and of each of its step workflows to test/histories/, which the replay tests replay on every build.
 *
 * Runs: a first deployment (migrationPipeline), a scheduled retrain (retrainPipeline: warm-started tuning, a manual
 * approval sent through the approveModel update, a blue/green update), and a bad model rolled back by its 5xx alarm.
 * Tiny hyperparameters keep the whole recording to a few minutes on 2 cores.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childWorkflowId, PIPELINE_STEPS } from '../contracts';
import { sleep } from '../local/shared/procs';
import { ADMIN_CREDENTIALS } from '../local/shared/credentials';
import { LocalHarness } from '../local/harness/local-harness';
import { type Spec } from '../local/harness/tiny-spec';
import { writeBadModelProgram } from '../local/harness/bad-model';
import { TEMPORAL_CLI_PATH } from '../local/harness/temporal-test-env';
import { approveIfWaiting, failureChain, queryStatus } from '../worker/pipeline-client';

const OUT = join(__dirname, '..', 'test/histories');
const TASK_QUEUE = 'record-histories';

interface Run {
  id: string;
  type: 'migrationPipeline' | 'retrainPipeline';
  spec: (h: LocalHarness) => Spec;
  /** What the run must end with: a summary outcome, or a failure whose message matches. */
  expect: { outcome: string } | { failure: RegExp };
  /** Send invocations while the deployModel step runs (the rollback alarm needs traffic). */
  traffic?: boolean;
}

const RUNS: Run[] = [
  { id: 'record-migration', type: 'migrationPipeline', spec: (h) => h.spec(), expect: { outcome: 'deployed' } },
  {
    id: 'record-retrain',
    type: 'retrainPipeline',
    // The same data trains the same model, which auto approval would hold: a reviewer approves it through the update.
    spec: (h) => h.spec((s) => (s.registry.approval = { policy: 'manual' })),
    expect: { outcome: 'deployed' },
  },
  {
    id: 'record-rollback',
    type: 'migrationPipeline',
    spec: (h) =>
      h.spec((s) => {
        s.tuning.enabled = false;
        s.training.instanceCount = 1;
        s.training.hyperparameters = writeBadModelProgram(join(h.cfg.stateDir, 'bad-model-code'));
      }),
    expect: { failure: /roll(ed)?[ -]?back/i },
    traffic: true,
  },
];

const say = (msg: string): void => console.log(`[record] ${msg}`);

/** While the run is open: approve a version waiting for review, and send traffic during deployModel when asked. */
async function drive(client: Client, run: Run, spec: Spec, done: () => boolean): Promise<void> {
  const runtime = new SageMakerRuntimeClient({ region: process.env.AWS_REGION, credentials: ADMIN_CREDENTIALS });
  let approved = false;
  while (!done()) {
    const phase = (await queryStatus(client, run.id))?.pipelinePhase;
    if (!approved && phase === 'registerModel') {
      approved = await approveIfWaiting(client, run.id, { reviewer: 'histories-recorder', reason: 'recorded run' });
      if (approved) say(`${run.id}: approved through the approveModel update`);
    }
    if (run.traffic && phase === 'deployModel') {
      const body = JSON.stringify({ inputs: 'The assert statement', parameters: { max_new_tokens: 4 } });
      await runtime
        .send(
          new InvokeEndpointCommand({
            EndpointName: spec.deployment.endpointName,
            ContentType: 'application/json',
            Body: body,
          }),
        )
        .catch(() => undefined);
    }
    await sleep(300);
  }
}

async function record(h: LocalHarness, client: Client, run: Run): Promise<void> {
  const spec = run.spec(h);
  const started = Date.now();
  say(`${run.id}: ${run.type} on the local stack`);
  const handle = await client.workflow.start(run.type, { taskQueue: TASK_QUEUE, workflowId: run.id, args: [spec] });
  let closed = false;
  const driver = drive(client, run, spec, () => closed);
  const result = await handle.result().then(
    (summary: { outcome: string; message?: string }) => ({ summary, error: undefined }),
    (error: Error) => ({ summary: undefined, error }),
  );
  closed = true;
  await driver;
  const got = result.summary ? `outcome ${result.summary.outcome}` : `failed: ${failureChain(result.error)}`;
  const ok =
    'outcome' in run.expect
      ? result.summary?.outcome === run.expect.outcome
      : run.expect.failure.test(failureChain(result.error));
  if (!ok) throw new Error(`${run.id} ended unexpectedly (${got}); logs in ${h.cfg.stateDir}/logs`);
  say(`${run.id}: ${got} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Writes the proto3 JSON form (what historyFromJSON reads) of the run and of every step workflow it started. */
function writeHistories(h: LocalHarness, runId: string): void {
  for (const id of [runId, ...PIPELINE_STEPS.map((s) => childWorkflowId(runId, s))]) {
    let json: string;
    try {
      json = execFileSync(
        TEMPORAL_CLI_PATH,
        ['workflow', 'show', '--workflow-id', id, '--address', h.env.TEMPORAL_ADDRESS as string, '--output', 'json'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch {
      continue; // a step the run never reached (the rollback run has no tuning step)
    }
    const file = join(OUT, `${id.replace('/', '.')}.json`);
    writeFileSync(file, json.endsWith('\n') ? json : `${json}\n`);
    say(`wrote ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
  }
}

async function main(): Promise<void> {
  const h = await LocalHarness.start({ prefix: 'record-histories' });
  let ok = false;
  try {
    const worker = await h.inProcessWorker(TASK_QUEUE);
    const client = await h.client();
    await worker.runUntil(async () => {
      for (const run of RUNS) await record(h, client, run);
    });
    mkdirSync(OUT, { recursive: true });
    for (const f of readdirSync(OUT)) if (f.endsWith('.json')) rmSync(join(OUT, f));
    for (const run of RUNS) writeHistories(h, run.id);
    ok = true;
  } finally {
    await h.stop(!ok);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
