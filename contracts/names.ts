/**
 * Deterministic AWS resource names. A name is a readable prefix from the workflow ID plus a hash of the full,
 * unsanitised workflow ID and step, so a retried step finds its own resource and two workflow IDs that read
 * alike (or were truncated alike) never share one. Pure TypeScript: it runs inside the workflow sandbox.
 */

/** SageMaker's name limits. */
export const NAME_LIMITS = {
  trainingJob: 63,
  tuningJob: 32,
  model: 63,
  endpointConfig: 63,
  processingJob: 63,
  transformJob: 63,
  codeBuildProject: 150,
  alarm: 255,
} as const;
const HASH_LENGTH = 8;

/** FNV-1a, 64-bit: stable across runtimes and cheap; not for security. */
export function stableHash(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** Replaces runs of characters SageMaker refuses with one hyphen and trims hyphens at the ends. */
export function sanitize(text: string): string {
  return text.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * A name of at most `maxLength` characters of `[a-zA-Z0-9-]`, unique per (workflowId, step), and per run key when
 * one is given: a re-run under the same workflow ID (contracts/rerun.ts) gets names with the same readable prefix
 * and a different hash, so it never re-attaches to what the earlier run left.
 */
export function resourceName(workflowId: string, step: string, maxLength: number, runKey?: string): string {
  const hash = stableHash(`${workflowId}\u0000${step}${runKey === undefined ? '' : `\u0000${runKey}`}`).slice(
    0,
    HASH_LENGTH,
  );
  const room = maxLength - HASH_LENGTH - 1;
  const readable = sanitize(`${workflowId}-${step}`).slice(0, room).replace(/-+$/, '');
  return readable ? `${readable}-${hash}` : hash;
}

/** Every name one pipeline run uses. */
export interface RunResourceNames {
  trainingJob: string;
  tuningJob: string;
  model: string;
  endpointConfig: string;
  /** prepareData's Processing job. */
  processingJob: string;
  /** evaluateModel's Batch Transform job. */
  transformJob: string;
  /** The Model evaluateModel serves the candidate with (deleted after the step). */
  evaluationModel: string;
}

/** Names of the resources one pipeline run (its workflow ID, and its run key when it is a re-run) creates. */
export function runResourceNames(workflowId: string, runKey?: string): RunResourceNames {
  return {
    trainingJob: resourceName(workflowId, 'train', NAME_LIMITS.trainingJob, runKey),
    tuningJob: resourceName(workflowId, 'tune', NAME_LIMITS.tuningJob, runKey),
    model: resourceName(workflowId, 'model', NAME_LIMITS.model, runKey),
    endpointConfig: resourceName(workflowId, 'epc', NAME_LIMITS.endpointConfig, runKey),
    processingJob: resourceName(workflowId, 'prepare', NAME_LIMITS.processingJob, runKey),
    transformJob: resourceName(workflowId, 'evaluate', NAME_LIMITS.transformJob, runKey),
    evaluationModel: resourceName(workflowId, 'eval-model', NAME_LIMITS.model, runKey),
  };
}

/** The CodeBuild project that builds a pipeline's image (one per pipeline, reused by every run). */
export function codeBuildProjectName(pipelineName: string): string {
  return `${sanitize(pipelineName)}-image-build`.slice(0, NAME_LIMITS.codeBuildProject);
}

/** Workflow ID of a step's child workflow. */
export function childWorkflowId(parentWorkflowId: string, step: string): string {
  return `${parentWorkflowId}/${step}`;
}
