/**
 * One way to build the project's command lines (`npm run cli`, `npm run local`, `npm run bench`, `npm run chaos`) on
 * commander: `--help` on every command exits 0 before any configuration is read, unknown flags, missing values and
 * stray arguments are errors that name them (exit 2, with a pointer to --help), and the value parsers below name the
 * flag and what it accepts.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError } from './config';

/** Where a command line writes; tests capture it. */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The process's own stdout and stderr. */
export const PROCESS_IO: CommandIo = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** Exit status of a usage error (unknown flag or command, missing value, bad value). */
export const USAGE_ERROR = 2;

/** A failure a command reports with its own message and exit status (no stack trace). */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A program (or sub-command) with the project's conventions; add commands and options to it. */
export function commandLine(name: string, description: string, io: CommandIo = PROCESS_IO): Command {
  const program = new Command(name).description(description);
  return configure(program, io);
}

function configure(cmd: Command, io: CommandIo): Command {
  return cmd
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError(`(add --help for usage)`)
    .allowExcessArguments(false);
}

/** Creates a sub-command of `parent` with the same conventions (commander copies output settings, not overrides). */
export function subcommand(parent: Command, nameAndArgs: string, description: string, io: CommandIo): Command {
  return configure(parent.command(nameAndArgs).description(description), io);
}

const exitStatus = new WeakMap<Command, number>();
const rootOf = (cmd: Command): Command => (cmd.parent ? rootOf(cmd.parent) : cmd);

/**
 * Sets `cmd`'s action: `fn` gets the positional arguments, then the options, then the command (commander's order),
 * and returns the exit status (nothing: 0). Mind arrow bodies: `() => io.out(x)` returns whatever `out` returns.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function onRun(cmd: Command, fn: (...args: any[]) => Promise<number | void> | number | void): Command {
  return cmd.action(async (...args: unknown[]) => {
    const code = await fn(...args);
    exitStatus.set(rootOf(cmd), typeof code === 'number' ? code : 0);
  });
}

/**
 * Parses `argv` (the arguments after the program name) and runs the chosen action; returns the exit status. A
 * CommandFailure or ConfigError is printed without a stack trace.
 */
export async function runCommandLine(program: Command, argv: string[], io: CommandIo = PROCESS_IO): Promise<number> {
  exitStatus.delete(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitStatus.get(program) ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help asked for: 0. Help shown because a command was missing, or any parse error: a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : USAGE_ERROR;
    }
    if (err instanceof CommandFailure) {
      io.err(err.message);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 1;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/** A positive integer option value. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

/** A number >= 0 option value (shares, rates, seeds). */
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0.');
  return n;
}

/** A number > 0 option value. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0.');
  return n;
}

/** "90s", "45m", "1h", "3d" as seconds. */
export function durationSeconds(value: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a duration such as 90s, 45m, 1h or 3d.');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** A comma-separated list of values, each checked by `each`. */
export function listOf<T>(each: (v: string) => T): (value: string) => T[] {
  return (value) =>
    value
      .split(',')
      .filter((v) => v.trim() !== '')
      .map((v) => each(v.trim()));
}
