/**
 * The team's own training and inference code (SageMaker script mode): the spec's `code` sections, the packing and
 * repacking activities' inputs and outputs, and how packed code is handed to SageMaker, key for key as the
 * SageMaker Python SDK v2 does it (sagemaker/estimator.py `_script_mode_hyperparam_update`, sagemaker/model.py
 * `_script_mode_env_vars` and `is_repack`).
 */
import { z } from 'zod';

/** Largest source directory the pipeline packs (all files, uncompressed): code, not data; data goes in a channel. */
export const MAX_SOURCE_DIR_BYTES = 100 * 1024 * 1024;

/** The hyperparameters the SDK adds for script mode (`sagemaker/model.py` constants). */
export const SCRIPT_MODE_HYPERPARAMETERS = {
  program: 'sagemaker_program',
  submitDirectory: 'sagemaker_submit_directory',
  containerLogLevel: 'sagemaker_container_log_level',
  jobName: 'sagemaker_job_name',
  region: 'sagemaker_region',
} as const;

/** Python's logging.INFO: the SDK's default `container_log_level`. */
export const DEFAULT_CONTAINER_LOG_LEVEL = 20;

/** Where a repacked model's code lives in the container (the SDK's SAGEMAKER_SUBMIT_DIRECTORY after a repack). */
export const REPACKED_CODE_DIR = '/opt/ml/model/code';

/** `{ sourceDir, entryPoint }` of the spec's training.code and deployment.code. */
export const UserCodeSpec = z.strictObject({
  /**
   * A directory (relative to the spec file, see docs/user-code.md) packed into sourcedir.tar.gz, or an s3:// URI of a
   * sourcedir.tar.gz made elsewhere (used as it is, like the SDK's `source_dir="s3://…"`).
   */
  sourceDir: z
    .string()
    .min(1)
    .max(1024)
    .refine((s) => !s.startsWith('s3://') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+\.tar\.gz$/.test(s), {
      error: 'an S3 source must be the URI of a .tar.gz object (s3://bucket/key.tar.gz), as the SageMaker SDK requires',
    }),
  /** The program inside sourceDir, relative to it (`train.py`, `src/train.py`). */
  entryPoint: z
    .string()
    .min(1)
    .max(256)
    .refine((p) => p.endsWith('.py'), { error: 'must be a Python file (ending in .py)' })
    .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
      error: 'must be a path inside sourceDir (relative, without "..")',
    }),
});
/** A spec's code section. */
export type UserCodeSpec = z.infer<typeof UserCodeSpec>;

/** Input of the packUserCode activity. */
export const PackUserCodeInput = z.strictObject({
  /** Which spec field this is (`training.code`), named in every error. */
  field: z.string(),
  sourceDir: z.string().min(1),
  entryPoint: z.string().min(1),
  bucket: z.string().min(3),
  /** Packed archives go to `s3://bucket/<keyPrefix><content hash>/sourcedir.tar.gz`. */
  keyPrefix: z.string(),
});
/** Input of the packUserCode activity. */
export type PackUserCodeInput = z.infer<typeof PackUserCodeInput>;

/** Where the code is in S3 and what it is. */
export const PackedCode = z.strictObject({
  /** The sourcedir.tar.gz object. */
  s3Uri: z.string(),
  entryPoint: z.string(),
  /** sha256 of the directory's content (paths, modes, bytes), or of the archive for an S3 source. */
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  fileCount: z.number().int().min(1),
  bytes: z.number().int().min(0),
  /** False when an earlier run (or attempt) had already uploaded the same content, or the source was in S3. */
  uploaded: z.boolean(),
});
/** Where the code is in S3 and what it is. */
export type PackedCode = z.infer<typeof PackedCode>;

/** Input of the repackModel activity: the model artefact plus inference code under `code/`, as the SDK repacks. */
export const RepackModelInput = z.strictObject({
  modelDataUrl: z.string().regex(/^s3:\/\/[^/]+\/.+/),
  code: PackedCode,
  bucket: z.string().min(3),
  /** The repacked model goes to `s3://bucket/<keyPrefix><hash of inputs>/model.tar.gz`. */
  keyPrefix: z.string(),
});
/** Input of the repackModel activity. */
export type RepackModelInput = z.infer<typeof RepackModelInput>;

/** The repacked model.tar.gz. */
export const RepackModelOutput = z.strictObject({
  modelDataUrl: z.string(),
  /** False when the same model and code had already been repacked. */
  repacked: z.boolean(),
  /** Members written; null when an earlier attempt had written it. */
  members: z.number().int().nullable(),
});
/** The repacked model.tar.gz. */
export type RepackModelOutput = z.infer<typeof RepackModelOutput>;

/**
 * The hyperparameters of a script-mode job, JSON-encoded like the SDK's `Estimator(source_dir=…)`: every value
 * (the user's too) through `json.dumps`, so `"train.py"` arrives as `"\"train.py\""` and 3e-4 as `"0.0003"`; the
 * training toolkit decodes them.
 */
export function scriptModeHyperparameters(
  userHyperparameters: Record<string, string | number | boolean>,
  code: PackedCode,
  jobName: string,
  region: string | undefined,
): Record<string, string> {
  const h = SCRIPT_MODE_HYPERPARAMETERS;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(userHyperparameters)) out[k] = JSON.stringify(v);
  out[h.submitDirectory] = JSON.stringify(code.s3Uri);
  out[h.program] = JSON.stringify(code.entryPoint);
  out[h.containerLogLevel] = JSON.stringify(DEFAULT_CONTAINER_LOG_LEVEL);
  out[h.jobName] = JSON.stringify(jobName);
  if (region) out[h.region] = JSON.stringify(region);
  return out;
}

/** A model's environment after the SDK's repack: the handler is `code/<entryPoint>` inside model.tar.gz. */
export function scriptModeModelEnvironment(code: PackedCode, region: string | undefined): Record<string, string> {
  return {
    SAGEMAKER_PROGRAM: code.entryPoint,
    SAGEMAKER_SUBMIT_DIRECTORY: REPACKED_CODE_DIR,
    SAGEMAKER_CONTAINER_LOG_LEVEL: String(DEFAULT_CONTAINER_LOG_LEVEL),
    ...(region ? { SAGEMAKER_REGION: region } : {}),
  };
}

/** The inference code to repack into the champion's model.tar.gz, and where the repacked model goes. */
export const InferenceCodeInput = z.strictObject({
  code: PackedCode,
  bucket: z.string().min(3),
  keyPrefix: z.string(),
  /** Written as SAGEMAKER_REGION, as the SDK does, when the spec names a region. */
  region: z.string().optional(),
});
/** The inference code to repack into the champion's model.tar.gz. */
export type InferenceCodeInput = z.infer<typeof InferenceCodeInput>;
