/**
 * `npm run cli -- validate <spec.json>` checks a pipeline spec (and its code directories) without talking to
 * anything; `resolve <spec.json>` prints it with its code paths made absolute, for `temporal workflow start`.
 */
import { stat } from 'node:fs/promises';
import { checkSourceDir } from '../../activities/user-code';
import type { PipelineSpec } from '../../contracts/pipeline-spec';
import { formatIssues, type SpecIssue, validateSpec } from '../../contracts/validation';
import { readSpecFile } from '../spec-file';

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
  // A local evaluation file must exist before a run waits hours of training to find out it does not.
  const evalInput = spec.evaluation.enabled ? spec.evaluation.input : undefined;
  if (evalInput && 'localPath' in evalInput) {
    const info = await stat(evalInput.localPath).catch(() => null);
    if (!info?.isFile())
      issues.push({
        path: '$.evaluation.input.localPath',
        message: `${evalInput.localPath} ${info ? 'is not a file' : 'does not exist'}`,
      });
  }
  return { issues, notes };
}

/** Reads and validates a spec file (its code directories too); prints OK or every invalid field; the exit status. */
export async function validateCommand(file: string, out = console.log, err = console.error): Promise<number> {
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

/** Prints a spec file with its code paths made absolute (relative paths are relative to the spec file). */
export function resolveCommand(file: string, out = console.log, err = console.error): number {
  const read = readSpecFile(file);
  if (!read.ok) {
    err(read.message);
    return 1;
  }
  out(JSON.stringify(read.raw, null, 2));
  return 0;
}
