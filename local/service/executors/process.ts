/**
 * The `process` executor: runs the container's entrypoint from its Python venv (`<binDir>/<entry>`) as a host process
 * in its own process group (or from the process image the local CodeBuild built for the image digest), with
 * SAGEMAKER_BASE_DIR pointing at the host's /opt/ml tree. Each running host has a pid file under `pidDir`, so `local
 * down` can stop jobs even when the service died.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { killGroup } from '../../shared/procs';
import { superviseChild } from './host-child';
import type { Executor, HostHandle, HostSpec } from './types';

export class ProcessExecutor implements Executor {
  readonly kind = 'process' as const;

  constructor(
    private readonly binDir: string,
    private readonly pidDir: string,
    /** Maps an image URI to the bin dir of a process image built by the local CodeBuild (undefined: use binDir). */
    private readonly resolveImage: (image: string | undefined) => string | undefined = () => undefined,
  ) {
    fs.mkdirSync(pidDir, { recursive: true });
  }

  start(spec: HostSpec): HostHandle {
    const binDir = this.resolveImage(spec.image) ?? this.binDir;
    const { bin, args } = spec.command
      ? processCommand(spec.command, binDir, spec.baseDir)
      : { bin: path.join(binDir, spec.entry), args: [] };
    if (!fs.existsSync(bin) && path.isAbsolute(bin))
      throw new Error(
        `container entrypoint ${bin} not found (run bash container/setup.sh, or set LOCAL_CONTAINER_BIN_DIR)`,
      );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...spec.env,
      SAGEMAKER_BASE_DIR: spec.baseDir,
      PYTHONUNBUFFERED: '1',
    };
    // The service's own endpoint overrides must not leak into the container: it talks to S3 only through us.
    for (const k of Object.keys(env)) if (k.startsWith('AWS_ENDPOINT_URL') && !(k in spec.env)) delete env[k];
    const child = spawn(bin, args, { cwd: spec.baseDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const { pid, exited } = superviseChild(child, spec, this.pidDir, bin);
    return { pid, exited, kill: (signal) => pid > 0 && killGroup(pid, signal) };
  }
}

/** The programs the image's entrypoint (container/docker/entrypoint.sh) runs by name. */
const IMAGE_PROGRAMS = new Set(['train', 'serve', 'prepare']);

/**
 * The program and arguments a process host runs for a Processing job's ContainerEntrypoint and ContainerArguments,
 * as the image would run them: without an entrypoint the image's entrypoint gets the arguments (its CMD, `train`,
 * when there are none) and runs `train`/`serve`/`prepare` or executes what it is given. A program the image's venv
 * has (`prepare`, `python3`, `/opt/venv/bin/prepare`) runs from `binDir`; paths under /opt/ml move to the host's
 * tree (SAGEMAKER_BASE_DIR), as the container's /opt/ml is that directory.
 */
export function processCommand(
  command: NonNullable<HostSpec['command']>,
  binDir: string,
  baseDir: string,
): { bin: string; args: string[] } {
  const given = command.entrypoint?.length
    ? [...command.entrypoint, ...(command.args ?? [])]
    : command.args?.length
      ? command.args
      : ['train'];
  const argv = given.map((a) => (a === '/opt/ml' || a.startsWith('/opt/ml/') ? path.join(baseDir, a.slice(7)) : a));
  const program = argv[0] as string;
  const own = path.join(binDir, path.basename(program));
  const fromVenv = IMAGE_PROGRAMS.has(program) || (!program.startsWith(baseDir) && fs.existsSync(own));
  return { bin: fromVenv ? own : program, args: argv.slice(1) };
}
