/**
 * The broken-spec corpus (bench/chaos/corpus/bad-input/specs.json) started as migrationPipeline: each fails at once
 * with a non-retryable SpecInvalid naming the bad fields, before any activity (so before any AWS call). Cases that are
 * not JSON cannot be sent by a Temporal client, and a spec over Temporal's 2 MB payload limit is refused by the server
 * before a workflow exists; both are left to the CLI test.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PipelineSpecInput } from '../../contracts';
import { migrationPipeline } from '../../workflows';
import { loadSpecCases, specText } from '../../bench/chaos/corpus/bad-input/spec-cases';
import { createFakeActivities } from '../../testing/scripted-activities';
import { createDevServerEnv, createTestWorker, uniqueTaskQueue } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const cases = loadSpecCases()
  .map((c) => ({ c, text: specText(c) }))
  .filter(({ c, text }) => c.raw === undefined && text.length < 1024 * 1024);

test('every JSON case of the corpus fails with SpecInvalid naming its fields, and no activity runs', async () => {
  const fakes = createFakeActivities();
  const taskQueue = uniqueTaskQueue('bad-spec');
  const worker = await createTestWorker(env, taskQueue, fakes.impl);
  const failures = await worker.runUntil(
    Promise.all(
      cases.map(({ c, text }) =>
        env.client.workflow
          .execute(migrationPipeline, {
            taskQueue,
            workflowId: `bad-spec-${c.name}`,
            args: [JSON.parse(text) as PipelineSpecInput],
          })
          .then(
            () => ({ c, error: undefined as unknown }),
            (error: unknown) => ({ c, error }),
          ),
      ),
    ),
  );
  expect(cases.length).toBeGreaterThan(30);
  for (const { c, error } of failures) {
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect({
      name: c.name,
      type: (cause as ApplicationFailure).type,
      nonRetryable: (cause as ApplicationFailure).nonRetryable,
    }).toEqual({ name: c.name, type: 'SpecInvalid', nonRetryable: true });
    const lines = (cause as ApplicationFailure).message.split('\n');
    for (const p of c.expect)
      expect({ name: c.name, names: p, found: lines.some((l) => l.startsWith(`${p}: `)) }).toEqual({
        name: c.name,
        names: p,
        found: true,
      });
  }
  expect(fakes.calls).toEqual({});
});
