/**
 * ECR: find the image a source hash names, ensure the repository, let SageMaker pull, verify a digest, read scan
 * findings, and add the release tag. Every call is idempotent: "already exists" answers are read as success.
 */
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetRepositoryPolicyCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  type Repository,
  SetRepositoryPolicyCommand,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import { ApplicationFailure } from '@temporalio/common';
import type {
  EnsureRepositoryInput,
  EnsureRepositoryOutput,
  FindImageInput,
  FindImageOutput,
} from '../contracts/build-image';
import { ErrorType } from '../contracts/errors';
import type {
  AllowSageMakerPullInput,
  AllowSageMakerPullOutput,
  ScanFindingsInput,
  ScanFindingsOutput,
  TagImageInput,
  TagImageOutput,
  VerifyImageInput,
  VerifyImageOutput,
} from '../contracts/publish-image';
import { aws, awsErrorName, failure, toFailure } from './aws-errors';
import type { ActivityDeps } from './deps';

/**
 * The statement `allowSageMakerPull` maintains in the repository policy: SageMaker may pull, but only on behalf of
 * the repository's own account (`aws:SourceAccount`), so no other account's jobs can use the service principal to
 * read our images (confused deputy: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
 */
export function sageMakerPullStatement(account: string) {
  return {
    Sid: 'AllowSageMakerPull',
    Effect: 'Allow',
    Principal: { Service: 'sagemaker.amazonaws.com' },
    Action: ['ecr:BatchGetImage', 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer'],
    Condition: { StringEquals: { 'aws:SourceAccount': account } },
  };
}

const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED', 'UNTRIAGED'];
const TOP_FINDINGS = 20;

interface PolicyDocument {
  Version?: string;
  Statement?: Record<string, unknown>[] | Record<string, unknown>;
}

/** Calls `call`, returning `fallback(err)` for the AWS error names listed, and a classified failure otherwise. */
async function awsOr<T>(
  action: string,
  call: () => Promise<T>,
  expected: Record<string, (err: unknown) => T | Promise<T>>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    // Look through a failure `aws()` already made to the SDK error it wraps.
    const name = err instanceof ApplicationFailure ? awsErrorName(err.cause) : awsErrorName(err);
    const handler = expected[name ?? ''];
    if (handler) return await handler(err);
    throw toFailure(err, action);
  }
}

/** A statement's actions as a sorted list (a single string is allowed by IAM). */
function actionsOf(statement: Record<string, unknown>): string[] {
  const a = statement.Action;
  return (Array.isArray(a) ? a.map(String) : typeof a === 'string' ? [a] : []).sort();
}

/** True when `statement` already grants exactly what `wanted` (sageMakerPullStatement) grants. */
function isCurrentPullStatement(
  statement: Record<string, unknown>,
  wanted: ReturnType<typeof sageMakerPullStatement>,
): boolean {
  const principal = statement.Principal as { Service?: unknown } | undefined;
  const services = Array.isArray(principal?.Service) ? principal.Service : [principal?.Service];
  return (
    statement.Effect === 'Allow' &&
    services.includes(wanted.Principal.Service) &&
    JSON.stringify(actionsOf(statement)) === JSON.stringify([...wanted.Action].sort()) &&
    JSON.stringify(statement.Condition) === JSON.stringify(wanted.Condition)
  );
}

/** Builds the ECR activities (steps 1 and 2). */
export function createEcrActivities(deps: ActivityDeps) {
  const ecr = deps.clients.ecr;

  const describeRepository = async (repository: string): Promise<Repository> => {
    const out = await aws(`DescribeRepositories ${repository}`, () =>
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] })),
    );
    const repo = out.repositories?.[0];
    if (!repo?.repositoryUri)
      throw failure(ErrorType.AwsValidation, `DescribeRepositories ${repository} returned no repository`);
    return repo;
  };

  /** The manifest stored under a digest; a missing one means the digest we were given is not what was pushed. */
  const getManifest = async (repository: string, digest: string) => {
    const out = await aws(`BatchGetImage ${repository}@${digest}`, () =>
      ecr.send(new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] })),
    );
    const image = out.images?.[0];
    if (!image?.imageManifest || (out.failures?.length ?? 0) > 0) {
      const reason =
        out.failures?.map((f) => `${f.failureCode ?? 'Failure'}: ${f.failureReason ?? ''}`).join('; ') ||
        'no image returned';
      throw failure(ErrorType.ImageDigestMismatch, `${repository}@${digest} is not in ECR (${reason})`);
    }
    return { images: out.images ?? [], manifest: image.imageManifest, mediaType: image.imageManifestMediaType };
  };

  return {
    /** The repository URI and the digest a tag points to; nulls when the repository or the tag does not exist. */
    async findImageByTag(input: FindImageInput): Promise<FindImageOutput> {
      const repo = await awsOr<Repository | null>(
        `DescribeRepositories ${input.repository}`,
        () => describeRepository(input.repository),
        {
          RepositoryNotFoundException: () => null,
        },
      );
      if (!repo?.repositoryUri) return { repositoryUri: null, digest: null };
      const digest = await awsOr(
        `DescribeImages ${input.repository}:${input.tag}`,
        async () => {
          const out = await ecr.send(
            new DescribeImagesCommand({ repositoryName: input.repository, imageIds: [{ imageTag: input.tag }] }),
          );
          return out.imageDetails?.[0]?.imageDigest ?? null;
        },
        { ImageNotFoundException: () => null, RepositoryNotFoundException: () => null },
      );
      return { repositoryUri: repo.repositoryUri, digest };
    },

    /**
     * Creates the repository, or adopts the existing one. Tags stay MUTABLE because the source-hash tag is
     * re-pushed idempotently by a retried build; the release tag is protected by `tagImageRelease` itself.
     */
    async ensureEcrRepository(input: EnsureRepositoryInput): Promise<EnsureRepositoryOutput> {
      const created = await awsOr<Repository | null>(
        `CreateRepository ${input.repository}`,
        async () => {
          const out = await ecr.send(
            new CreateRepositoryCommand({
              repositoryName: input.repository,
              imageTagMutability: 'MUTABLE',
              imageScanningConfiguration: { scanOnPush: input.scanOnPush },
              tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
            }),
          );
          return out.repository ?? null;
        },
        { RepositoryAlreadyExistsException: () => null },
      );
      if (created?.repositoryUri) return { repositoryUri: created.repositoryUri, created: true };
      const existing = await describeRepository(input.repository);
      // The spec may have switched scan-on-push since the repository was made; converge so the gate sees a scan.
      if ((existing.imageScanningConfiguration?.scanOnPush ?? false) !== input.scanOnPush) {
        await aws(`PutImageScanningConfiguration ${input.repository}`, () =>
          ecr.send(
            new PutImageScanningConfigurationCommand({
              repositoryName: input.repository,
              imageScanningConfiguration: { scanOnPush: input.scanOnPush },
            }),
          ),
        );
      }
      return { repositoryUri: existing.repositoryUri as string, created: false };
    },

    /** Adds (or repairs) the repository policy statement letting SageMaker pull; other statements are kept. */
    async allowSageMakerPull(input: AllowSageMakerPullInput): Promise<AllowSageMakerPullOutput> {
      const policyText = await awsOr<string | null>(
        `GetRepositoryPolicy ${input.repository}`,
        async () =>
          (await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: input.repository }))).policyText ?? null,
        { RepositoryPolicyNotFoundException: () => null },
      );
      let policy: PolicyDocument = {};
      if (policyText) {
        try {
          policy = JSON.parse(policyText) as PolicyDocument;
        } catch {
          throw failure(ErrorType.AwsValidation, `the repository policy of ${input.repository} is not valid JSON`);
        }
      }
      const statements =
        policy.Statement === undefined ? [] : Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
      const account = (await describeRepository(input.repository)).registryId;
      if (!account)
        throw failure(ErrorType.AwsValidation, `DescribeRepositories ${input.repository} returned no registryId`);
      const wanted = sageMakerPullStatement(account);
      const ours = statements.find((s) => s.Sid === wanted.Sid);
      if (ours && isCurrentPullStatement(ours, wanted)) return { changed: false };
      const next = {
        Version: policy.Version ?? '2012-10-17',
        Statement: [...statements.filter((s) => s.Sid !== wanted.Sid), wanted],
      };
      await aws(`SetRepositoryPolicy ${input.repository}`, () =>
        ecr.send(
          new SetRepositoryPolicyCommand({ repositoryName: input.repository, policyText: JSON.stringify(next) }),
        ),
      );
      return { changed: true };
    },

    /** Proves the digest names a manifest in the repository and returns the image URI by digest. */
    async verifyImageDigest(input: VerifyImageInput): Promise<VerifyImageOutput> {
      const { images, manifest } = await getManifest(input.repository, input.digest);
      const repo = await describeRepository(input.repository);
      const tags = [...new Set(images.map((i) => i.imageId?.imageTag).filter((t): t is string => Boolean(t)))].sort();
      return { imageUri: `${repo.repositoryUri as string}@${input.digest}`, tags, sizeBytes: manifestSize(manifest) };
    },

    /**
     * Scan findings of the image. While the scan runs this fails retryably (AwsTransient), because the workflow
     * polls it as retry-as-poll; a missing scan is started first. Unsupported images report UNSUPPORTED.
     */
    async readScanFindings(input: ScanFindingsInput): Promise<ScanFindingsOutput> {
      const where = `${input.repository}@${input.digest}`;
      const stillRunning = (why: string) =>
        failure(ErrorType.AwsTransient, `image scan of ${where} still running (${why}); polling again`);
      const unsupported: ScanFindingsOutput = { status: 'UNSUPPORTED', counts: {}, top: [] };
      const out = await awsOr(
        `DescribeImageScanFindings ${where}`,
        () =>
          ecr.send(
            new DescribeImageScanFindingsCommand({
              repositoryName: input.repository,
              imageId: { imageDigest: input.digest },
              maxResults: 1000,
            }),
          ),
        {
          ScanNotFoundException: async () => {
            // No scan yet (scan-on-push off, or the push raced the scan): start one, then poll.
            const started = await awsOr<boolean>(
              `StartImageScan ${where}`,
              async () => (
                await ecr.send(
                  new StartImageScanCommand({
                    repositoryName: input.repository,
                    imageId: { imageDigest: input.digest },
                  }),
                ),
                true
              ),
              { UnsupportedImageTypeException: () => false, LimitExceededException: () => true },
            );
            if (!started) return null;
            throw stillRunning('scan started');
          },
        },
      );
      if (out === null) return unsupported;
      const status = out.imageScanStatus?.status ?? 'PENDING';
      switch (status) {
        case 'IN_PROGRESS':
        case 'PENDING':
          throw stillRunning(status);
        case 'FAILED':
          throw failure(
            ErrorType.ImageScanFailed,
            `image scan of ${where} failed: ${out.imageScanStatus?.description ?? 'no description'}`,
          );
        case 'COMPLETE':
        case 'ACTIVE': {
          const scan = out.imageScanFindings;
          const counts: Record<string, number> = {};
          for (const [severity, n] of Object.entries(scan?.findingSeverityCounts ?? {})) if (n) counts[severity] = n;
          const findings = [
            ...(scan?.findings ?? []).map((f) => ({
              name: f.name ?? 'unnamed finding',
              severity: f.severity ?? 'UNDEFINED',
            })),
            ...(scan?.enhancedFindings ?? []).map((f) => ({
              name: f.packageVulnerabilityDetails?.vulnerabilityId ?? f.title ?? 'unnamed finding',
              severity: f.severity ?? 'UNDEFINED',
            })),
          ];
          const rank = (s: string) =>
            (SEVERITY_ORDER.indexOf(s) + SEVERITY_ORDER.length + 1) % (SEVERITY_ORDER.length + 1);
          const top = findings
            .sort((a, b) => rank(a.severity) - rank(b.severity) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
            .slice(0, TOP_FINDINGS);
          return { status: 'COMPLETE', counts, top };
        }
        default:
          // UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, SCAN_ELIGIBILITY_EXPIRED, ...: no verdict will come.
          return unsupported;
      }
    },

    /**
     * Adds the release tag to exactly this manifest. The repository is MUTABLE, so a tag already on another
     * digest is refused here (ResourceConflict) instead of being silently moved by PutImage.
     */
    async tagImageRelease(input: TagImageInput): Promise<TagImageOutput> {
      const target = `${input.repository}:${input.tag}`;
      const current = await awsOr<string | null>(
        `DescribeImages ${target}`,
        async () =>
          (
            await ecr.send(
              new DescribeImagesCommand({ repositoryName: input.repository, imageIds: [{ imageTag: input.tag }] }),
            )
          ).imageDetails?.[0]?.imageDigest ?? null,
        { ImageNotFoundException: () => null },
      );
      const conflict = (digest: string) =>
        failure(
          ErrorType.ResourceConflict,
          `release tag ${target} already points to ${digest}, not ${input.digest}; choose another release tag`,
        );
      if (current === input.digest) return { tagged: false, alreadyTagged: true };
      if (current !== null) throw conflict(current);
      const { manifest, mediaType } = await getManifest(input.repository, input.digest);
      return awsOr<TagImageOutput>(
        `PutImage ${target}`,
        async () => {
          await ecr.send(
            new PutImageCommand({
              repositoryName: input.repository,
              imageManifest: manifest,
              imageManifestMediaType: mediaType,
              imageTag: input.tag,
              imageDigest: input.digest,
            }),
          );
          return { tagged: true, alreadyTagged: false };
        },
        {
          ImageAlreadyExistsException: () => ({ tagged: false, alreadyTagged: true }),
          ImageTagAlreadyExistsException: () => {
            throw conflict('another image');
          },
        },
      );
    },
  };
}

/** Image size from its manifest (config + layers), when the manifest lists them (not for an index). */
function manifestSize(manifest: string): number | undefined {
  try {
    const m = JSON.parse(manifest) as { config?: { size?: number }; layers?: { size?: number }[] };
    if (!Array.isArray(m.layers)) return undefined;
    return (m.config?.size ?? 0) + m.layers.reduce((n, l) => n + (l.size ?? 0), 0);
  } catch {
    return undefined;
  }
}
