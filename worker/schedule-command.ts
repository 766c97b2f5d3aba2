/** `npm run cli -- schedule create|pause|unpause|trigger|delete|describe`: the retraining Temporal Schedule. */
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { formatIssues, validateSpec } from '../contracts/validation';
import { readSpecFile } from './spec-file';

/** Parsed `schedule` arguments. */
export interface ScheduleArgs {
  action: string;
  id: string;
  spec?: string;
  every?: string;
  cron?: string;
  note?: string;
}

/** Parses `--flag value` pairs after the action. */
export function parseScheduleArgs(argv: string[]): ScheduleArgs {
  const [action = '', ...rest] = argv;
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i] ?? '';
    if (!key.startsWith('--') || rest[i + 1] === undefined) throw new Error(`expected --flag value, got "${key}"`);
    flags[key.slice(2)] = rest[i + 1] as string;
  }
  return {
    action,
    id: flags.id ?? 'retrain',
    spec: flags.spec,
    every: flags.every,
    cron: flags.cron,
    note: flags.note,
  };
}

/** Runs one schedule action against Temporal; returns the line to print. */
export async function scheduleCommand(client: Client, taskQueue: string, args: ScheduleArgs): Promise<string> {
  const handle = client.schedule.getHandle(args.id);
  switch (args.action) {
    case 'create': {
      if (!args.spec) throw new Error('schedule create needs --spec <spec.json>');
      const read = readSpecFile(args.spec);
      if (!read.ok) throw new Error(read.message);
      const raw = read.raw;
      const valid = validateSpec(raw);
      if (!valid.ok) throw new Error(`${args.spec} is invalid:\n${formatIssues(valid.issues)}`);
      const spec = args.cron
        ? { cronExpressions: [args.cron] }
        : { intervals: [{ every: (args.every ?? '1d') as `${number}d` }] };
      await client.schedule.create({
        scheduleId: args.id,
        spec,
        action: {
          type: 'startWorkflow',
          workflowType: 'retrainPipeline',
          args: [raw],
          taskQueue,
          workflowId: `${args.id}-run`,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
        state: { note: args.note ?? `retrain ${valid.spec.pipelineName}` },
      });
      const when = args.cron ?? `every ${args.every ?? '1d'}`;
      return `created schedule "${args.id}" (${when}, overlap SKIP) starting retrainPipeline on "${taskQueue}"`;
    }
    case 'pause':
      await handle.pause(args.note ?? 'paused from the CLI');
      return `paused schedule "${args.id}"`;
    case 'unpause':
      await handle.unpause(args.note ?? 'unpaused from the CLI');
      return `unpaused schedule "${args.id}"`;
    case 'trigger':
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
      return `triggered schedule "${args.id}" now (skipped if a run is still going)`;
    case 'delete':
      await handle.delete();
      return `deleted schedule "${args.id}"`;
    case 'describe': {
      const d = await handle.describe();
      const recent = d.info.recentActions
        .map((a) => `${a.takenAt.toISOString()} ${a.action.workflow.workflowId}`)
        .join(', ');
      const next = d.info.nextActionTimes[0]?.toISOString() ?? 'none';
      const state = d.state.paused ? 'paused' : 'active';
      return `schedule "${args.id}": ${state}; next ${next}; recent: ${recent || 'none'}`;
    }
    default:
      throw new Error(`unknown schedule action "${args.action}" (create, pause, unpause, trigger, delete, describe)`);
  }
}
