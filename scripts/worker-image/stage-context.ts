/**
 * Stages the worker image's build context (deploy/worker.Dockerfile) in dist/worker-image/context/, so the image build
 * itself downloads nothing and runs nothing from npm:
 *   node                 the pinned Node (.nvmrc) this script runs on: the npm registry's binary package
 *   app/node_modules     production dependencies only (`npm ci --omit=dev` from the lockfile; Temporal's native
 *                        bridge kept for linux-x64 only), reused while the lockfile is unchanged
 *   app/{worker,activities,contracts,workflows}   the worker's source (run with tsx, a production dependency)
 *   app/dist/workflow-bundle.js   the prebuilt workflow bundle, its first line naming the build ID
 *   app/container        the CodeBuild build context, exactly the files the pipeline hashes and uploads (honouring
 *                        container/.dockerignore), so a worker in the image needs no repository checkout
 * Prints the build ID and the context's source hash as `key=value` lines for scripts/worker-image/build.sh.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hashContextFiles, listContextFiles } from '../../activities/build-context';
import { bundleWorkflows } from '../../worker/workflow-bundle';
import { workflowSourceHash } from '../../worker/workflow-version';

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'dist', 'worker-image');
const CONTEXT = path.join(OUT, 'context');
const APP = path.join(CONTEXT, 'app');
/** Production node_modules live outside the context between builds, keyed by the lockfile. */
const DEPS = path.join(OUT, 'prod-deps');
const SOURCE_DIRS = ['worker', 'activities', 'contracts', 'workflows'];
/** The one platform the image runs on, as @temporalio/core-bridge names its prebuilt libraries. */
const BRIDGE_PLATFORM = 'x86_64-unknown-linux-gnu';

function copyTree(from: string, to: string, keep: (rel: string) => boolean = () => true, rel = ''): void {
  for (const entry of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
    const r = path.join(rel, entry.name);
    if (!keep(r)) continue;
    if (entry.isDirectory()) copyTree(from, to, keep, r);
    else if (entry.isFile()) {
      fs.mkdirSync(path.dirname(path.join(to, r)), { recursive: true });
      fs.copyFileSync(path.join(from, r), path.join(to, r));
      fs.chmodSync(path.join(to, r), fs.statSync(path.join(from, r)).mode & 0o755);
    }
  }
}

/** `npm ci --omit=dev` into DEPS when the lockfile changed since the last staging. */
function productionDependencies(): void {
  const manifest = ['package.json', 'package-lock.json'].map((f) => fs.readFileSync(path.join(ROOT, f)));
  const stamp = createHash('sha256').update(process.version).update(Buffer.concat(manifest)).digest('hex').slice(0, 16);
  const stampFile = path.join(DEPS, '.stamp');
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return;
  fs.rmSync(DEPS, { recursive: true, force: true });
  fs.mkdirSync(DEPS, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, f), path.join(DEPS, f));
  console.error('[worker-image] installing production dependencies (npm ci --omit=dev)');
  // Install scripts stay off as in development: the native bridge and esbuild ship prebuilt binaries.
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: DEPS,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const releases = path.join(DEPS, 'node_modules', '@temporalio', 'core-bridge', 'releases');
  for (const platform of fs.readdirSync(releases)) {
    if (platform !== BRIDGE_PLATFORM) fs.rmSync(path.join(releases, platform), { recursive: true, force: true });
  }
  fs.writeFileSync(stampFile, stamp);
}

async function main(): Promise<void> {
  const pinned = `v${fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim()}`;
  if (process.version !== pinned) {
    throw new Error(`staging runs on Node ${process.version}, not the pinned ${pinned}: run it through npm run`);
  }
  fs.rmSync(CONTEXT, { recursive: true, force: true });
  fs.mkdirSync(path.join(APP, 'dist'), { recursive: true });
  fs.copyFileSync(fs.realpathSync(process.execPath), path.join(CONTEXT, 'node'));
  fs.chmodSync(path.join(CONTEXT, 'node'), 0o755);

  productionDependencies();
  copyTree(DEPS, APP, (rel) => rel !== '.stamp');
  for (const dir of SOURCE_DIRS) copyTree(path.join(ROOT, dir), path.join(APP, dir), (rel) => !rel.endsWith('.md'));
  fs.copyFileSync(path.join(ROOT, 'tsconfig.json'), path.join(APP, 'tsconfig.json'));
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(APP, 'LICENSE'));

  const buildId = workflowSourceHash();
  fs.writeFileSync(path.join(APP, 'dist', 'workflow-bundle.js'), await bundleWorkflows());

  const files = await listContextFiles(path.join(ROOT, 'container'));
  for (const f of files) {
    const to = path.join(APP, 'container', f.rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(f.abs, to);
    fs.chmodSync(to, f.executable ? 0o755 : 0o644);
  }
  const sourceHash = await hashContextFiles(files);
  console.log(`build_id=${buildId}`);
  console.log(`container_source_hash=${sourceHash}`);
  console.log(`context=${CONTEXT}`);
}

main().catch((err: unknown) => {
  console.error(`[worker-image] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
