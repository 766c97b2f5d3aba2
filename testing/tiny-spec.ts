/**
 * The pipeline spec local runs start from: examples/pipeline.local.json (what `npm run demo` runs), and the tiny
 * variant the e2e tests, benches, chaos campaigns and the history recorder run, whose model trains in seconds on CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../local/stack/config';

/** The local example spec (absolute path). */
export const LOCAL_SPEC_FILE = path.join(REPO_ROOT, 'examples', 'pipeline.local.json');

/** A pipeline spec as plain JSON, to patch freely before it is validated by the workflow. */
export type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A small model: a 4-host job and 4 trials take seconds on 2 cores (batch 8 divides over 4 hosts). */
export const TINY_HYPERPARAMETERS = {
  n_layers: 1,
  d_model: 64,
  n_heads: 2,
  seq_len: 64,
  batch_size: 8,
  warmup_steps: 5,
  eval_batches: 2,
  max_steps: 30,
  eval_every: 10,
  checkpoint_every: 10,
};

/** Hyperparameters as SageMaker passes them (every value a string), for calls that bypass the pipeline spec. */
export function asHyperParameters(hps: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(hps).map(([k, v]) => [k, String(v)]));
}

/** examples/pipeline.local.json as it is on disk. */
export function loadLocalSpec(): Spec {
  return JSON.parse(fs.readFileSync(LOCAL_SPEC_FILE, 'utf8')) as Spec;
}

/**
 * The local example training on the prepared dataset at `datasetDir` (its `train` and `val` channels) instead of
 * preparing one in its own prepareData step, and without the evaluateModel step: the two optional steps run where a
 * test or recording turns them on (`withOptionalSteps`).
 */
export function localSpec(datasetDir: string): Spec {
  const s = withoutOptionalSteps(loadLocalSpec());
  s.data.source = { localPath: datasetDir };
  return s;
}

/**
 * A spec with prepareData and evaluateModel off: the seven steps, training on the synced `train` and `val` channels
 * (the example's `raw` channel is prepareData's input).
 */
export function withoutOptionalSteps(s: Spec): Spec {
  s.data = { source: s.data.source };
  s.prepareData = { enabled: false };
  s.evaluation = { enabled: false };
  return s;
}

/**
 * Turns on the optional steps for a spec made by localSpec or tinySpec: prepareData runs the image's `prepare` on the
 * synced `train`/`val` corpora as raw text (a Processing job), and evaluateModel scores the champion over its `eval`
 * output (a Batch Transform job) before registration.
 */
export function withOptionalSteps(s: Spec): void {
  s.prepareData = { enabled: true, instanceType: 'ml.m5.xlarge', arguments: [] };
  s.evaluation = { enabled: true, instanceType: 'ml.m5.large', instanceCount: 1 };
}

/**
 * The tiny spec: the local example with the dataset at `datasetDir`, tiny hyperparameters, 1 s polling and a rollback
 * alarm that trips on the first 5xx within 10 s; then `patch`.
 */
export function tinySpec(datasetDir: string, patch: (s: Spec) => void = () => undefined): Spec {
  const s = localSpec(datasetDir);
  delete s.$schema;
  s.pollIntervalSeconds = 1;
  s.training.hyperparameters = { ...TINY_HYPERPARAMETERS };
  s.deployment.rollback = { max5xxErrors: 0, periodSeconds: 60 };
  patch(s);
  return s;
}
