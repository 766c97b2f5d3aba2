/**
 * A Temporal dev server as its own process (in memory, no UI, the project's search attributes), so a bench can read
 * its CPU and memory apart from the worker's; createDevServerEnv hides the server's pid.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../local/stack/config';
import { freePort, portOpen, stopGroup, waitUntil } from '../../../local/shared/procs';
import { SEARCH_ATTRIBUTES } from '../../../local/stack/launcher';

/** The running server: its address and pid, and how to stop it. */
export interface DevServer {
  address: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` on a free port, logging to `logFile`; resolves once it accepts connections. */
export async function startDevServer(logFile: string): Promise<DevServer> {
  const port = await freePort();
  const out = fs.openSync(logFile, 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--log-level',
    'error',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
  ];
  const child = spawn(path.join(REPO_ROOT, '.venv/bin/temporal'), args, {
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (child.pid === undefined)
    throw new Error('could not start the Temporal dev server (.venv/bin/temporal): run `npm run bootstrap`');
  const pid = child.pid;
  const stop = () => stopGroup(pid, 5_000);
  try {
    await waitUntil(() => portOpen(port), 60_000, `the Temporal dev server on port ${port} (log: ${logFile})`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: `127.0.0.1:${port}`, pid, stop };
}
