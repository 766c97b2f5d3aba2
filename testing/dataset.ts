/**
 * The demo dataset local runs train on, prepared by the container's own processing entrypoint
 * (`prepare --source builtin`) into `<dir>/{train,val}/corpus.txt`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const CHANNELS = ['train', 'val'];

/** True when `datasetDir` already holds a non-empty corpus for every channel. */
export function datasetReady(datasetDir: string): boolean {
  return CHANNELS.map((c) => path.join(datasetDir, c, 'corpus.txt')).every(
    (f) => fs.existsSync(f) && fs.statSync(f).size > 0,
  );
}

/**
 * Runs `<binDir>/prepare --source builtin` with SAGEMAKER_BASE_DIR=`workDir`, moves its output to `datasetDir`
 * (replacing what was there) and removes `workDir`. Returns prepare's own report line; throws naming what failed.
 * `onStart` runs once the entrypoint is found, just before it starts.
 */
export function prepareDataset(binDir: string, datasetDir: string, workDir: string, onStart?: () => void): string {
  const prepare = path.join(binDir, 'prepare');
  if (!fs.existsSync(prepare))
    throw new Error(`${prepare} not found: run \`bash scripts/bootstrap.sh\` (it sets up container/.venv)`);
  onStart?.();
  const out = path.join(workDir, 'processing', 'output');
  const r = spawnSync(prepare, ['--source', 'builtin', '--output', out], {
    env: { ...process.env, SAGEMAKER_BASE_DIR: workDir },
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(
      `prepare failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`,
    );
  fs.rmSync(datasetDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(datasetDir), { recursive: true });
  fs.renameSync(out, datasetDir);
  fs.rmSync(workDir, { recursive: true, force: true });
  return r.stdout.trim();
}
