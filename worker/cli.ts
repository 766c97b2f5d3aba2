/** Small operator CLI: `npm run cli -- <command>`. */
import { checkSourceDir } from '../activities/user-code';
import type { PipelineSpec } from '../contracts/pipeline-spec';
import { formatIssues, type SpecIssue, validateSpec } from '../contracts/validation';
import { ConfigError } from './config';
import { approve, reject, registerModelId } from './pipeline-client';
import { parseScheduleArgs, scheduleCommand } from './schedule-command';
import { readSpecFile } from './spec-file';
import { connectClient } from './temporal-client';

const USAGE = `usage: npm run cli -- <command>
  validate <spec.json>                 check a pipeline spec (and its code directories); prints OK or every invalid field by JSON path
  resolve <spec.json>                  print the spec with its code paths made absolute (relative paths are relative to the
                                       spec file), for temporal workflow start --input-file
  schedule create --spec <spec.json> [--id retrain] [--every 1d | --cron "0 3 * * *"]
  schedule pause|unpause|trigger|delete|describe [--id retrain]
  approve <pipeline-workflow-id> --reviewer <name> --reason <text>
  reject  <pipeline-workflow-id> --reviewer <name> --reason <text>`;

/** The file checks of a valid spec's code sections (directories, entry points, size); none for s3:// sources. */
async function checkCode(spec: PipelineSpec): Promise<{ issues: SpecIssue[]; notes: string[] }> {
  const issues: SpecIssue[] = [];
  const notes: string[] = [];
  for (const [field, code] of [
    ['training.code', spec.training.code],
    ['deployment.code', spec.deployment.code],
  ] as const) {
    if (!code) continue;
    if (code.sourceDir.startsWith('s3://')) {
      notes.push(`${field} ${code.sourceDir}`);
      continue;
    }
    const checked = await checkSourceDir(field, code.sourceDir, code.entryPoint);
    issues.push(...checked.issues);
    notes.push(`${field} ${code.entryPoint} (${checked.files.length} files)`);
  }
  return { issues, notes };
}

/** Reads and validates a spec file (its code directories too); resolves to the process exit code. */
export async function validateCommand(
  file: string | undefined,
  out = console.log,
  err = console.error,
): Promise<number> {
  if (!file) {
    err(`validate: missing <spec.json>\n${USAGE}`);
    return 2;
  }
  const read = readSpecFile(file);
  if (!read.ok) {
    err(read.message);
    return 1;
  }
  const result = validateSpec(read.raw);
  if (!result.ok) {
    err(`${file}: ${result.issues.length} invalid field(s)\n${formatIssues(result.issues)}`);
    return 1;
  }
  const s = result.spec;
  const code = await checkCode(s);
  if (code.issues.length) {
    err(`${file}: ${code.issues.length} invalid field(s)\n${formatIssues(code.issues)}`);
    return 1;
  }
  out(
    `OK ${file}: pipeline "${s.pipelineName}", training ${s.training.instanceCount} x ` +
      `${s.training.instanceType}, tuning ${s.tuning.enabled ? `${s.tuning.maxJobs} trials` : 'off'}, endpoint ` +
      `"${s.deployment.endpointName}"${code.notes.length ? `, ${code.notes.join(', ')}` : ''}`,
  );
  return 0;
}

/** Prints a spec file with its code paths made absolute, for `temporal workflow start --input-file`. */
function resolveCommand(file: string | undefined): number {
  if (!file) {
    console.error(`resolve: missing <spec.json>\n${USAGE}`);
    return 2;
  }
  const read = readSpecFile(file);
  if (!read.ok) {
    console.error(read.message);
    return 1;
  }
  console.log(JSON.stringify(read.raw, null, 2));
  return 0;
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
    case 'resolve':
      return resolveCommand(args[0]);
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
