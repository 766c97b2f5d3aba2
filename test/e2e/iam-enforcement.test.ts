/**
 * IAM enforcement is what decides a local pipeline's fate: the stack is pointed (LOCAL_IAM_POLICY_DIR) at a copy of
 * iam/ whose worker policy lacks one action the pipeline needs early, ecr:DescribeRepositories (the image step's
 * first AWS call, and a read of the account preflight before it), and the run fails at once with AWS's
 * AccessDeniedException naming that action; nothing was built.
 * With the policies of iam/ as they are, the same calls pass (test/e2e/pipeline.test.ts runs the whole pipeline).
 */
import { BatchGetProjectsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createActivities } from '../../activities';
import { codeBuildProjectName } from '../../contracts/names';
import { ADMIN_CREDENTIALS } from '../../local/shared/credentials';
import { REPO_ROOT, type StackConfig, workerEnv } from '../../local/stack/config';
import { down, up } from '../../local/stack/launcher';
import { createAwsClients } from '../../worker/aws-clients';
import { projectWorkerOptions } from '../../worker/worker-options';
import { isolatedStackConfig } from '../../testing/isolated-stack';
import { localSpec } from '../../testing/tiny-spec';

jest.setTimeout(600_000);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const REMOVED = 'ecr:DescribeRepositories';
const TASK_QUEUE = `e2e-iam-${process.pid}`;

let cfg: StackConfig;
let policyDir: string;
let stackUp = false;
let nativeConnection: NativeConnection | undefined;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
let connection: Connection | undefined;

/** A copy of iam/ whose worker policy no longer grants `action` (every statement that names it loses it). */
function policiesWithout(action: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-policies-'));
  for (const f of fs.readdirSync(path.join(REPO_ROOT, 'iam')))
    fs.copyFileSync(path.join(REPO_ROOT, 'iam', f), path.join(dir, f));
  const file = path.join(dir, 'worker-policy.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { Statement: { Action: string | string[] }[] };
  let removed = 0;
  doc.Statement = doc.Statement.flatMap((s) => {
    const actions = [s.Action].flat();
    const kept = actions.filter((a) => a !== action);
    removed += actions.length - kept.length;
    return kept.length ? [{ ...s, Action: kept }] : [];
  });
  if (removed === 0) throw new Error(`${action} is not in iam/worker-policy.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2));
  return dir;
}

/** Every message down a failure's cause chain. */
function messages(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.message) out.push(e.message);
  return out;
}

beforeAll(async () => {
  cfg = await isolatedStackConfig('iam-e2e', path.join(REPO_ROOT, 'container/.venv/bin'));
  policyDir = policiesWithout(REMOVED);
  // The service (started by `up`) reads its policies from here; the AWS SDK reads AWS_ENDPOINT_URL_* itself.
  process.env.LOCAL_IAM_POLICY_DIR = policyDir;
  delete process.env.LOCAL_IAM;
  Object.assign(process.env, workerEnv(cfg));
  await up(cfg);
  stackUp = true;
  nativeConnection = await NativeConnection.connect({ address: workerEnv(cfg).TEMPORAL_ADDRESS });
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue: TASK_QUEUE,
    ...projectWorkerOptions(),
    activities: createActivities({ clients: createAwsClients({ region: workerEnv(cfg).AWS_REGION as string }) }),
  });
  workerRun = worker.run();
  connection = await Connection.connect({ address: workerEnv(cfg).TEMPORAL_ADDRESS });
});

afterAll(async () => {
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await workerRun?.catch(() => undefined);
  await connection?.close();
  await nativeConnection?.close();
  if (stackUp) await down(cfg);
  delete process.env.LOCAL_IAM_POLICY_DIR;
  if (policyDir) fs.rmSync(policyDir, { recursive: true, force: true });
  if (cfg) fs.rmSync(cfg.stateDir, { recursive: true, force: true });
});

test(`a worker policy without ${REMOVED} fails the pipeline at once with AccessDenied naming it`, async () => {
  const spec = localSpec(path.join(cfg.stateDir, 'dataset'));
  delete spec.$schema;
  const client = new Client({ connection: connection as Connection });
  const started = Date.now();
  const err = await client.workflow
    .execute('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId: `e2e-iam-${Date.now().toString(36)}`,
      args: [spec],
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const text = messages(err).join('\n');
  expect(text).toContain('AccessDeniedException');
  expect(text).toContain(
    `User: arn:aws:sts::123456789012:assumed-role/PipelineWorkerRole/local-worker is not authorized to perform: ${REMOVED} on resource: arn:aws:ecr:us-east-1:123456789012:repository/jax-lm because no identity-based policy allows the ${REMOVED} action`,
  );
  // A permission error is not retried: the run ends in the account preflight (checkAccount reads the repository),
  // well before any build could run.
  expect(Date.now() - started).toBeLessThan(120_000);
  // Nothing was created: the run stopped before its image step.
  const cb = new CodeBuildClient({ region: 'us-east-1', credentials: ADMIN_CREDENTIALS });
  const projects = await cb.send(
    new BatchGetProjectsCommand({ names: [codeBuildProjectName(spec.pipelineName as string)] }),
  );
  expect(projects.projects ?? []).toEqual([]);
});
