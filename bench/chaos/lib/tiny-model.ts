/**
 * Tiny model artefacts for the campaigns: one real training run of the container's `train` (a 1-layer, 64-wide LM,
 * seconds on 2 cores) in a SAGEMAKER_BASE_DIR tree, packed as model.tar.gz; and a deliberately bad model whose
 * code/inference.py raises on every request (as test/e2e/pipeline.test.ts run 3 ships it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { prepareDataset } from '../../../testing/dataset';
import { CONTAINER_BIN } from '../../../testing/local-harness';
import { asHyperParameters, TINY_HYPERPARAMETERS } from '../../../testing/tiny-spec';

/** The tiny model, trained for 20 steps: training is a few seconds and one generation is tens of milliseconds. */
const TINY_HPS = asHyperParameters({ ...TINY_HYPERPARAMETERS, max_steps: 20 });

function requireBin(entry: string): string {
  const bin = path.join(CONTAINER_BIN, entry);
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`bash scripts/bootstrap.sh\` first`);
  return bin;
}

/** Trains the tiny model under `<dir>/train` and returns its model directory (what `serve` reads as /opt/ml/model). */
export function trainTinyModel(dir: string): string {
  const dataset = path.join(dir, 'dataset');
  prepareDataset(CONTAINER_BIN, dataset, path.join(dir, 'prepare'));
  const base = path.join(dir, 'train');
  fs.mkdirSync(path.join(base, 'input/config'), { recursive: true });
  fs.writeFileSync(path.join(base, 'input/config/hyperparameters.json'), JSON.stringify(TINY_HPS));
  for (const ch of ['train', 'val'])
    fs.cpSync(path.join(dataset, ch), path.join(base, 'input/data', ch), { recursive: true });
  execFileSync(requireBin('train'), [], {
    env: { ...process.env, SAGEMAKER_BASE_DIR: base, JAX_PLATFORMS: 'cpu' },
    stdio: 'ignore',
    timeout: 600_000,
  });
  return path.join(base, 'model');
}

/** Packs a model directory as model.tar.gz (SageMaker's ModelDataUrl layout) and returns the file. */
export function packModel(modelDir: string, out: string): string {
  execFileSync('tar', ['-czf', out, '-C', modelDir, '.']);
  return out;
}

/** A model.tar.gz whose user handler loads nothing and raises on every prediction (the server answers 500). */
export function badModelTarball(dir: string): string {
  const modelDir = path.join(dir, 'bad-model');
  fs.mkdirSync(path.join(modelDir, 'code'), { recursive: true });
  fs.writeFileSync(
    path.join(modelDir, 'code/inference.py'),
    [
      'def model_fn(model_dir):',
      '    return None',
      '',
      '',
      'def predict_fn(data, model):',
      "    raise RuntimeError('deliberately bad model')",
      '',
    ].join('\n'),
  );
  return packModel(modelDir, path.join(dir, 'bad-model.tar.gz'));
}
