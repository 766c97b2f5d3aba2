/**
 * The search attributes the pipeline upserts, against a dev server that lacks one (as a namespace set up before it
 * was added would): the worker refuses to start and prints the commands that register it, instead of wedging the
 * first workflow task; `npm run local -- up` adds it to a running local server.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PIPELINE_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { ensureSearchAttributes } from '../../local/stack/search-attributes';
import { findSearchAttributeGaps, noGaps, searchAttributeGapsMessage } from '../../worker/search-attribute-check';
import {
  APPROVAL_STATUS,
  ENDPOINT_NAME,
  MODEL_PACKAGE_VERSION,
  PIPELINE_STEP,
} from '../../workflows/search-attributes';
import { TEMPORAL_CLI_PATH } from '../../testing/temporal-test-env';

const ROOT = join(__dirname, '../..');
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: TEMPORAL_CLI_PATH },
      ip: '127.0.0.1',
      searchAttributes: [PIPELINE_STEP, MODEL_PACKAGE_VERSION, ENDPOINT_NAME], // ApprovalStatus missing
    },
  });
});
afterAll(async () => {
  await env?.teardown();
});

it('the keys the workflows upsert are the list the check, the local stack and the docs use', () => {
  const keys = [PIPELINE_STEP, MODEL_PACKAGE_VERSION, ENDPOINT_NAME, APPROVAL_STATUS];
  expect(Object.fromEntries(keys.map((k) => [k.name, k.type]))).toEqual({
    PipelineStep: 'KEYWORD',
    ModelPackageVersion: 'INT',
    EndpointName: 'KEYWORD',
    ApprovalStatus: 'KEYWORD',
  });
  expect(Object.keys(PIPELINE_SEARCH_ATTRIBUTES).sort()).toEqual(keys.map((k) => k.name).sort());
});

it('the worker refuses to start without a search attribute, printing the commands that register it', async () => {
  const gaps = await findSearchAttributeGaps(env.connection.operatorService, 'default');
  expect(gaps).toEqual({ missing: [{ name: 'ApprovalStatus', type: 'Keyword' }], wrongType: [] });
  const message = searchAttributeGapsMessage(gaps, 'default');
  expect(message).toMatch(
    /temporal operator search-attribute create --namespace default --name ApprovalStatus --type Keyword/,
  );
  expect(message).toMatch(
    /tcld namespace search-attributes add --namespace default --search-attribute "ApprovalStatus=Keyword"/,
  );

  const started = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'worker/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TEMPORAL_ADDRESS: env.address, AWS_REGION: 'us-east-1' },
  }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  );
  expect(started.code).toBe(1);
  expect(started.stderr).toMatch(/missing search attributes the pipeline upserts/);
  expect(started.stderr).toMatch(/missing: ApprovalStatus \(Keyword\)/);
  expect(started.stderr).toMatch(/--name ApprovalStatus --type Keyword/);
});

it('npm run local -- up registers what a running dev server lacks', async () => {
  expect(await ensureSearchAttributes(env.address)).toEqual(['ApprovalStatus']);
  expect(await ensureSearchAttributes(env.address)).toEqual([]);
  expect(noGaps(await findSearchAttributeGaps(env.connection.operatorService, 'default'))).toBe(true);
});
