/** `npm run cli -- schedule create|pause|unpause|trigger|delete|describe`: the retraining Temporal Schedule. */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { formatIssues, validateSpec } from '../../contracts/validation';
import { CommandFailure, type CommandIo, onRun } from '../command-line';
import { readSpecFile } from '../spec-file';
import { type Env, withTemporal } from './session';

/** Options of `schedule create`. */
export interface ScheduleCreateOptions {
  id: string;
  spec: string;
  every?: string;
  cron?: string;
  note?: string;
}

/** Creates the schedule that starts retrainPipeline with the spec; returns the line to print. */
export async function createSchedule(client: Client, taskQueue: string, o: ScheduleCreateOptions): Promise<string> {
  // Code paths in the spec are relative to its file: the schedule carries them resolved.
  const read = readSpecFile(o.spec);
  if (!read.ok) throw new CommandFailure(`--spec ${read.message}`);
  const raw = read.raw;
  const valid = validateSpec(raw);
  if (!valid.ok) throw new CommandFailure(`--spec ${o.spec} is invalid:\n${formatIssues(valid.issues)}`);
  const spec = o.cron ? { cronExpressions: [o.cron] } : { intervals: [{ every: (o.every ?? '1d') as `${number}d` }] };
  await client.schedule.create({
    scheduleId: o.id,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'retrainPipeline',
      args: [raw],
      taskQueue,
      workflowId: `${o.id}-run`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
    state: { note: o.note ?? `retrain ${valid.spec.pipelineName}` },
  });
  return `created schedule "${o.id}" (${o.cron ?? `every ${o.every ?? '1d'}`}, overlap SKIP) starting retrainPipeline on "${taskQueue}"`;
}

/** The line `schedule describe` prints. */
async function describeSchedule(client: Client, id: string): Promise<string> {
  const d = await client.schedule.getHandle(id).describe();
  const recent = d.info.recentActions
    .map((a) => `${a.takenAt.toISOString()} ${a.action.workflow.workflowId}`)
    .join(', ');
  return `schedule "${id}": ${d.state.paused ? 'paused' : 'active'}; next ${d.info.nextActionTimes[0]?.toISOString() ?? 'none'}; recent: ${recent || 'none'}`;
}

/** Adds `schedule` and its sub-commands to the CLI. */
export function addScheduleCommands(program: Command, env: Env, io: CommandIo): void {
  const schedule = program
    .command('schedule')
    .description('the Temporal Schedule that starts retrainPipeline on a cadence (overlap policy SKIP)');
  const idOption = ['--id <id>', 'schedule ID', 'retrain'] as const;
  const run = (fn: (client: Client, taskQueue: string) => Promise<string>) =>
    withTemporal(env, undefined, async (client, config) => {
      io.out(await fn(client, config.temporal.taskQueue));
    });

  onRun(
    schedule
      .command('create')
      .description('create the schedule for a spec (validated first)')
      .requiredOption('--spec <spec.json>', 'the pipeline spec each scheduled run gets')
      .option(...idOption)
      .option('--every <interval>', 'interval between runs, e.g. 1d or 7d (default 1d)')
      .option('--cron <expression>', 'a cron expression instead of --every, e.g. "0 3 * * 1"')
      .option('--note <text>', 'note shown with the schedule'),
    async (o: ScheduleCreateOptions) => {
      if (o.every && o.cron) throw new CommandFailure('schedule create: use --every or --cron, not both', 2);
      await run((client, taskQueue) => createSchedule(client, taskQueue, o));
    },
  );
  const simple: [string, string, (client: Client, id: string, note?: string) => Promise<string>][] = [
    [
      'pause',
      'pause the schedule (running runs go on)',
      async (c, id, note) => (
        await c.schedule.getHandle(id).pause(note ?? 'paused from the CLI'),
        `paused schedule "${id}"`
      ),
    ],
    [
      'unpause',
      'resume the schedule',
      async (c, id, note) => (
        await c.schedule.getHandle(id).unpause(note ?? 'unpaused from the CLI'),
        `unpaused schedule "${id}"`
      ),
    ],
    [
      'trigger',
      'start a run now (skipped if one is still going)',
      async (c, id) => (
        await c.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.SKIP),
        `triggered schedule "${id}" now (skipped if a run is still going)`
      ),
    ],
    [
      'delete',
      'delete the schedule (running runs go on)',
      async (c, id) => (await c.schedule.getHandle(id).delete(), `deleted schedule "${id}"`),
    ],
    ['describe', 'state, next run and recent runs', (c, id) => describeSchedule(c, id)],
  ];
  for (const [name, about, act] of simple) {
    const cmd = schedule
      .command(name)
      .description(about)
      .option(...idOption);
    if (name === 'pause' || name === 'unpause') cmd.option('--note <text>', 'why (shown with the schedule)');
    onRun(cmd, async (o: { id: string; note?: string }) => run((client) => act(client, o.id, o.note)));
  }
}
