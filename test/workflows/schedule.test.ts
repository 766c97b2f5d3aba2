import { join } from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { runOperatorCli } from '../../worker/cli';
import { createDevServerEnv } from '../../testing/temporal-test-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const SPEC = join(__dirname, '../../examples/pipeline.local.json');
/** `npm run cli -- schedule <line>` against the dev server; resolves to what it printed, rejects with its error. */
async function cli(line: string[]): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOperatorCli(
    ['schedule', ...line],
    { TEMPORAL_ADDRESS: env.address },
    { out: (l) => out.push(l), err: (l) => err.push(l) },
  );
  if (code !== 0) throw new Error(`exit ${code}: ${err.join('')}`);
  return out.join('').trim();
}

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

  it('explains bad arguments, naming them, before connecting anywhere', async () => {
    await expect(cli(['create', '--spec'])).rejects.toThrow(
      /exit 2: error: option '--spec <spec.json>' argument missing/,
    );
    await expect(cli(['create', '--spec', SPEC, '--every', '1d', '--cron', '0 3 * * *'])).rejects.toThrow(
      /use --every or --cron, not both/,
    );
    await expect(cli(['pause', '--idd', 'x'])).rejects.toThrow(/unknown option '--idd'/);
  });
});
