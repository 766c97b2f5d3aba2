/**
 * `npm run histories:record`: runs the pipeline (and so every step workflow as a child) on a real Temporal dev
 * server and writes each run's event history to test/histories/, which the replay tests replay on every build.
 * Activities are the scripted fakes in test/fixtures (the histories exercise workflow code, not AWS).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Worker } from '@temporalio/worker';
import { PIPELINE_STEPS, type PipelineSpecInput } from '../contracts';
import { createFakeActivities, type FakeOptions } from '../test/fixtures/fake-activities';
import { createDevServerEnv, TEMPORAL_CLI_PATH } from '../test/helpers/temporal';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'test/histories');
const spec: PipelineSpecInput = JSON.parse(readFileSync(join(ROOT, 'examples/pipeline.local.json'), 'utf8'));

/** The runs recorded: a first deployment, and a blue/green update by the retraining workflow. */
const RUNS: { id: string; type: 'migrationPipeline' | 'retrainPipeline'; options: FakeOptions }[] = [
  { id: 'record-migration', type: 'migrationPipeline', options: {} },
  { id: 'record-retrain', type: 'retrainPipeline', options: { endpointExists: true, approvedObjective: 2.5 } },
];

async function main(): Promise<void> {
  const env = await createDevServerEnv();
  const { client, nativeConnection: native } = env;
  try {
    mkdirSync(OUT, { recursive: true });
    for (const run of RUNS) {
      const taskQueue = `record-${run.id}`;
      const worker = await Worker.create({ connection: native, taskQueue, workflowsPath: require.resolve('../workflows'), activities: createFakeActivities(run.options).impl });
      const result = await worker.runUntil(client.workflow.execute(run.type, { taskQueue, workflowId: run.id, args: [spec] }));
      console.log(`[record] ${run.type} ${run.id}: ${(result as { outcome: string }).outcome}`);
      const ids = [run.id, ...PIPELINE_STEPS.map((s) => `${run.id}/${s}`)];
      for (const id of ids) {
        // The CLI writes the proto3 JSON form that historyFromJSON reads back in the replay test.
        const json = execFileSync(TEMPORAL_CLI_PATH, ['workflow', 'show', '--workflow-id', id, '--address', env.address, '--output', 'json'], { encoding: 'utf8' });
        const file = join(OUT, `${id.replace('/', '.')}.json`);
        writeFileSync(file, json.endsWith('\n') ? json : `${json}\n`);
        console.log(`[record] wrote ${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
      }
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
