/** `npm run cli -- validate <spec.json>`: checks a pipeline spec without talking to anything. */
import { readFileSync } from 'node:fs';
import { formatIssues, validateSpec } from '../../contracts/validation';

/** Reads and validates a spec file; prints OK or every invalid field by JSON path; returns the exit status. */
export function validateCommand(file: string, out = console.log, err = console.error): number {
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
      `OK ${file}: pipeline "${s.pipelineName}", training ${s.training.instanceCount} x ${s.training.instanceType}, tuning ${s.tuning.enabled ? `${s.tuning.maxJobs} trials` : 'off'}, endpoint "${s.deployment.endpointName}"`,
    );
    return 0;
  }
  err(`${file}: ${result.issues.length} invalid field(s)\n${formatIssues(result.issues)}`);
  return 1;
}
