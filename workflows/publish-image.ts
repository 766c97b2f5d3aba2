/** Step 2 ("ECR push"): let SageMaker pull, verify the digest, gate on scan findings, add the release tag. */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../contracts/errors';
import { PublishImageInput, type PublishImageOutput, Severity } from '../contracts/publish-image';
import { pollingActivities, quickActivities } from './activity-options';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

const SCAN_WAIT_SECONDS = 3600;

/** Publishes a built image and returns its URI by digest, which every later step uses. */
export async function publishImage(rawInput: PublishImageInput): Promise<PublishImageOutput> {
  const input = parseStepInput(PublishImageInput, rawInput, 'publishImage input');
  const status = trackStatus('publishImage');
  const quick = quickActivities();

  status.phase = 'setting repository policy';
  await quick.allowSageMakerPull.executeWithOptions(
    { summary: `Let sagemaker.amazonaws.com pull from ${input.repository}` },
    [{ repository: input.repository }],
  );
  status.phase = 'verifying digest';
  const verified = await quick.verifyImageDigest({ repository: input.repository, digest: input.digest });
  status.resources.imageUri = verified.imageUri;

  let findings: Record<string, number> = {};
  if (input.scan.enabled) {
    status.phase = 'waiting for image scan';
    const scan = await pollingActivities(
      input.pollIntervalSeconds,
      SCAN_WAIT_SECONDS,
    ).readScanFindings.executeWithOptions(
      { summary: `Read scan findings of ${input.repository}@${input.digest.slice(0, 19)}` },
      [{ repository: input.repository, digest: input.digest }],
    );
    findings = scan.counts;
    const order = Severity.options;
    const blocking = order.slice(0, order.indexOf(input.scan.failOnSeverity) + 1);
    const count = blocking.reduce((n, s) => n + (scan.counts[s] ?? 0), 0);
    if (count > 0) {
      const named = scan.top
        .filter((f: { name: string; severity: string }) => blocking.includes(f.severity as (typeof order)[number]))
        .slice(0, 10);
      throw ApplicationFailure.nonRetryable(
        `Image scan found ${count} finding(s) at or above ${input.scan.failOnSeverity}: ` +
          `${named.map((f: { name: string; severity: string }) => `${f.name} (${f.severity})`).join(', ')}`,
        ErrorType.ImageScanFailed,
        scan,
      );
    }
  }

  if (input.releaseTag) {
    status.phase = 'tagging release';
    await quick.tagImageRelease.executeWithOptions(
      {
        summary: `Tag ${input.repository}@${input.digest.slice(0, 19)} as ${input.releaseTag}`,
      },
      [{ repository: input.repository, digest: input.digest, tag: input.releaseTag }],
    );
  }
  status.phase = 'published';
  return { imageUri: verified.imageUri, digest: input.digest, releaseTag: input.releaseTag, findings };
}
