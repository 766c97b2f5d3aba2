import { join } from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseScheduleArgs, scheduleCommand } from '../../worker/schedule-command';
import { createDevServerEnv } from '../../local/harness/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SPEC = join(__dirname, '../../examples/pipeline.local.json');
const cli = (line: string[]) => scheduleCommand(env.client, 'sagemaker-pipeline', parseScheduleArgs(line));

describe('retraining schedule (npm run cli -- schedule ...) against the dev server', () => {
  it('creates a SKIP-overlap schedule of retrainPipeline with the spec, pauses, unpauses and deletes it', async () => {
    expect(await cli(['create', '--spec', SPEC, '--id', 'nightly', '--cron', '0 3 * * *'])).toMatch(
      /created schedule "nightly".*overlap SKIP/,
    );
    const handle = env.client.schedule.getHandle('nightly');
    const d = await handle.describe();
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'retrainPipeline',
      taskQueue: 'sagemaker-pipeline',
    });
    expect((d.action as { args: { pipelineName: string }[] }).args[0]?.pipelineName).toBe('demo');
    expect(d.spec.calendars?.length).toBeGreaterThan(0);

    expect(await cli(['pause', '--id', 'nightly'])).toBe('paused schedule "nightly"');
    expect((await handle.describe()).state.paused).toBe(true);
    expect(await cli(['unpause', '--id', 'nightly'])).toBe('unpaused schedule "nightly"');
    expect(await cli(['describe', '--id', 'nightly'])).toMatch(/active; next \d{4}-/);
    expect(await cli(['delete', '--id', 'nightly'])).toBe('deleted schedule "nightly"');
    await expect(handle.describe()).rejects.toThrow(/not found/i);
  });

  it('refuses an invalid spec before creating anything, naming the field', async () => {
    await expect(cli(['create', '--spec', join(__dirname, '../../package.json'), '--id', 'bad'])).rejects.toThrow(
      /\$\.pipelineName: required/,
    );
    await expect(env.client.schedule.getHandle('bad').describe()).rejects.toThrow(/not found/i);
  });

  it('explains bad arguments', () => {
    expect(() => parseScheduleArgs(['create', '--spec'])).toThrow(/expected --flag value/);
  });
});
