/** Small operator CLI: `npm run cli -- <command>`. */
import { readFileSync } from 'node:fs';
import { formatIssues, validateSpec } from '../contracts/validation';

const USAGE = `usage: npm run cli -- <command>
  validate <spec.json>   check a pipeline spec; prints OK or every invalid field by JSON path`;

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
    out(`OK ${file}: pipeline "${s.pipelineName}", training ${s.training.instanceCount} x ${s.training.instanceType}, tuning ${s.tuning.enabled ? `${s.tuning.maxJobs} trials` : 'off'}, endpoint "${s.deployment.endpointName}"`);
    return 0;
  }
  err(`${file}: ${result.issues.length} invalid field(s)\n${formatIssues(result.issues)}`);
  return 1;
}

function main(argv: string[]): number {
  const [command, ...args] = argv;
  switch (command) {
    case 'validate':
      return validateCommand(args[0]);
    default:
      console.error(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
      return 2;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
