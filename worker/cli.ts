/**
 * The operator CLI: `npm run cli -- <command>` (`--help` on any command lists its options). Configuration (the
 * worker's TEMPORAL_* variables, and AWS for `status`) is read only by the commands that talk to Temporal or AWS.
 */
import type { Command } from 'commander';
import { createAwsClients } from './aws-clients';
import {
  type CommandIo,
  commandLine,
  durationSeconds,
  onRun,
  PROCESS_IO,
  positiveInt,
  positiveNumber,
  runCommandLine,
} from './command-line';
import { loadConfig } from './config';
import { decide, DECISIONS } from './commands/decide';
import { doctorCommand } from './commands/doctor';
import { listRuns, listStatus } from './commands/list';
import { replayCluster } from './commands/replay';
import { reportCommand } from './commands/report';
import { rolloutCheck } from './commands/rollout-check';
import { addScheduleCommands } from './commands/schedule';
import { type Env, withTemporal } from './commands/session';
import { runStatus } from './commands/status';
import { stopRun } from './commands/stop';
import { resolveCommand, validateCommand } from './commands/validate';

const NAMESPACE_OPTION = [
  '--namespace <namespace>',
  'Temporal namespace (default: TEMPORAL_NAMESPACE, else "default")',
] as const;

/** Builds the CLI over `env` (the configuration source) and `io` (where it prints). */
export function operatorCli(env: Env = process.env, io: CommandIo = PROCESS_IO): Command {
  const program = commandLine(
    'npm run cli --',
    'Operate pipeline runs: validate specs, schedule retraining, decide approvals, stop, inspect and list runs, and replay a cluster’s histories before rolling out workers.',
    io,
  );

  onRun(
    program
      .command('validate')
      .description('check a pipeline spec and its code directories; prints OK or every invalid field by JSON path')
      .argument('<spec.json>', 'the spec file'),
    (file: string) =>
      validateCommand(
        file,
        (l) => io.out(l),
        (l) => io.err(l),
      ),
  );

  onRun(
    program
      .command('resolve')
      .description(
        'print a spec with its code paths made absolute (relative to the spec file), for temporal workflow start',
      )
      .argument('<spec.json>', 'the spec file'),
    (file: string) =>
      resolveCommand(
        file,
        (l) => io.out(l),
        (l) => io.err(l),
      ),
  );

  onRun(
    program
      .command('doctor')
      .description(
        "check the AWS account for a spec before a run: instance quotas (blue/green counts two fleets), the roles and their trust, the worker's permissions, the bucket's region, the repository; exit 1 on a problem",
      )
      .requiredOption('--spec <file>', 'the pipeline spec')
      .option(
        '--principal-arn <arn>',
        "the worker's role to simulate the calls as (default: the caller's own identity, right when run as the worker)",
      ),
    (o: { spec: string; principalArn?: string }) =>
      doctorCommand(o.spec, (region) => createAwsClients({ region }), env.AWS_REGION ?? env.AWS_DEFAULT_REGION, io, {
        principalArn: o.principalArn,
      }),
  );

  addScheduleCommands(program, env, io);

  for (const decision of Object.keys(DECISIONS) as (keyof typeof DECISIONS)[]) {
    onRun(
      program
        .command(decision)
        .description(`${decision} the model version a run's registerModel step waits on (a reviewer's decision)`)
        .argument('<run>', 'the pipeline workflow ID (or its <run>/registerModel step)')
        .requiredOption('--reviewer <name>', 'who decides (written into the model package)')
        .requiredOption('--reason <text>', 'why (written into the model package)'),
      async (run: string, o: { reviewer: string; reason: string }) =>
        withTemporal(env, undefined, async (client) => {
          io.out(await decide(client, decision, run, o));
        }),
    );
  }

  onRun(
    program
      .command('stop')
      .description(
        'cancel a run so that each step stops what it started, and report what was stopped (never terminate)',
      )
      .argument('<run>', 'the pipeline workflow ID')
      .option('--timeout <duration>', 'how long to wait for the cleanup (e.g. 90s, 30m)', durationSeconds, 1800)
      .option(...NAMESPACE_OPTION),
    async (run: string, o: { timeout: number; namespace?: string }) =>
      withTemporal(env, o.namespace, async (client) => {
        const report = await stopRun(client, run, o.timeout);
        for (const line of report.lines) io.out(line);
        return report.exitCode;
      }),
  );

  onRun(
    program
      .command('status')
      .description("a run's steps, the resources they created and those resources' live state in AWS")
      .argument('<run>', 'the pipeline workflow ID')
      .option(
        '--overspend-factor <n>',
        "flag the run when its actual spend passes the estimate × n (default: the spec's costGuard.overspendFactor)",
        positiveNumber,
      )
      .option(...NAMESPACE_OPTION),
    async (run: string, o: { namespace?: string; overspendFactor?: number }) => {
      const aws = createAwsClients({ region: loadConfig(env).awsRegion });
      await withTemporal(env, o.namespace, async (client) => {
        for (const line of await runStatus(client, aws, run, o)) io.out(line);
      });
    },
  );

  onRun(
    program
      .command('report')
      .description(
        "write a run's report page (trial curves, tuning sweep, evaluation, timeline, spend actual against estimate); works without a worker",
      )
      .argument('<run>', 'the pipeline workflow ID')
      .option('--out <file.html>', 'where to write it (default: run-report-<run>.html here)')
      .option('--run-id <id>', 'a run of the workflow ID other than the latest')
      .option(
        '--overspend-factor <n>',
        "flag the run when its actual spend passes the estimate × n (default: the spec's costGuard.overspendFactor)",
        positiveNumber,
      )
      .option(...NAMESPACE_OPTION),
    async (run: string, o: { out?: string; runId?: string; overspendFactor?: number; namespace?: string }) => {
      const aws = createAwsClients({ region: loadConfig(env).awsRegion });
      await withTemporal(env, o.namespace, async (client) => {
        for (const line of await reportCommand(client, aws, run, o)) io.out(line);
      });
    },
  );

  onRun(
    program
      .command('list')
      .description('pipeline runs with step, version, endpoint and approval state, and open runs counted by version')
      .option('--status <which>', 'running, closed or all', 'all')
      .option(
        '--build-id <id>',
        'only runs that ran on this build (workflow source hash), or on this Worker Deployment Version ' +
          '(<deployment>:<build ID>); a bare build ID is also looked up in TEMPORAL_WORKER_DEPLOYMENT when set',
      )
      .option('--query <filter>', 'an extra visibility filter, ANDed with the others')
      .option('--limit <n>', 'at most this many runs', positiveInt, 50)
      .option(...NAMESPACE_OPTION),
    async (o: { status: string; buildId?: string; query?: string; limit: number; namespace?: string }) => {
      const status = listStatus(o.status);
      await withTemporal(env, o.namespace, async (client) => {
        const deployment = env.TEMPORAL_WORKER_DEPLOYMENT || undefined;
        for (const line of await listRuns(client, { ...o, status, deployment })) io.out(line);
      });
    },
  );

  onRun(
    program
      .command('replay')
      .description(
        "replay the cluster's open and recently closed executions against this checkout's workflow code; exit 1 on any failure (the gate before rolling out workers)",
      )
      .option('--query <visibility query>', 'which executions (default: the task queue, open or closed within --since)')
      .option(
        '--since <duration>',
        'closed executions count when they closed within this (e.g. 7d)',
        durationSeconds,
        7 * 86400,
      )
      .option('--limit <n>', 'replay at most this many executions', positiveInt, 200)
      .option('--workflow-bundle <path>', 'replay against a prebuilt bundle (npm run build) instead of the source')
      .option(...NAMESPACE_OPTION),
    async (o: { query?: string; since: number; limit: number; workflowBundle?: string; namespace?: string }) =>
      withTemporal(env, o.namespace, (client, config) =>
        replayCluster(
          client,
          config.temporal.taskQueue,
          { query: o.query, sinceSeconds: o.since, limit: o.limit, workflowBundle: o.workflowBundle },
          env,
          (l) => io.out(l),
        ),
      ),
  );

  onRun(
    program
      .command('rollout-check')
      .description(
        'whether a new build may be ramped beside the current one: exit 1 when it adds or drops workflow types (promote it with set-current-version directly)',
      )
      .requiredOption('--from <bundle>', "the current build's workflow bundle (npm run build; its worker image has it)")
      .requiredOption('--to <bundle>', "the new build's workflow bundle", 'dist/workflow-bundle.js'),
    (o: { from: string; to: string }) => {
      const check = rolloutCheck(o.from, o.to);
      for (const line of check.lines) io.out(line);
      return check.exitCode;
    },
  );
  return program;
}

/** Runs the CLI on `argv` (the arguments after the program name); returns the exit status. */
export function runOperatorCli(argv: string[], env: Env = process.env, io: CommandIo = PROCESS_IO): Promise<number> {
  return runCommandLine(operatorCli(env, io), argv, io);
}

if (require.main === module) {
  void runOperatorCli(process.argv.slice(2)).then((code) => process.exit(code));
}
