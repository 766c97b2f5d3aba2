/**
 * The local stack: Temporal dev server, moto (with infra/'s template deployed into it before the service starts:
 * local/stack/infra-deployment.ts), the local OCI registry (only when the stack runs containers or builds real
 * images: Debian's docker-registry, data under `<state>/registry`) and the local SageMaker service, each a detached
 * process with a pid file (`<state>/pids/<component>.pid`) and a log
 * (`<state>/logs/<component>.log`). `up` is idempotent, `down` stops everything it started including job and
 * endpoint processes and containers, `status` reports what runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PIPELINE_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { deployLocalInfra } from './infra-deployment';
import { ensureSearchAttributes } from './search-attributes';
import { needsPodman, REPO_ROOT, type StackConfig, workerEnv } from './config';
import { ensurePodmanTools, hasPodman, removeStackContainers, stackId } from '../service/executors/podman';
import { httpStatus, isAlive, killGroup, portOpen, readPid, startDaemon, stopGroup, waitUntil } from '../shared/procs';

/** The search attributes the dev server registers at start: the ones the pipeline upserts. */
export const SEARCH_ATTRIBUTES = PIPELINE_SEARCH_ATTRIBUTES;

export interface Component {
  name: 'temporal' | 'moto' | 'registry' | 'sagemaker';
  port: number;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves true once the component answers. */
  ready: () => Promise<boolean>;
  startTimeoutMs: number;
  /** Runs before the component starts (writes its config file). */
  prepare?: () => void;
}

/** docker-registry's config: listen on 127.0.0.1 only, keep blobs under the stack's state dir. */
export function registryConfig(cfg: StackConfig): string {
  const root = path.join(cfg.stateDir, 'registry', 'data');
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(root)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${cfg.registryPort}`,
    '',
  ].join('\n');
}

function registryComponent(cfg: StackConfig): Component {
  const file = path.join(cfg.stateDir, 'registry', 'config.yml');
  return {
    name: 'registry',
    port: cfg.registryPort,
    command: '/usr/bin/docker-registry',
    args: ['serve', file],
    ready: async () => (await httpStatus(`http://127.0.0.1:${cfg.registryPort}/v2/`)) === 200,
    startTimeoutMs: 60_000,
    prepare: () => {
      fs.mkdirSync(path.join(cfg.stateDir, 'registry', 'data'), { recursive: true });
      fs.writeFileSync(file, registryConfig(cfg));
    },
  };
}

export function components(cfg: StackConfig): Component[] {
  const venv = path.join(REPO_ROOT, '.venv', 'bin');
  return [
    {
      name: 'temporal',
      port: cfg.temporalPort,
      command: path.join(venv, 'temporal'),
      args: [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(cfg.temporalPort),
        '--ui-port',
        String(cfg.temporalUiPort),
        '--db-filename',
        path.join(cfg.stateDir, 'temporal.db'),
        '--log-level',
        'warn',
        ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
      ],
      ready: async () =>
        (await portOpen(cfg.temporalPort)) && (await httpStatus(`http://127.0.0.1:${cfg.temporalUiPort}/`)) > 0,
      startTimeoutMs: 60_000,
    },
    {
      name: 'moto',
      port: cfg.motoPort,
      command: path.join(venv, 'moto_server'),
      args: ['-H', '127.0.0.1', '-p', String(cfg.motoPort)],
      ready: async () => (await httpStatus(`http://127.0.0.1:${cfg.motoPort}/moto-api/`)) === 200,
      startTimeoutMs: 60_000,
    },
    ...(needsPodman(cfg) ? [registryComponent(cfg)] : []),
    {
      name: 'sagemaker',
      port: cfg.servicePort,
      command: path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      args: [path.join(REPO_ROOT, 'local', 'service', 'main.ts')],
      env: {
        ...process.env,
        LOCAL_STATE_DIR: cfg.stateDir,
        LOCAL_SAGEMAKER_PORT: String(cfg.servicePort),
        LOCAL_MOTO_PORT: String(cfg.motoPort),
        LOCAL_CONTAINER_BIN_DIR: cfg.containerBinDir,
        LOCAL_EXECUTOR: cfg.executor,
        LOCAL_CODEBUILD_BUILDER: cfg.builder,
        LOCAL_REGISTRY_PORT: String(cfg.registryPort),
      },
      ready: async () => (await httpStatus(`http://127.0.0.1:${cfg.servicePort}/_local/health`)) === 200,
      startTimeoutMs: 60_000,
    },
  ];
}

const pidFile = (cfg: StackConfig, name: string): string => path.join(cfg.stateDir, 'pids', `${name}.pid`);
const logFile = (cfg: StackConfig, name: string): string => path.join(cfg.stateDir, 'logs', `${name}.log`);
/** Where the local service keeps the pid files of the job and endpoint processes it runs. */
const hostPidDir = (cfg: StackConfig): string => path.join(cfg.stateDir, 'sagemaker', 'pids');

export interface ComponentStatus {
  name: string;
  pid?: number;
  running: boolean;
  answering: boolean;
  port: number;
  log: string;
}

export async function status(cfg: StackConfig): Promise<{ components: ComponentStatus[]; hostProcesses: number }> {
  const out: ComponentStatus[] = [];
  for (const c of components(cfg)) {
    const pid = readPid(pidFile(cfg, c.name));
    const running = pid !== undefined && isAlive(pid);
    out.push({
      name: c.name,
      pid: running ? pid : undefined,
      running,
      answering: await c.ready(),
      port: c.port,
      log: logFile(cfg, c.name),
    });
  }
  return { components: out, hostProcesses: hostPids(cfg).filter(isAlive).length };
}

function hostPids(cfg: StackConfig): number[] {
  const dir = hostPidDir(cfg);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => readPid(path.join(dir, f)))
    .filter((p): p is number => p !== undefined);
}

/**
 * moto keeps S3, ECR and CloudWatch in memory, so a fresh moto has none of the objects the local service's persisted
 * jobs and endpoints point at (model.tar.gz, image records): relaunching those endpoints would only fail. The service
 * (stopped first if it runs) then starts empty; process images, keyed by source hash, are kept for the next build.
 */
async function dropServiceStateWithoutMoto(cfg: StackConfig, say: (msg: string) => void): Promise<void> {
  const dir = path.join(cfg.stateDir, 'sagemaker');
  const stale = ['state', 'endpoints', 'jobs', 'builds']
    .map((d) => path.join(dir, d))
    .filter((d) => fs.existsSync(d) && fs.readdirSync(d).length > 0);
  if (stale.length === 0) return;
  const pid = readPid(pidFile(cfg, 'sagemaker'));
  if (pid !== undefined && isAlive(pid)) {
    say('sagemaker: stopping it, since moto restarted without its data');
    await stopGroup(pid, 20_000);
  }
  for (const d of stale) fs.rmSync(d, { recursive: true, force: true });
  say(
    'sagemaker: moto started empty (it keeps no data across restarts), so the local service starts without its ' +
      'earlier jobs and endpoints',
  );
}

/** Starts what is not running yet; a component that runs and answers is left alone. */
export async function up(cfg: StackConfig, say: (msg: string) => void = () => undefined): Promise<void> {
  for (const d of [cfg.stateDir, path.join(cfg.stateDir, 'logs'), path.join(cfg.stateDir, 'pids')])
    fs.mkdirSync(d, { recursive: true });
  if (needsPodman(cfg)) ensurePodmanTools(say);
  let motoStarted = false;
  for (const c of components(cfg)) {
    if (!fs.existsSync(c.command)) throw new Error(`${c.command} not found: run \`bash scripts/bootstrap.sh\` first`);
    if (c.name === 'sagemaker' && motoStarted) await dropServiceStateWithoutMoto(cfg, say);
    const pid = readPid(pidFile(cfg, c.name));
    if (c.name === 'sagemaker') {
      // The roles, bucket and repository: infra/'s template deployed into moto. The service reads the roles at its
      // start, so a running one restarts when the deployment changed them.
      const outcome = await deployLocalInfra({ motoEndpoint: `http://127.0.0.1:${cfg.motoPort}`, say });
      if (outcome !== 'unchanged' && pid !== undefined && isAlive(pid)) {
        say(`sagemaker: restarting it to read the roles the deployment ${outcome}`);
        await stopGroup(pid, 20_000);
      }
    }
    if (pid !== undefined && isAlive(pid)) {
      if (await c.ready()) {
        say(`${c.name}: already running (pid ${pid})`);
        if (c.name === 'temporal') {
          const added = await ensureSearchAttributes(`127.0.0.1:${cfg.temporalPort}`);
          if (added.length) say(`temporal: registered search attribute(s) ${added.join(', ')}`);
        }
        continue;
      }
      say(`${c.name}: pid ${pid} runs but does not answer; restarting it`);
      await stopGroup(pid);
    } else if (await portOpen(c.port)) {
      throw new Error(
        `${c.name}: port ${c.port} is taken by a process this stack did not start (set ` +
          `LOCAL_${c.name.toUpperCase()}_PORT)`,
      );
    }
    c.prepare?.();
    const newPid = startDaemon({
      command: c.command,
      args: c.args,
      env: c.env,
      cwd: REPO_ROOT,
      logFile: logFile(cfg, c.name),
      pidFile: pidFile(cfg, c.name),
    });
    try {
      await waitUntil(
        async () => {
          if (!isAlive(newPid))
            throw new Error(
              `${c.name} exited during start; see ${logFile(cfg, c.name)}:\n${tail(logFile(cfg, c.name), 15)}`,
            );
          return c.ready();
        },
        c.startTimeoutMs,
        c.name,
        250,
      );
    } catch (err) {
      killGroup(newPid, 'SIGKILL');
      throw err;
    }
    say(`${c.name}: started (pid ${newPid}, port ${c.port}, log ${logFile(cfg, c.name)})`);
    if (c.name === 'moto') motoStarted = true;
  }
  fs.writeFileSync(
    path.join(cfg.stateDir, 'stack.json'),
    JSON.stringify({ ...cfg, env: workerEnv(cfg), temporalUi: `http://127.0.0.1:${cfg.temporalUiPort}` }, null, 2),
  );
}

/**
 * Stops every component (service first, so it stops its jobs), any job process still alive and any container of
 * this stack (whatever executor `up` was given: the registry's pid file and the stack's container label decide).
 */
export async function down(cfg: StackConfig, say: (msg: string) => void = () => undefined): Promise<void> {
  for (const c of [...components({ ...cfg, builder: 'podman' })].reverse()) {
    const file = pidFile(cfg, c.name);
    const pid = readPid(file);
    if (pid !== undefined && isAlive(pid)) {
      await stopGroup(pid, c.name === 'sagemaker' ? 20_000 : 10_000);
      say(`${c.name}: stopped (pid ${pid})`);
    } else if (c.name !== 'registry' || needsPodman(cfg)) say(`${c.name}: not running`);
    fs.rmSync(file, { force: true });
  }
  const dir = hostPidDir(cfg);
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir)) {
      const pid = readPid(path.join(dir, f));
      if (pid !== undefined && isAlive(pid)) {
        await stopGroup(pid, 5_000);
        say(`job process ${f.replace(/\.pid$/, '')}: stopped (pid ${pid})`);
      }
      fs.rmSync(path.join(dir, f), { force: true });
    }
  }
  if (needsPodman(cfg) || hasPodman()) {
    const removed = removeStackContainers(stackId(path.join(cfg.stateDir, 'sagemaker')));
    if (removed) say(`containers: removed ${removed}`);
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
