/** A bare moto server on a free port for benches that need S3 only (no Temporal, no local SageMaker service). */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../local/stack/config';
import { freePort, httpStatus, isAlive, startDaemon, stopGroup, waitUntil } from '../../../local/shared/procs';

/** A running moto server: its endpoint URL and how to stop it. */
export interface MotoServer {
  endpoint: string;
  pid: number;
  log: string;
  stop(): Promise<void>;
}

/** Starts `.venv/bin/moto_server` on 127.0.0.1:<free port>, logging to `<dir>/moto.log`; resolves once it answers. */
export async function startMoto(dir: string): Promise<MotoServer> {
  const bin = path.join(REPO_ROOT, '.venv/bin/moto_server');
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: run \`bash scripts/bootstrap.sh\` first`);
  const port = await freePort();
  const log = path.join(dir, 'moto.log');
  const pid = startDaemon({
    command: bin,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    logFile: log,
    pidFile: path.join(dir, 'moto.pid'),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopGroup(pid, 10_000);
  try {
    await waitUntil(
      async () => {
        if (!isAlive(pid)) throw new Error(`moto exited during start; see ${log}`);
        return (await httpStatus(`${endpoint}/moto-api/`)) === 200;
      },
      60_000,
      'moto server',
      250,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, pid, log, stop };
}
