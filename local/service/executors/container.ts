/**
 * The `container` executor (LOCAL_EXECUTOR=container): runs each host as `podman run <image> train|serve`, the
 * way SageMaker runs the image: the host's tree mounted at /opt/ml, the resource's environment passed with -e,
 * the training hosts' names (algo-1..N, from resourceconfig.json) resolvable with --add-host, host networking
 * (the coordinator and serve ports are the free ports the service picked), and runc (crun fails here). The
 * image is the one the local CodeBuild built and pushed for the resource's image URI (see image-ref.ts).
 *
 * Each container is named after the host's label and labelled with the stack id, so kill() and `local down`
 * can stop it: SIGTERM → `podman stop` (the entrypoint gets SIGTERM, as on SageMaker: serve drains, training
 * checkpoints), SIGKILL → `podman kill -s KILL`. The `podman run` client's pid is in `pidDir` like a process
 * host's, and its exit code is the container's, so the failure-file contract is unchanged.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, killGroup, sleep } from '../../shared/procs';
import type { ResolvedImage } from './image-ref';
import { containerName, podman, podmanEnv, STACK_LABEL } from './podman';
import { superviseChild } from './host-child';
import type { Executor, HostHandle, HostSpec } from './types';

export interface RunArgsInput {
  name: string;
  stack: string;
  image: ResolvedImage;
  entry: HostSpec['entry'];
  /** A Processing job's ContainerEntrypoint / ContainerArguments (replace `entry`). */
  command?: HostSpec['command'];
  baseDir: string;
  env: Record<string, string>;
  /** Host names that must resolve (to this machine: every host shares its network). */
  hosts: string[];
  stopTimeoutS: number;
}

/** The `podman run` arguments for one host. */
export function podmanRunArgs(i: RunArgsInput): string[] {
  const args = [
    'run',
    '--rm',
    '--replace',
    '--name',
    i.name,
    '--label',
    `${STACK_LABEL}=${i.stack}`,
    '--runtime',
    'runc',
    '--network',
    'host',
  ];
  args.push('--stop-timeout', String(i.stopTimeoutS));
  if (i.image.pull) args.push('--pull', 'missing', '--tls-verify=false');
  for (const h of i.hosts) args.push('--add-host', `${h}:127.0.0.1`);
  args.push('-v', `${path.resolve(i.baseDir)}:/opt/ml`);
  for (const k of Object.keys(i.env).sort()) args.push('-e', `${k}=${i.env[k] as string}`);
  if (!i.command) {
    args.push(i.image.ref, i.entry);
    return args;
  }
  // As SageMaker Processing runs it: `docker run --entrypoint <ContainerEntrypoint> <image> <ContainerArguments>`
  // (https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html); podman takes the
  // entrypoint as a JSON array. Without arguments or an entrypoint, the image's CMD applies, as with docker.
  if (i.command.entrypoint?.length) args.push('--entrypoint', JSON.stringify(i.command.entrypoint));
  args.push(i.image.ref, ...(i.command.args ?? []));
  return args;
}

/**
 * The hosts' names from the host's resourceconfig.json: input/config for training, config for Processing (none for
 * endpoints).
 */
export function hostNames(baseDir: string): string[] {
  for (const dir of [path.join('input', 'config'), 'config']) {
    try {
      const rc = JSON.parse(fs.readFileSync(path.join(baseDir, dir, 'resourceconfig.json'), 'utf8')) as {
        hosts?: unknown;
      };
      return Array.isArray(rc.hosts)
        ? rc.hosts.filter((h): h is string => typeof h === 'string' && /^[a-zA-Z0-9.-]+$/.test(h))
        : [];
    } catch {
      // not this layout
    }
  }
  return [];
}

export class ContainerExecutor implements Executor {
  readonly kind = 'container' as const;

  constructor(
    private readonly pidDir: string,
    /** stackId() of the service's state dir: the label every container of this stack carries. */
    private readonly stack: string,
    /** Maps a resource's image URI to the podman image to run; throws naming the image when unknown. */
    private readonly resolveImage: (image: string | undefined) => ResolvedImage,
    private readonly stopTimeoutS = 120,
  ) {
    fs.mkdirSync(pidDir, { recursive: true });
  }

  start(spec: HostSpec): HostHandle {
    const image = this.resolveImage(spec.image);
    const name = containerName(this.stack, spec.label);
    const args = podmanRunArgs({
      name,
      stack: this.stack,
      image,
      entry: spec.entry,
      command: spec.command,
      baseDir: spec.baseDir,
      env: spec.env,
      hosts: hostNames(spec.baseDir),
      stopTimeoutS: this.stopTimeoutS,
    });
    const what = spec.command
      ? [...(spec.command.entrypoint ?? []), ...(spec.command.args ?? [])].join(' ')
      : spec.entry;
    spec.onLine(`[local] podman run ${name} (${image.ref} ${what})`);
    const child = spawn('podman', args, { env: podmanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const { pid, exited, done } = superviseChild(child, spec, this.pidDir, 'podman');
    const kill = (signal: NodeJS.Signals): void => void this.signal(name, signal, done, pid, spec.onLine);
    return { pid, exited, kill };
  }

  /**
   * Delivers a signal to the container. Right after `podman run` starts, the container may not exist yet, so a
   * refused stop is retried while the client runs; a client that outlives a SIGKILL by 10 s is killed itself.
   */
  private async signal(
    name: string,
    signal: NodeJS.Signals,
    finished: () => boolean,
    pid: number,
    say: (line: string) => void,
  ): Promise<void> {
    const args =
      signal === 'SIGTERM'
        ? ['stop', '--time', String(this.stopTimeoutS), name]
        : ['kill', '--signal', signal.replace(/^SIG/, ''), name];
    for (let attempt = 0; attempt < 30 && !finished(); attempt++) {
      const r = await podman(args, (this.stopTimeoutS + 30) * 1000);
      if (r.code === 0 || finished()) break;
      if (attempt === 29) say(`[local] podman ${args[0]} ${name} failed: ${r.stderr.trim()}`);
      await sleep(1_000);
    }
    if (signal === 'SIGKILL' && pid > 0) {
      await sleep(10_000);
      if (!finished() && isAlive(pid)) killGroup(pid, 'SIGKILL');
    }
  }
}
