/** Step 2, publishImage (the "ECR push" step): inputs and outputs. */
import { z } from 'zod';

export const Severity = z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL']);

/** Input of the publishImage step workflow. */
export const PublishImageInput = z.strictObject({
  repository: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  releaseTag: z.string().optional(),
  scan: z.strictObject({ enabled: z.boolean(), failOnSeverity: Severity }),
  pollIntervalSeconds: z.number().int().min(1).default(15),
});
export type PublishImageInput = z.input<typeof PublishImageInput>;

/** Output: the image by digest that every later step uses. */
export const PublishImageOutput = z.strictObject({
  imageUri: z.string(),
  digest: z.string(),
  releaseTag: z.string().optional(),
  findings: z.record(z.string(), z.number()).default({}),
});
export type PublishImageOutput = z.infer<typeof PublishImageOutput>;

export const AllowSageMakerPullInput = z.strictObject({ repository: z.string() });
export type AllowSageMakerPullInput = z.infer<typeof AllowSageMakerPullInput>;
export const AllowSageMakerPullOutput = z.strictObject({ changed: z.boolean() });
export type AllowSageMakerPullOutput = z.infer<typeof AllowSageMakerPullOutput>;

export const VerifyImageInput = z.strictObject({ repository: z.string(), digest: z.string() });
export type VerifyImageInput = z.infer<typeof VerifyImageInput>;
/** The manifest exists under that digest; `imageUri` is `<repositoryUri>@<digest>`. */
export const VerifyImageOutput = z.strictObject({
  imageUri: z.string(),
  tags: z.array(z.string()),
  sizeBytes: z.number().optional(),
});
export type VerifyImageOutput = z.infer<typeof VerifyImageOutput>;

/** Reads scan findings; retried (as a poll) while the scan is still running. */
export const ScanFindingsInput = z.strictObject({ repository: z.string(), digest: z.string() });
export type ScanFindingsInput = z.infer<typeof ScanFindingsInput>;
export const ScanFindingsOutput = z.strictObject({
  status: z.enum(['COMPLETE', 'UNSUPPORTED']),
  counts: z.record(z.string(), z.number()),
  top: z.array(z.strictObject({ name: z.string(), severity: z.string() })),
});
export type ScanFindingsOutput = z.infer<typeof ScanFindingsOutput>;

export const TagImageInput = z.strictObject({ repository: z.string(), digest: z.string(), tag: z.string() });
export type TagImageInput = z.infer<typeof TagImageInput>;
export const TagImageOutput = z.strictObject({ tagged: z.boolean(), alreadyTagged: z.boolean() });
export type TagImageOutput = z.infer<typeof TagImageOutput>;
