/** Step 1, buildImage: inputs and outputs of the step workflow and its activities. */
import { z } from 'zod';

/** Input of the buildImage step workflow. */
export const BuildImageInput = z.strictObject({
  pipelineName: z.string().min(1),
  bucket: z.string().min(3),
  repository: z.string().min(2),
  contextDir: z.string().min(1),
  dockerfile: z.string().default('Dockerfile'),
  buildArgs: z.record(z.string(), z.string()).default({}),
  codeBuild: z.strictObject({
    serviceRoleArn: z.string().optional(),
    computeType: z.string(),
    image: z.string(),
    timeoutMinutes: z.number().int(),
  }),
  scanOnPush: z.boolean().default(false),
  tags: z.record(z.string(), z.string()).default({}),
  pollIntervalSeconds: z.number().int().min(1).default(30),
});
export type BuildImageInput = z.input<typeof BuildImageInput>;

/** Output of buildImage: the image the source hash names, built now or found in ECR. */
export const BuildImageOutput = z.strictObject({
  sourceHash: z.string(),
  repositoryUri: z.string(),
  imageTag: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  skipped: z.boolean(),
  buildId: z.string().optional(),
});
export type BuildImageOutput = z.infer<typeof BuildImageOutput>;

export const HashContextInput = z.strictObject({ contextDir: z.string() });
export type HashContextInput = z.infer<typeof HashContextInput>;
/** Content hash of the build context (paths + bytes, honouring .dockerignore). */
export const HashContextOutput = z.strictObject({
  sourceHash: z.string().regex(/^[a-f0-9]{16,64}$/),
  fileCount: z.number().int(),
  bytes: z.number().int(),
});
export type HashContextOutput = z.infer<typeof HashContextOutput>;

export const FindImageInput = z.strictObject({ repository: z.string(), tag: z.string() });
export type FindImageInput = z.infer<typeof FindImageInput>;
/** `digest` is null when the repository or the tag does not exist. */
export const FindImageOutput = z.strictObject({ repositoryUri: z.string().nullable(), digest: z.string().nullable() });
export type FindImageOutput = z.infer<typeof FindImageOutput>;

export const EnsureRepositoryInput = z.strictObject({
  repository: z.string(),
  scanOnPush: z.boolean(),
  tags: z.record(z.string(), z.string()),
});
export type EnsureRepositoryInput = z.infer<typeof EnsureRepositoryInput>;
export const EnsureRepositoryOutput = z.strictObject({ repositoryUri: z.string(), created: z.boolean() });
export type EnsureRepositoryOutput = z.infer<typeof EnsureRepositoryOutput>;

export const UploadContextInput = z.strictObject({
  contextDir: z.string(),
  sourceHash: z.string(),
  bucket: z.string(),
  keyPrefix: z.string(),
});
export type UploadContextInput = z.infer<typeof UploadContextInput>;
/** The uploaded zip, content-addressed by source hash (`uploaded: false` when it was already there). */
export const UploadContextOutput = z.strictObject({ bucket: z.string(), key: z.string(), uploaded: z.boolean() });
export type UploadContextOutput = z.infer<typeof UploadContextOutput>;

export const EnsureProjectInput = z.strictObject({
  projectName: z.string(),
  serviceRoleArn: z.string().optional(),
  computeType: z.string(),
  image: z.string(),
  timeoutMinutes: z.number().int(),
  tags: z.record(z.string(), z.string()),
});
export type EnsureProjectInput = z.infer<typeof EnsureProjectInput>;
export const EnsureProjectOutput = z.strictObject({ projectName: z.string(), created: z.boolean() });
export type EnsureProjectOutput = z.infer<typeof EnsureProjectOutput>;

/** StartBuild; the workflow ID and source hash make a retried start find the build it already started. */
export const StartBuildInput = z.strictObject({
  projectName: z.string(),
  sourceBucket: z.string(),
  sourceKey: z.string(),
  repositoryUri: z.string(),
  imageTag: z.string(),
  dockerfile: z.string(),
  buildArgs: z.record(z.string(), z.string()),
  workflowId: z.string(),
});
export type StartBuildInput = z.infer<typeof StartBuildInput>;
export const StartBuildOutput = z.strictObject({ buildId: z.string(), reattached: z.boolean() });
export type StartBuildOutput = z.infer<typeof StartBuildOutput>;

export const BuildStatus = z.enum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED']);
export const WaitBuildInput = z.strictObject({ buildId: z.string(), pollIntervalSeconds: z.number().int().min(1) });
export type WaitBuildInput = z.infer<typeof WaitBuildInput>;
/** Terminal state of a build; for failures the first failing phase and its message. */
export const BuildResult = z.strictObject({
  buildId: z.string(),
  status: BuildStatus,
  failedPhase: z.string().optional(),
  failureMessage: z.string().optional(),
  logTail: z.array(z.string()).default([]),
});
export type BuildResult = z.infer<typeof BuildResult>;

export const StopBuildInput = z.strictObject({ buildId: z.string() });
export type StopBuildInput = z.infer<typeof StopBuildInput>;
export const StopBuildOutput = z.strictObject({ stopped: z.boolean(), status: z.string() });
export type StopBuildOutput = z.infer<typeof StopBuildOutput>;
