import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRepositoryPolicyCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  SetRepositoryPolicyCommand,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { createEcrActivities, sageMakerPullStatement } from '../../../activities/ecr';
import { accessDenied, awsError, expectFailure, invalid, testDeps, throttled } from './helpers';

const ecr = mockClient(ECRClient);
const acts = createEcrActivities(testDeps());
const URI = '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const MANIFEST = JSON.stringify({ schemaVersion: 2, config: { size: 100 }, layers: [{ size: 1000 }, { size: 24 }] });

beforeEach(() => {
  ecr.reset();
  ecr.on(DescribeRepositoriesCommand).resolves({
    repositories: [{ repositoryName: 'jax', repositoryUri: URI, imageScanningConfiguration: { scanOnPush: true } }],
  });
});

describe('findImageByTag', () => {
  it('returns the digest the tag points to', async () => {
    ecr
      .on(DescribeImagesCommand, { repositoryName: 'jax', imageIds: [{ imageTag: 'abc' }] })
      .resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    expect(await acts.findImageByTag({ repository: 'jax', tag: 'abc' })).toEqual({
      repositoryUri: URI,
      digest: DIGEST,
    });
  });

  it('returns nulls for a missing repository or tag', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException'));
    expect(await acts.findImageByTag({ repository: 'jax', tag: 'abc' })).toEqual({ repositoryUri: URI, digest: null });
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException'));
    expect(await acts.findImageByTag({ repository: 'jax', tag: 'abc' })).toEqual({ repositoryUri: null, digest: null });
  });

  it('retries throttling, not access denied', async () => {
    ecr.on(DescribeImagesCommand).rejects(throttled());
    await expectFailure(acts.findImageByTag({ repository: 'jax', tag: 'abc' }), 'AwsTransient', false);
    ecr.on(DescribeRepositoriesCommand).rejects(accessDenied());
    await expectFailure(acts.findImageByTag({ repository: 'jax', tag: 'abc' }), 'AccessDenied', true);
  });
});

describe('ensureEcrRepository', () => {
  it('creates a mutable repository with scan-on-push and tags', async () => {
    ecr.on(CreateRepositoryCommand).resolves({ repository: { repositoryUri: URI } });
    expect(await acts.ensureEcrRepository({ repository: 'jax', scanOnPush: true, tags: { team: 'lm' } })).toEqual({
      repositoryUri: URI,
      created: true,
    });
    expect(ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, {
      repositoryName: 'jax',
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      tags: [{ Key: 'team', Value: 'lm' }],
    });
  });

  it('adopts an existing repository and converges scan-on-push', async () => {
    ecr.on(CreateRepositoryCommand).rejects(awsError('RepositoryAlreadyExistsException'));
    expect(await acts.ensureEcrRepository({ repository: 'jax', scanOnPush: true, tags: {} })).toEqual({
      repositoryUri: URI,
      created: false,
    });
    expect(ecr).not.toHaveReceivedCommand(PutImageScanningConfigurationCommand);
    await acts.ensureEcrRepository({ repository: 'jax', scanOnPush: false, tags: {} });
    expect(ecr).toHaveReceivedCommandWith(PutImageScanningConfigurationCommand, {
      repositoryName: 'jax',
      imageScanningConfiguration: { scanOnPush: false },
    });
  });

  it('classifies failures', async () => {
    ecr.on(CreateRepositoryCommand).rejects(accessDenied());
    await expectFailure(
      acts.ensureEcrRepository({ repository: 'jax', scanOnPush: true, tags: {} }),
      'AccessDenied',
      true,
      /CreateRepository jax/,
    );
    ecr.on(CreateRepositoryCommand).rejects(awsError('InternalServerException', 500));
    await expectFailure(
      acts.ensureEcrRepository({ repository: 'jax', scanOnPush: true, tags: {} }),
      'AwsTransient',
      false,
    );
  });
});

describe('allowSageMakerPull', () => {
  const SAGEMAKER_PULL_STATEMENT = sageMakerPullStatement('123456789012');
  beforeEach(() => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          repositoryName: 'jax',
          registryId: '123456789012',
          repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax',
        },
      ],
    });
  });
  const policyOf = () =>
    JSON.parse(ecr.commandCalls(SetRepositoryPolicyCommand)[0]?.args[0].input.policyText as string) as {
      Statement: Record<string, unknown>[];
    };

  it('writes the statement when there is no policy', async () => {
    ecr.on(GetRepositoryPolicyCommand).rejects(awsError('RepositoryPolicyNotFoundException'));
    ecr.on(SetRepositoryPolicyCommand).resolves({});
    expect(await acts.allowSageMakerPull({ repository: 'jax' })).toEqual({ changed: true });
    expect(policyOf().Statement).toEqual([SAGEMAKER_PULL_STATEMENT]);
  });

  it('keeps other statements and replaces an outdated one of ours', async () => {
    const other = { Sid: 'CI', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::1:root' }, Action: 'ecr:*' };
    const outdated = {
      Sid: 'AllowSageMakerPull',
      Effect: 'Allow',
      Principal: { Service: 'sagemaker.amazonaws.com' },
      Action: 'ecr:BatchGetImage',
    };
    ecr
      .on(GetRepositoryPolicyCommand)
      .resolves({ policyText: JSON.stringify({ Version: '2012-10-17', Statement: [other, outdated] }) });
    ecr.on(SetRepositoryPolicyCommand).resolves({});
    expect(await acts.allowSageMakerPull({ repository: 'jax' })).toEqual({ changed: true });
    expect(policyOf().Statement).toEqual([other, SAGEMAKER_PULL_STATEMENT]);
  });

  it('limits the SageMaker pull to the repository account (aws:SourceAccount)', async () => {
    ecr.on(GetRepositoryPolicyCommand).rejects(awsError('RepositoryPolicyNotFoundException'));
    ecr.on(SetRepositoryPolicyCommand).resolves({});
    await acts.allowSageMakerPull({ repository: 'jax' });
    expect(policyOf().Statement[0]?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
  });

  it('replaces a statement of ours that lacks the aws:SourceAccount condition', async () => {
    const { Condition: _dropped, ...unconditioned } = SAGEMAKER_PULL_STATEMENT;
    ecr
      .on(GetRepositoryPolicyCommand)
      .resolves({ policyText: JSON.stringify({ Version: '2012-10-17', Statement: [unconditioned] }) });
    ecr.on(SetRepositoryPolicyCommand).resolves({});
    expect(await acts.allowSageMakerPull({ repository: 'jax' })).toEqual({ changed: true });
    expect(policyOf().Statement).toEqual([SAGEMAKER_PULL_STATEMENT]);
  });

  it('does nothing when the statement is already there', async () => {
    const present = { ...SAGEMAKER_PULL_STATEMENT, Action: [...SAGEMAKER_PULL_STATEMENT.Action].reverse() };
    ecr
      .on(GetRepositoryPolicyCommand)
      .resolves({ policyText: JSON.stringify({ Version: '2012-10-17', Statement: [present] }) });
    expect(await acts.allowSageMakerPull({ repository: 'jax' })).toEqual({ changed: false });
    expect(ecr).not.toHaveReceivedCommand(SetRepositoryPolicyCommand);
  });

  it('classifies failures', async () => {
    ecr.on(GetRepositoryPolicyCommand).rejects(awsError('RepositoryPolicyNotFoundException'));
    ecr.on(SetRepositoryPolicyCommand).rejects(awsError('InvalidParameterException'));
    await expectFailure(acts.allowSageMakerPull({ repository: 'jax' }), 'AwsValidation', true);
    ecr.on(GetRepositoryPolicyCommand).rejects(throttled());
    await expectFailure(acts.allowSageMakerPull({ repository: 'jax' }), 'AwsTransient', false);
  });
});

describe('verifyImageDigest', () => {
  it('returns the image URI by digest, its tags and size', async () => {
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        { imageId: { imageDigest: DIGEST, imageTag: 'src123' }, imageManifest: MANIFEST },
        { imageId: { imageDigest: DIGEST, imageTag: 'v1' }, imageManifest: MANIFEST },
      ],
      failures: [],
    });
    expect(await acts.verifyImageDigest({ repository: 'jax', digest: DIGEST })).toEqual({
      imageUri: `${URI}@${DIGEST}`,
      tags: ['src123', 'v1'],
      sizeBytes: 1124,
    });
    expect(ecr).toHaveReceivedCommandWith(BatchGetImageCommand, {
      repositoryName: 'jax',
      imageIds: [{ imageDigest: DIGEST }],
    });
  });

  it('fails non-retryably when the digest is not in the repository', async () => {
    ecr.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [
        {
          imageId: { imageDigest: DIGEST },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
      ],
    });
    await expectFailure(
      acts.verifyImageDigest({ repository: 'jax', digest: DIGEST }),
      'ImageDigestMismatch',
      true,
      /ImageNotFound/,
    );
  });

  it('retries throttling', async () => {
    ecr.on(BatchGetImageCommand).rejects(throttled());
    await expectFailure(acts.verifyImageDigest({ repository: 'jax', digest: DIGEST }), 'AwsTransient', false);
  });
});

describe('readScanFindings', () => {
  const input = { repository: 'jax', digest: DIGEST };

  it('fails retryably while the scan runs (retry-as-poll)', async () => {
    ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });
    await expectFailure(acts.readScanFindings(input), 'AwsTransient', false, /still running/);
  });

  it('starts a missing scan, then polls', async () => {
    ecr.on(DescribeImageScanFindingsCommand).rejects(awsError('ScanNotFoundException'));
    ecr.on(StartImageScanCommand).resolves({});
    await expectFailure(acts.readScanFindings(input), 'AwsTransient', false, /scan started/);
    expect(ecr).toHaveReceivedCommandWith(StartImageScanCommand, {
      repositoryName: 'jax',
      imageId: { imageDigest: DIGEST },
    });
  });

  it('reports unsupported images', async () => {
    ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'UNSUPPORTED_IMAGE' } });
    expect(await acts.readScanFindings(input)).toEqual({ status: 'UNSUPPORTED', counts: {}, top: [] });
    ecr.on(DescribeImageScanFindingsCommand).rejects(awsError('ScanNotFoundException'));
    ecr.on(StartImageScanCommand).rejects(awsError('UnsupportedImageTypeException'));
    expect((await acts.readScanFindings(input)).status).toBe('UNSUPPORTED');
  });

  it('counts findings by severity and lists the worst first', async () => {
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: {
        findingSeverityCounts: { HIGH: 1, LOW: 2, CRITICAL: 0 },
        findings: [
          { name: 'CVE-3', severity: 'LOW' },
          { name: 'CVE-1', severity: 'HIGH' },
          { name: 'CVE-2', severity: 'LOW' },
        ],
      },
    });
    expect(await acts.readScanFindings(input)).toEqual({
      status: 'COMPLETE',
      counts: { HIGH: 1, LOW: 2 },
      top: [
        { name: 'CVE-1', severity: 'HIGH' },
        { name: 'CVE-2', severity: 'LOW' },
        { name: 'CVE-3', severity: 'LOW' },
      ],
    });
  });

  it('fails non-retryably when the scan itself failed, or access is denied', async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves({ imageScanStatus: { status: 'FAILED', description: 'scanner crashed' } });
    await expectFailure(acts.readScanFindings(input), 'ImageScanFailed', true, /scanner crashed/);
    ecr.on(DescribeImageScanFindingsCommand).rejects(accessDenied());
    await expectFailure(acts.readScanFindings(input), 'AccessDenied', true);
  });
});

describe('tagImageRelease', () => {
  const input = { repository: 'jax', digest: DIGEST, tag: 'v1.0' };
  beforeEach(() => {
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageId: { imageDigest: DIGEST },
          imageManifest: MANIFEST,
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
      ],
    });
  });

  it('puts the exact manifest under the release tag', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException'));
    ecr.on(PutImageCommand).resolves({});
    expect(await acts.tagImageRelease(input)).toEqual({ tagged: true, alreadyTagged: false });
    expect(ecr).toHaveReceivedCommandWith(PutImageCommand, {
      repositoryName: 'jax',
      imageManifest: MANIFEST,
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      imageTag: 'v1.0',
      imageDigest: DIGEST,
    });
  });

  it('is a no-op when the tag is already on this digest (a retried attempt)', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    expect(await acts.tagImageRelease(input)).toEqual({ tagged: false, alreadyTagged: true });
    expect(ecr).not.toHaveReceivedCommand(PutImageCommand);
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException'));
    ecr.on(PutImageCommand).rejects(awsError('ImageAlreadyExistsException'));
    expect(await acts.tagImageRelease(input)).toEqual({ tagged: false, alreadyTagged: true });
  });

  it('refuses to move a release tag that names another image', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: OTHER }] });
    await expectFailure(acts.tagImageRelease(input), 'ResourceConflict', true, /v1.0 already points to sha256:b/);
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException'));
    ecr.on(PutImageCommand).rejects(awsError('ImageTagAlreadyExistsException'));
    await expectFailure(acts.tagImageRelease(input), 'ResourceConflict', true, /jax:v1.0/);
  });

  it('classifies failures', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException'));
    ecr.on(PutImageCommand).rejects(throttled());
    await expectFailure(acts.tagImageRelease(input), 'AwsTransient', false);
    ecr.on(PutImageCommand).rejects(invalid());
    await expectFailure(acts.tagImageRelease(input), 'AwsValidation', true);
  });
});
