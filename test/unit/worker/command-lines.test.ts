/**
 * The four command lines as a new user meets them: `--help` on every command and sub-command exits 0 without
 * reading any configuration, unknown flags, missing values and bad values are errors that name them (exit 2), and
 * configuration is read only by the commands that need it. The operator CLI runs in-process (empty environment);
 * each entry point also runs once as a process, as `npm run <x> -- --help` does.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { dispatch, dispatchProgram } from '../../../bench/lib/dispatch';
import { operatorCli, runOperatorCli } from '../../../worker/cli';
import type { CommandIo } from '../../../worker/command-line';

const ROOT = join(__dirname, '../../..');

function capture(): { io: CommandIo; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

async function cli(argv: string[], env: Record<string, string> = {}) {
  const c = capture();
  const code = await runOperatorCli(argv, env, c.io);
  return { code, out: c.out(), err: c.err() };
}

/** Every command path of a program: [], [cmd], [cmd, sub], ... */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return [prefix, ...cmd.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

describe('npm run cli', () => {
  const paths = commandPaths(operatorCli({}, capture().io));

  it('has the operator commands', () => {
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining([
        'validate',
        'schedule create',
        'schedule pause',
        'schedule describe',
        'approve',
        'reject',
        'stop',
        'status',
        'list',
        'replay',
      ]),
    );
  });

  it.each(paths.map((p) => [p.join(' ') || '(root)', p]))(
    '--help on %s exits 0 and prints its usage, with no configuration at all',
    async (_, path) => {
      const r = await cli([...(path as string[]), '--help']);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^Usage: npm run cli -- /);
    },
  );

  it('answers "schedule --help" and "schedule create --help" without asking for AWS_REGION', async () => {
    const r = await cli(['schedule', 'create', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--spec <spec\.json>/);
    expect(r.out + r.err).not.toMatch(/AWS_REGION/);
  });

  it('names an unknown command, an unknown flag, a missing value, a missing option and a stray argument', async () => {
    expect(await cli(['frobnicate'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown command 'frobnicate'/),
    });
    expect(await cli(['list', '--colour'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown option '--colour'/),
    });
    expect(await cli(['approve', 'run-1', '--reviewer'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/option '--reviewer <name>' argument missing/),
    });
    expect(await cli(['reject', 'run-1', '--reviewer', 'ana'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/required option '--reason <text>' not specified/),
    });
    expect(await cli(['validate', 'a.json', 'b.json'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/too many arguments for 'validate'/),
    });
    expect(await cli(['stop'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/missing required argument 'run'/),
    });
    expect((await cli(['list', '--colour'])).err).toMatch(/add --help for usage/);
  });

  it('names bad values: a limit, a duration, a status', async () => {
    expect((await cli(['list', '--limit', '0'])).err).toMatch(
      /option '--limit <n>' argument '0' is invalid\. must be a positive integer/,
    );
    expect((await cli(['replay', '--since', '3 weeks'])).err).toMatch(
      /option '--since <duration>' argument '3 weeks' is invalid\. must be a duration such as 90s, 45m, 1h or 3d/,
    );
    expect(await cli(['list', '--status', 'open'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--status must be running, closed or all, got "open"/),
    });
  });

  it('with no command prints the usage and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Usage: npm run cli -- \[options\] \[command\]/);
  });

  it('reads only the configuration a command needs', async () => {
    // schedule talks to Temporal only: a bad Temporal setting is reported, AWS_REGION is never asked for.
    const schedule = await cli(['schedule', 'describe'], { TEMPORAL_TLS_CERT_PATH: '/nope.pem' });
    expect(schedule.code).toBe(1);
    expect(schedule.err).toMatch(/Invalid Temporal configuration:\nTEMPORAL_TLS_KEY_PATH: set both/);
    expect(schedule.err).not.toMatch(/AWS_REGION/);
    // status reads live AWS state: it needs a region.
    const status = await cli(['status', 'run-1']);
    expect(status).toMatchObject({ code: 1, err: expect.stringMatching(/AWS_REGION: required/) });
    // validate talks to nothing.
    expect((await cli(['validate', join(ROOT, 'examples/pipeline.local.json')])).code).toBe(0);
  });
});

describe('npm run bench and npm run chaos', () => {
  it.each([
    ['bench', join(ROOT, 'bench/suite')],
    ['chaos', join(ROOT, 'bench/chaos/campaigns')],
  ])('%s: --help on every sub-command exits 0; unknown flags and bad values are named', async (kind, dir) => {
    const run = async (argv: string[]) => {
      const c = capture();
      const code = await dispatch(kind, dir, argv, c.io);
      return { code, out: c.out(), err: c.err() };
    };
    const program = await dispatchProgram(kind, dir, capture().io);
    for (const path of commandPaths(program)) {
      const r = await run([...path, '--help']);
      expect({ path, code: r.code }).toEqual({ path, code: 0 });
    }
    const first = program.commands[0]?.name() as string;
    expect(await run([first, '--no-such-flag'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown option '--no-such-flag'/),
    });
    expect(await run(['no-such-name'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown command 'no-such-name'/),
    });
  });

  it('checks option values before anything starts', async () => {
    const c = capture();
    const code = await dispatch('chaos', join(ROOT, 'bench/chaos/campaigns'), ['faults', '--share', 'lots'], c.io);
    expect(code).toBe(2);
    expect(c.err()).toMatch(/option '--share <fraction>' argument 'lots' is invalid\. must be a number >= 0/);
  });
});

describe('the entry points as processes', () => {
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const run = (script: string, args: string[]) =>
    promisify(execFile)(tsx, [join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    });

  // Concurrent: each is a tsx start-up (seconds), and they do not share anything.
  it.concurrent.each([
    ['worker/cli.ts', ['--help'], /Usage: npm run cli --/],
    ['local/stack/cli.ts', ['up', '--help'], /Usage: npm run local -- up/],
    ['bench/main.ts', ['local', '--help'], /--limit-minutes <n>/],
    ['bench/chaos/main.ts', ['--help'], /worker-kills/],
  ])('%s %j exits 0 with its usage', async (script, args, usage) => {
    const { stdout } = await run(script, args);
    expect(stdout).toMatch(usage);
  });

  it('npm run local -- with an unknown flag exits 2 naming it', async () => {
    await expect(run('local/stack/cli.ts', ['down', '--force'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown option '--force'/),
    });
  });
});
