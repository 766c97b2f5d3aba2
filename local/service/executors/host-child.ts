/**
 * What both executors do with the child they spawn (the host process, or the `podman run` client): a pid file
 * under `pidDir` (so `local down` can stop it even when the service died), every output line to `onLine`, and one
 * exit promise that removes the pid file.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { HostExit, HostSpec } from './types';

/** The supervised child: its pid, its exit, and whether it has exited yet. */
export interface SupervisedChild {
  pid: number;
  exited: Promise<HostExit>;
  done(): boolean;
}

/** Supervises `child`, started for `spec`; `what` names the program in the start-failure line. */
export function superviseChild(child: ChildProcess, spec: HostSpec, pidDir: string, what: string): SupervisedChild {
  const pid = child.pid ?? -1;
  const pidFile = path.join(pidDir, `${spec.label.replace(/[^a-zA-Z0-9._-]+/g, '_')}.pid`);
  if (pid > 0) fs.writeFileSync(pidFile, `${pid}\n`);
  for (const stream of [child.stdout, child.stderr])
    if (stream) readline.createInterface({ input: stream }).on('line', spec.onLine);
  let finished = false;
  const exited = new Promise<HostExit>((resolve) => {
    const finish = (exit: HostExit): void => {
      if (finished) return;
      finished = true;
      fs.rmSync(pidFile, { force: true });
      resolve(exit);
    };
    child.on('error', (err) => {
      spec.onLine(`[local] failed to start ${what}: ${err.message}`);
      finish({ code: 127, signal: null });
    });
    child.on('close', (code, signal) => finish({ code, signal }));
  });
  return { pid, exited, done: () => finished };
}
