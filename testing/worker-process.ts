/**
 * `npm run worker` as a child process of its own process group (so Ctrl-C reaches only its parent, and a campaign can
 * SIGKILL it with everything it started), logging to a file, and the wait until it polls its task queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, killGroup, sleep, waitUntil } from '../local/shared/procs';
import { REPO_ROOT } from '../local/stack/config';

/** What worker/main.ts logs once it polls (the readiness mark). */
const READY_MARK = 'worker polling task queue';

/** How to start a worker process. */
export interface WorkerProcessOptions {
  /** The stack's worker environment (local/stack/config.ts workerEnv), over this process's own. */
  env: Record<string, string>;
  taskQueue: string;
  /** Appended to, never truncated: a restarted worker logs after its predecessor. */
  logFile: string;
  /** More environment (a prebuilt bundle, payload keys). */
  extraEnv?: Record<string, string>;
  /** A line written to the log before the worker's own output. */
  header?: string;
}

/** A started worker and where its output begins in the log. */
export interface WorkerProcess {
  child: ChildProcess;
  logFile: string;
  logOffset: number;
}

/** Starts worker/main.ts with tsx, detached in its own process group, stdout and stderr to `logFile`. */
export function startWorkerProcess(opts: WorkerProcessOptions): WorkerProcess {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const logOffset = fs.existsSync(opts.logFile) ? fs.statSync(opts.logFile).size : 0;
  const out = fs.openSync(opts.logFile, 'a');
  if (opts.header) fs.writeSync(out, `${opts.header}\n`);
  const child = spawn(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(REPO_ROOT, 'worker', 'main.ts')],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env, TEMPORAL_TASK_QUEUE: opts.taskQueue, ...opts.extraEnv },
      detached: true,
      stdio: ['ignore', out, out],
    },
  );
  fs.closeSync(out);
  return { child, logFile: opts.logFile, logOffset };
}

/** True while the worker process runs. */
export function workerRunning(w: WorkerProcess): boolean {
  return w.child.pid !== undefined && w.child.exitCode === null && w.child.signalCode === null && isAlive(w.child.pid);
}

/**
 * Waits until the worker polls its task queue (bundling the workflows takes a while on busy cores) and returns how
 * long that took. Throws with the log's last lines when the worker exits first, or after `timeoutMs`. `onPoll` runs
 * before each check (to stop waiting by throwing).
 */
export async function waitForWorkerReady(w: WorkerProcess, timeoutMs: number, onPoll?: () => void): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    onPoll?.();
    if (!workerRunning(w)) {
      const tail = readLogFrom(w.logFile, w.logOffset).trim().split('\n').slice(-15).join('\n');
      throw new Error(`the worker exited during start:\n${tail}`);
    }
    if (readLogFrom(w.logFile, w.logOffset).includes(READY_MARK)) return Date.now() - started;
    await sleep(250);
  }
  throw new Error(`the worker did not start polling within ${Math.round(timeoutMs / 1000)} s`);
}

/** SIGKILLs the worker's whole process group (what a crashed host does) and waits until it is gone. */
export async function killWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.pid !== undefined && isAlive(child.pid)) killGroup(child.pid, 'SIGKILL');
  await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 15_000, `worker ${child.pid} exit`);
}

/** The log's text from byte `offset` on ('' when it cannot be read). */
function readLogFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}
