/**
 * Shared by `npm run bench` and `npm run chaos`: one sub-command per module of a folder (its options declared by the
 * module), `all` (what no name runs) runs every module in order with its defaults, `list` names them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type CommandIo, commandLine, onRun, PROCESS_IO, runCommandLine } from '../../worker/command-line';

/**
 * A bench or campaign module: a one-line `about`, the options it takes (declared on its sub-command), and `run`,
 * which gets them parsed (and the positional arguments, for the modules that take some).
 */
export interface Runnable {
  about: string;
  options?: (cmd: Command) => Command;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  run(opts: any, args: string[]): Promise<void>;
}

async function modules(dir: string): Promise<[string, Runnable][]> {
  const names = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  return Promise.all(names.map(async (n) => [n, (await import(path.join(dir, n))) as Runnable] as [string, Runnable]));
}

async function runOne(kind: string, name: string, mod: Runnable, opts: object, args: string[]): Promise<void> {
  const started = Date.now();
  console.log(`[${kind}] ${name}: ${mod.about}`);
  await mod.run(opts, args);
  console.log(`[${kind}] ${name} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The command line of `npm run <kind>` over the modules in `dir`. */
export async function dispatchProgram(kind: string, dir: string, io: CommandIo = PROCESS_IO): Promise<Command> {
  const mods = await modules(dir);
  const program = commandLine(
    `npm run ${kind} --`,
    `Run one ${kind} by name (its options: \`npm run ${kind} -- <name> --help\`), or all of them, one after another, with their defaults.`,
    io,
  );
  for (const [name, mod] of mods) {
    const cmd = program.command(name).description(mod.about);
    mod.options?.(cmd);
    onRun(cmd, (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      return runOne(kind, name, mod, command.opts(), command.processedArgs.flat() as string[]);
    });
  }
  onRun(program.command('all').description(`every ${kind}, in order, with defaults (what no name runs)`), async () => {
    for (const [name, mod] of mods) {
      const defaults = mod.options?.(program.createCommand(name)).opts() ?? {};
      await runOne(kind, name, mod, defaults, []);
    }
  });
  onRun(program.command('list').description(`name each ${kind} and what it does`), () => {
    for (const [name, mod] of mods) io.out(`  ${name.padEnd(18)} ${mod.about}`);
  });
  return program;
}

/** Runs `npm run <kind> -- <argv>` (no arguments: `all`); returns the exit status. */
export async function dispatch(kind: string, dir: string, argv: string[], io: CommandIo = PROCESS_IO): Promise<number> {
  return runCommandLine(await dispatchProgram(kind, dir, io), argv.length ? argv : ['all'], io);
}
