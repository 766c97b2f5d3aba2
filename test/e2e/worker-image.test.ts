/**
 * The worker from its image (deploy/worker.Dockerfile, built by `npm run worker:image`) runs a pipeline on the local
 * stack: `podman run --network host` with the stack's worker environment, nothing of the repository mounted but the
 * dataset the spec syncs from. The image's CodeBuild build context is the repository's container/ (same source hash),
 * it runs as a non-root user, /healthz answers while it polls and the image's HEALTHCHECK passes, and `podman stop`
 * (SIGTERM) ends it with exit code 0.
 *
 * The first build on a fresh machine takes minutes (podman, the Debian base, production node_modules); later builds
 * hit podman's layer cache. Skipped (with a warning) only where podman is missing and cannot be installed (not root).
 */
import type { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { PipelineSummary } from '../../contracts/pipeline-plan';
import { hashContextFiles, listContextFiles } from '../../activities/build-context';
import { LocalHarness, missingEntrypoints } from '../../testing/local-harness';
import { hasPodman, podmanEnv, STACK_LABEL, stackId } from '../../local/service/executors/podman';
import { freePort, waitUntil } from '../../local/shared/procs';
import { REPO_ROOT } from '../../local/stack/config';

jest.setTimeout(40 * 60_000);

const CAN_RUN = (process.getuid?.() === 0 || hasPodman()) && missingEntrypoints().length === 0;
if (!CAN_RUN)
  console.warn('worker-image e2e skipped: podman cannot be installed here (not root) or the venvs are missing');
const maybe = CAN_RUN ? describe : describe.skip;

const TASK_QUEUE = `e2e-worker-image-${process.pid}`;
const podman = (...args: string[]): string =>
  execFileSync('podman', args, { env: podmanEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

maybe('the worker image', () => {
  let h: LocalHarness;
  let client: Client;
  let image = '';
  let buildId = '';
  let container = '';
  let healthPort = 0;
  const logs = (): string => (container ? podman('logs', container) : '');

  beforeAll(async () => {
    // Installs podman when missing (root), builds the local base once, stages and builds the image.
    const built = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'worker-image', 'build.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 30 * 60_000,
    });
    image = /^image=(.+)$/m.exec(built)?.[1] ?? '';
    buildId = /^build_id=(.+)$/m.exec(built)?.[1] ?? '';
    h = await LocalHarness.start({ prefix: 'worker-image-e2e', log: () => undefined });
    client = await h.client();
    healthPort = await freePort();
    container = `jaxsm-worker-e2e-${process.pid}`;
    const env = { ...h.env, TEMPORAL_TASK_QUEUE: TASK_QUEUE, WORKER_HEALTH_PORT: String(healthPort) };
    podman(
      'run',
      '-d',
      '--name',
      container,
      '--runtime',
      'runc',
      '--network',
      'host',
      // `local down` removes it with the stack's other containers if this test dies first.
      '--label',
      `${STACK_LABEL}=${stackId(path.join(h.cfg.stateDir, 'sagemaker'))}`,
      '-v',
      `${h.datasetDir}:/data:ro`,
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      image,
    );
    await waitUntil(() => logs().includes('worker polling task queue'), 5 * 60_000, 'the worker in the image polling');
  });

  afterAll(async () => {
    if (container) {
      try {
        podman('rm', '-f', container);
      } catch {
        // already gone
      }
    }
    await h?.stop();
  });

  test('runs as a non-root user, reports its build ID, and answers /healthz and its HEALTHCHECK', async () => {
    expect(podman('exec', container, 'id', '-u')).toBe('10001');
    expect(logs()).toContain(`worker version: build ${buildId} (prebuilt bundle header)`);
    const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', state: 'RUNNING', buildId });
    // The image's own HEALTHCHECK command, run once (podman schedules it through systemd, absent here).
    podman('healthcheck', 'run', container);
  });

  test('runs a pipeline to a deployed endpoint, building from the build context inside the image', async () => {
    const spec = h.spec((s) => {
      s.data.source = { localPath: '/data' };
      s.tuning = { enabled: false };
    });
    const summary: PipelineSummary = await client.workflow.execute('migrationPipeline', {
      taskQueue: TASK_QUEUE,
      workflowId: `e2e-worker-image-${Date.now().toString(36)}`,
      args: [spec],
    });

    expect(summary.outcome).toBe('deployed');
    const repoContext = await hashContextFiles(await listContextFiles(path.join(REPO_ROOT, 'container')));
    // The image tag is the hash's first 16 hex digits (activities/build-context.ts).
    expect(summary.image?.sourceHash).toBe(repoContext.slice(0, 16));
  });

  test('SIGTERM (podman stop) stops it cleanly: exit code 0', () => {
    podman('stop', '-t', '60', container);

    expect(podman('inspect', container, '--format', '{{.State.ExitCode}}')).toBe('0');
    expect(logs()).toMatch(/worker: SIGTERM: stopped polling[\s\S]*worker: stopped/);
  });
});
