/** Small operator CLI: `npm run cli -- <command>`. */
import { readFileSync } from 'node:fs';
import { formatIssues, validateSpec } from '../contracts/validation';
import { ConfigError } from './config';
import { approve, reject, registerModelId } from './pipeline-client';
import { parseScheduleArgs, scheduleCommand } from './schedule-command';
import { connectClient } from './temporal-client';

const USAGE = `usage: npm run cli -- <command>
  validate <spec.json>                 check a pipeline spec; prints OK or every invalid field by JSON path
  schedule create --spec <spec.json> [--id retrain] [--every 1d | --cron "0 3 * * *"]
  schedule pause|unpause|trigger|delete|describe [--id retrain]
  approve <pipeline-workflow-id> --reviewer <name> --reason <text>
  reject  <pipeline-workflow-id> --reviewer <name> --reason <text>`;

/** Reads and validates a spec file; returns the process exit code. */
export function validateCommand(file: string | undefined, out = console.log, err = console.error): number {
  if (!file) {
    err(`validate: missing <spec.json>\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    err(`${file}: cannot read: ${(e as Error).message}`);
    return 1;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    err(`${file}: not valid JSON: ${(e as Error).message}`);
    return 1;
  }
  const result = validateSpec(raw);
  if (result.ok) {
    const s = result.spec;
    out(
      `OK ${file}: pipeline "${s.pipelineName}", training ${s.training.instanceCount} x ` +
        `${s.training.instanceType}, tuning ${s.tuning.enabled ? `${s.tuning.maxJobs} trials` : 'off'}, endpoint ` +
        `"${s.deployment.endpointName}"`,
    );
    return 0;
  }
  err(`${file}: ${result.issues.length} invalid field(s)\n${formatIssues(result.issues)}`);
  return 1;
}

/** Sends the approve/reject update to the pipeline's registerModel step and prints the outcome. */
async function decideCommand(decision: 'approve' | 'reject', argv: string[]): Promise<number> {
  const [workflowId, ...rest] = argv;
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const reviewer = flag('reviewer');
  const reason = flag('reason');
  if (!workflowId || !reviewer || !reason) {
    console.error(`${decision}: needs <pipeline-workflow-id> --reviewer <name> --reason <text>`);
    return 2;
  }
  const { client, connection } = await connectClient();
  try {
    const target = registerModelId(workflowId);
    const result = await (decision === 'approve' ? approve : reject)(client, workflowId, { reviewer, reason });
    console.log(`${decision}d ${target}: ${JSON.stringify(result)}`);
    return 0;
  } finally {
    await connection.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'validate':
      return validateCommand(args[0]);
    case 'schedule': {
      const { client, connection, config } = await connectClient();
      try {
        console.log(await scheduleCommand(client, config.temporal.taskQueue, parseScheduleArgs(args)));
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'approve':
    case 'reject':
      return decideCommand(command, args);
    default:
      console.error(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof ConfigError ? err.message : `error: ${(err as Error).message ?? String(err)}`);
      process.exit(1);
    },
  );
}
