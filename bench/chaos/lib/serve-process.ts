/** One real `serve` process of the container (its own process group) on a free loopback port, for a model directory. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, httpStatus, isAlive, killGroup, sleep } from '../../../local/shared/procs';
import { CONTAINER_BIN } from '../../../testing/local-harness';

export interface ServeProcess {
  port: number;
  pid: number;
  logFile: string;
  alive(): boolean;
  stop(): Promise<void>;
}

/** Copies the model into `<base>/model`, starts serve and waits for /ping 200 (up to `readyTimeoutMs`). */
export async function startServe(
  modelDir: string,
  base: string,
  env: Record<string, string> = {},
  readyTimeoutMs = 600_000,
): Promise<ServeProcess> {
  fs.cpSync(modelDir, path.join(base, 'model'), { recursive: true });
  const port = await freePort();
  const logFile = path.join(base, 'serve.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(path.join(CONTAINER_BIN, 'serve'), [], {
    env: {
      ...process.env,
      SAGEMAKER_BASE_DIR: base,
      SAGEMAKER_BIND_TO_PORT: String(port),
      JAXSM_BIND_HOST: '127.0.0.1',
      JAX_PLATFORMS: 'cpu',
      ...env,
    },
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const pid = child.pid as number;
  const proc: ServeProcess = {
    port,
    pid,
    logFile,
    alive: () => isAlive(pid) && child.exitCode === null,
    stop: async () => {
      killGroup(pid, 'SIGTERM');
      for (let i = 0; i < 100 && proc.alive(); i++) await sleep(100);
      if (proc.alive()) killGroup(pid, 'SIGKILL');
    },
  };
  const deadline = Date.now() + readyTimeoutMs;
  while ((await httpStatus(`http://127.0.0.1:${port}/ping`)) !== 200) {
    if (!proc.alive()) throw new Error(`serve exited before it was ready; see ${logFile}`);
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`serve not ready within ${readyTimeoutMs / 1000} s; see ${logFile}`);
    }
    await sleep(500);
  }
  return proc;
}
