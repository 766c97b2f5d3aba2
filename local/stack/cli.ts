/**
 * `npm run local -- up|down|status|env`: the local AWS stack for local mode.
 *   up      start Temporal (dev server + UI), moto and the local SageMaker service; print the worker's env
 *   down    stop all of it, including training job and endpoint processes
 *   status  what runs, on which port, with which log (the default)
 *   env     print the env vars a worker needs (`eval "$(npm run -s local -- env)"`)
 * The stack's settings (LOCAL_STATE_DIR, LOCAL_*_PORT, LOCAL_EXECUTOR, ...) are read by each command, not by --help.
 */
import { commandLine, onRun, PROCESS_IO, runCommandLine } from '../../worker/command-line';
import { stackConfig, workerEnv, type StackConfig } from './config';
import { down, status, up } from './launcher';

function printEnv(cfg: StackConfig): void {
  for (const [k, v] of Object.entries(workerEnv(cfg))) process.stdout.write(`export ${k}=${v}\n`);
}

const say = (msg: string): void => void process.stderr.write(`[local] ${msg}\n`);

const program = commandLine(
  'npm run local --',
  'The local AWS stack under .local-state/ (LOCAL_STATE_DIR): Temporal dev server with its Web UI, moto, and the local SageMaker, SageMaker Runtime and CodeBuild service.',
);
onRun(
  program.command('up').description("start the stack (or what of it is down) and print the worker's environment"),
  async () => {
    const cfg = stackConfig();
    await up(cfg, say);
    say(`state in ${cfg.stateDir}`);
    say(`Temporal UI: http://127.0.0.1:${cfg.temporalUiPort}`);
    say('worker environment:');
    printEnv(cfg);
  },
);
onRun(
  program.command('down').description('stop the stack, its job and endpoint processes and containers'),
  async () => {
    await down(stackConfig(), say);
  },
);
onRun(
  program
    .command('status', { isDefault: true })
    .description('what runs, on which port, with which log; exit 3 when a component is down'),
  async () => {
    const cfg = stackConfig();
    const s = await status(cfg);
    for (const c of s.components) {
      process.stdout.write(
        `${c.name.padEnd(10)} ${c.running ? `running pid ${c.pid}` : 'stopped'}${c.answering ? `, answering on ${c.port}` : c.running ? `, NOT answering on ${c.port}` : ''}  log ${c.log}\n`,
      );
    }
    process.stdout.write(`job/endpoint processes: ${s.hostProcesses}\n`);
    process.stdout.write(`Temporal UI: http://127.0.0.1:${cfg.temporalUiPort}\n`);
    return s.components.every((component) => component.running && component.answering) ? 0 : 3;
  },
);
onRun(program.command('env').description('print the env vars a worker needs: eval "$(npm run -s local -- env)"'), () =>
  printEnv(stackConfig()),
);

void runCommandLine(program, process.argv.slice(2), {
  ...PROCESS_IO,
  err: (text) => void process.stderr.write(/^(error|Usage|\(add)/.test(text) ? text : `[local] ${text}`),
}).then((code) => process.exit(code));
