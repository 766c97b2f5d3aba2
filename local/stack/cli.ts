/**
 * `npm run local -- up|down|status|env`: the local AWS stack for local mode.
 *   up      start Temporal (dev server + UI), moto and the local SageMaker service; print the worker's env
 *   down    stop all of it, including training job and endpoint processes
 *   status  what runs, on which port, with which log
 *   env     print the env vars a worker needs (`eval "$(npm run -s local -- env)"`)
 */
import { stackConfig, workerEnv, type StackConfig } from './config';
import { down, status, up } from './launcher';

function printEnv(cfg: StackConfig): void {
  for (const [k, v] of Object.entries(workerEnv(cfg))) process.stdout.write(`export ${k}=${v}\n`);
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] ?? 'status';
  const cfg = stackConfig();
  const say = (msg: string): void => void process.stderr.write(`[local] ${msg}\n`);
  switch (cmd) {
    case 'up': {
      await up(cfg, say);
      say(`state in ${cfg.stateDir}`);
      say(`Temporal UI: http://127.0.0.1:${cfg.temporalUiPort}`);
      say('worker environment:');
      printEnv(cfg);
      return 0;
    }
    case 'down':
      await down(cfg, say);
      return 0;
    case 'status': {
      const s = await status(cfg);
      for (const c of s.components) {
        process.stdout.write(
          `${c.name.padEnd(10)} ${c.running ? `running pid ${c.pid}` : 'stopped'}` +
            `${c.answering ? `, answering on ${c.port}` : c.running ? `, NOT answering on ${c.port}` : ''}  log ` +
            `${c.log}\n`,
        );
      }
      process.stdout.write(`job/endpoint processes: ${s.hostProcesses}\n`);
      process.stdout.write(`Temporal UI: http://127.0.0.1:${cfg.temporalUiPort}\n`);
      return s.components.every((c) => c.running && c.answering) ? 0 : 3;
    }
    case 'env':
      printEnv(cfg);
      return 0;
    default:
      process.stderr.write('usage: local up|down|status|env\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`[local] ${err.message}\n`);
    process.exit(1);
  },
);
