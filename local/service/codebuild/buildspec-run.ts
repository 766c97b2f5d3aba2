/**
 * Runs a buildspec's phases as CodeBuild does (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html,
 * https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html): INSTALL, PRE_BUILD, BUILD,
 * POST_BUILD in order, each command one at a time in the build's shell (build-shell.ts); the first failing command
 * ends the phase's `commands`, its `finally` commands still run, and the phase fails with COMMAND_EXECUTION_ERROR
 * "Error while executing command: <command>. Reason: exit status <n>". After a failure the phase transitions decide
 * what still runs: a failed INSTALL or PRE_BUILD ends the build (FINALIZING), a failed BUILD still runs POST_BUILD,
 * and UPLOAD_ARTIFACTS is attempted after BUILD and POST_BUILD whatever their outcome; a phase's `on-failure:
 * CONTINUE` goes on to the next phase, `ABORT` ends the build. Later phases see CODEBUILD_BUILD_SUCCEEDING=0.
 * `env/exported-variables` are read from the shell once the phases are over.
 */
import type { Buildspec, PhaseKey } from './buildspec';
import type { BuildShell } from './build-shell';
import type { PhaseType } from './build-run';

export interface PhaseFailure {
  phase: PhaseType;
  code: string;
  message: string;
}

export interface PhaseHooks {
  phase(p: PhaseType): void;
  endPhase(status: 'SUCCEEDED' | 'FAILED', message?: string, code?: string): void;
  line(text: string): void;
}

export interface PhasesOutcome {
  /** The first phase that failed, if any. */
  failed?: PhaseFailure;
  /** Whether UPLOAD_ARTIFACTS is still due (false after a failed INSTALL/PRE_BUILD or an ABORT). */
  uploadDue: boolean;
  exported: { name: string; value: string }[];
}

const ORDER: [PhaseKey, PhaseType][] = [
  ['install', 'INSTALL'],
  ['pre_build', 'PRE_BUILD'],
  ['build', 'BUILD'],
  ['post_build', 'POST_BUILD'],
];

/** `[Container] 2026/11/30 15:04:05.123456 <text>`: CodeBuild's agent lines. */
export function containerLine(text: string, at = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp =
    `${at.getUTCFullYear()}/${p(at.getUTCMonth() + 1)}/${p(at.getUTCDate())} ` +
    `${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())}.${p(at.getUTCMilliseconds(), 3)}000`;
  return `[Container] ${stamp} ${text}`;
}

/** The one-line form CodeBuild logs and reports a command under (a multi-line command shows its first line). */
function shown(command: string): string {
  const lines = command.trim().split('\n');
  return lines.length > 1 ? `${lines[0]} ...` : (lines[0] ?? '');
}

async function runCommands(
  commands: string[],
  shell: BuildShell,
  succeeding: boolean,
  hooks: PhaseHooks,
): Promise<string | undefined> {
  for (const command of commands) {
    hooks.line(containerLine(`Running command ${shown(command)}`));
    const { status } = await shell.run(command, succeeding);
    if (status !== 0) {
      hooks.line(containerLine(`Command did not exit successfully ${shown(command)} exit status ${status}`));
      return `Error while executing command: ${shown(command)}. Reason: exit status ${status}`;
    }
  }
  return undefined;
}

/** Runs the four phases; never throws for a failing command (the outcome says what failed). */
export async function runPhases(spec: Buildspec, shell: BuildShell, hooks: PhaseHooks): Promise<PhasesOutcome> {
  let failed: PhaseFailure | undefined;
  let uploadDue = true;
  for (const [key, type] of ORDER) {
    const phase = spec.phases[key];
    hooks.phase(type);
    const succeeding = failed === undefined;
    const inCommands = await runCommands(phase?.commands ?? [], shell, succeeding, hooks);
    // `finally` runs even when a command failed; a failing `finally` command fails the phase too.
    const inFinally = await runCommands(phase?.finally ?? [], shell, succeeding && !inCommands, hooks);
    const message = inCommands ?? inFinally;
    if (!message) {
      hooks.endPhase('SUCCEEDED');
      continue;
    }
    hooks.endPhase('FAILED', message, 'COMMAND_EXECUTION_ERROR');
    failed ??= { phase: type, code: 'COMMAND_EXECUTION_ERROR', message };
    if (phase?.onFailure === 'CONTINUE') continue;
    if (phase?.onFailure === 'ABORT' || type === 'INSTALL' || type === 'PRE_BUILD') {
      uploadDue = false;
      break;
    }
    // BUILD failed: POST_BUILD still runs; POST_BUILD failed: on to UPLOAD_ARTIFACTS.
  }
  const names = spec.exportedVariables.filter((n) => {
    if (!n.startsWith('AWS_')) return true;
    hooks.line(containerLine(`Skipping export of ${n}: environment variables that start with AWS_ cannot be exported`));
    return false;
  });
  const values = names.length ? await shell.read(names) : {};
  const exported = names.filter((n) => n in values).map((n) => ({ name: n, value: values[n] as string }));
  return { failed, uploadDue, exported };
}
