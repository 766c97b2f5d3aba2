/**
 * Starts one of test/fixtures/workers/ as a real worker process (node + tsx) on a task queue, and says when it has
 * started a createTrainingJob: the worker-drain and worker-kill-liveness tests stop it at that moment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A fixture worker process and what it printed so far. */
export interface FixtureWorker {
  child: ChildProcess;
  /** Everything the worker printed on stdout. */
  output(): string;
  /** Resolves once the worker printed `createTrainingJob started`; rejects if it exits first. */
  started: Promise<void>;
  /** Resolves with the exit code once the process exits. */
  exited: Promise<number | null>;
}

/** Spawns test/fixtures/workers/<file> against the Temporal server at `address`, polling `taskQueue`. */
export function spawnFixtureWorker(file: string, address: string, taskQueue: string): FixtureWorker {
  const script = join(__dirname, '../fixtures/workers', file);
  const child = spawn(process.execPath, ['--import', 'tsx', script, address, taskQueue], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('createTrainingJob started')) resolve();
    });
    void exited.then((code) =>
      reject(new Error(`the worker ${file} exited (${code}) before the call started:\n${out}`)),
    );
  });
  // A worker that exits after it started is not a failure of `started`.
  started.catch(() => undefined);
  return { child, output: () => out, started, exited };
}
