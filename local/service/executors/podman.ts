/**
 * podman helpers shared by the container executor, the local CodeBuild's podman builder and the stack: the tools
 * check (container/scripts/local-tools.sh installs podman, runc and docker-registry when missing), running podman
 * with the project's containers.conf, and the label that marks every container a stack started so `local down`
 * and a restarted service can remove them all.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT } from '../../stack/config';

/** Written by container/scripts/podman-env.sh: no default ulimits (runc fails on setrlimit on these machines). */
export const CONTAINERS_CONF = path.join(REPO_ROOT, 'container', '.podman', 'containers.conf');
/** The label naming the stack a container belongs to. */
export const STACK_LABEL = 'jaxsm.local.stack';

/** The environment podman runs with. */
export function podmanEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, CONTAINERS_CONF };
}

let toolsChecked = false;

/**
 * Installs what containers need when missing (root: apt-get; otherwise a clear error) and writes containers.conf.
 * Runs the script once per process; it is idempotent, so running it again elsewhere is harmless.
 */
export function ensurePodmanTools(say: (msg: string) => void = () => undefined): void {
  if (toolsChecked) return;
  try {
    const out = execFileSync('bash', [path.join(REPO_ROOT, 'container', 'scripts', 'local-tools.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15 * 60_000,
    });
    for (const line of out.split('\n')) if (line.startsWith('[')) say(line);
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `podman is needed (LOCAL_EXECUTOR=container or LOCAL_CODEBUILD_BUILDER=podman) but could not be set up: ` +
        `${(e.stderr || e.stdout || e.message).trim().slice(-800)}`,
    );
  }
  toolsChecked = true;
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one podman command to completion; never throws for a non-zero exit (the caller decides). */
export function podman(args: string[], timeoutMs = 120_000): Promise<PodmanResult> {
  return new Promise((resolve) => {
    execFile(
      'podman',
      args,
      { env: podmanEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const raw = (err as { code?: unknown } | null)?.code;
        const code = !err ? 0 : typeof raw === 'number' ? raw : 127;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err?.message ?? '') });
      },
    );
  });
}

/** A short id for a stack, from its service state dir: containers of two stacks on one machine never mix. */
export function stackId(serviceStateDir: string): string {
  return createHash('sha256').update(path.resolve(serviceStateDir)).digest('hex').slice(0, 10);
}

/** The podman container name of a host: readable (`<label>`), unique per stack, valid for podman. */
export function containerName(stack: string, label: string): string {
  const clean = label.replace(/[^a-zA-Z0-9_.-]+/g, '_').replace(/^[^a-zA-Z0-9]+/, '');
  return `sm-${stack}-${clean}`.slice(0, 200);
}

/** Removes every container (running or not) that the stack with this id started; returns how many. */
export function removeStackContainers(stack: string): number {
  let ids: string[];
  try {
    ids = execFileSync('podman', ['ps', '-a', '-q', '--filter', `label=${STACK_LABEL}=${stack}`], {
      env: podmanEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    })
      .split('\n')
      .filter(Boolean);
  } catch {
    return 0; // no podman: this stack never started a container
  }
  if (ids.length)
    execFileSync('podman', ['rm', '-f', '-t', '5', ...ids], { env: podmanEnv(), stdio: 'ignore', timeout: 120_000 });
  return ids.length;
}

/** True when podman is on PATH (without installing anything). */
export function hasPodman(): boolean {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}
