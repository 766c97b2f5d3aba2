/**
 * Entry point of the local SageMaker / SageMaker Runtime / CodeBuild service as its own process (started by
 * `local up`). Configuration comes from the environment; SIGTERM stops every job and endpoint process it runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stackConfig } from '../stack/config';
import { killGroup, readPid } from '../shared/procs';
import { startLocalService } from './server';

async function main(): Promise<void> {
  const cfg = stackConfig();
  const stateDir = path.join(cfg.stateDir, 'sagemaker');
  const motoEndpoint = process.env.LOCAL_MOTO_ENDPOINT ?? `http://127.0.0.1:${cfg.motoPort}`;
  // Host processes left by an earlier incarnation that died without cleaning up: their jobs are restarted.
  const pidDir = path.join(stateDir, 'pids');
  if (fs.existsSync(pidDir)) {
    for (const f of fs.readdirSync(pidDir)) {
      const pid = readPid(path.join(pidDir, f));
      if (pid) killGroup(pid, 'SIGKILL');
      fs.rmSync(path.join(pidDir, f), { force: true });
    }
  }
  const svc = await startLocalService({
    stateDir,
    motoEndpoint,
    containerBinDir: cfg.containerBinDir,
    port: cfg.servicePort,
    stopGraceMs: Number(process.env.LOCAL_STOP_GRACE_SECONDS ?? 120) * 1000,
  });
  svc.ctx.log(
    `local SageMaker service on ${svc.url} (state ${stateDir}, moto ${motoEndpoint}, executor ` +
      `${svc.ctx.executor.kind}, container ${cfg.containerBinDir})`,
  );
  const iam = svc.ctx.iam;
  svc.ctx.log(
    iam
      ? `IAM enforced with the roles deployed in moto and LOCAL_IAM_ROLES: ${iam.policies.roleNames().join(', ')} (LOCAL_IAM=off turns it off)`
      : 'IAM not enforced (LOCAL_IAM=off)',
  );
  let closing = false;
  const stop = (signal: string): void => {
    if (closing) return;
    closing = true;
    svc.ctx.log(`${signal}: stopping jobs and endpoints`);
    svc
      .close()
      .catch((err: Error) => svc.ctx.log(`shutdown: ${err.message}`))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`local SageMaker service failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
