/** Step 1: build the container image with CodeBuild, or reuse the one ECR already holds for this source hash. */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { BuildImageInput, type BuildImageOutput } from '../contracts/build-image';
import { ErrorType } from '../contracts/errors';
import { codeBuildProjectName } from '../contracts/names';
import { quickActivities, longActivities, waitingActivities } from './activity-options';
import { parseStepInput } from './step-input';
import { reportStopped, trackStatus } from './step-status';

/** Builds (or finds) the image for the build context's source hash and returns its digest. */
export async function buildImage(rawInput: BuildImageInput): Promise<BuildImageOutput> {
  const input = parseStepInput(BuildImageInput, rawInput, 'buildImage input');
  const status = trackStatus('buildImage');
  const quick = quickActivities();
  const long = longActivities('1h');

  status.phase = 'hashing build context';
  const { sourceHash } = await long.hashBuildContext.executeWithOptions(
    { startToCloseTimeout: '10m', summary: `Hash the build context ${input.contextDir}` },
    [{ contextDir: input.contextDir }],
  );
  status.resources.sourceHash = sourceHash;

  const existing = await quick.findImageByTag.executeWithOptions(
    { startToCloseTimeout: '2m', summary: `Look for ${input.repository}:${sourceHash} in ECR` },
    [{ repository: input.repository, tag: sourceHash }],
  );
  if (existing.digest && existing.repositoryUri) {
    status.phase = 'reused existing image';
    return {
      sourceHash,
      repositoryUri: existing.repositoryUri,
      imageTag: sourceHash,
      digest: existing.digest,
      skipped: true,
    };
  }

  status.phase = 'preparing build';
  const repo = await quick.ensureEcrRepository({
    repository: input.repository,
    scanOnPush: input.scanOnPush,
    tags: input.tags,
  });
  const zip = await long.uploadBuildContext.executeWithOptions(
    { startToCloseTimeout: '1h', heartbeatTimeout: '2m', summary: `Upload the build context to s3://${input.bucket}` },
    [
      {
        contextDir: input.contextDir,
        sourceHash,
        bucket: input.bucket,
        keyPrefix: `pipelines/${input.pipelineName}/build-contexts/`,
      },
    ],
  );
  const projectName = codeBuildProjectName(input.pipelineName);
  await quick.ensureCodeBuildProject({ projectName, ...input.codeBuild, tags: input.tags });
  const wait = waitingActivities(input.codeBuild.timeoutMinutes * 60);
  let build: { buildId: string } | undefined;
  let result;
  try {
    // A cancel while StartBuild is in flight waits for it to land, so the handler below stops a build that exists.
    build = await quick.startImageBuild.executeWithOptions(
      {
        startToCloseTimeout: '2m',
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary: `Start CodeBuild project ${projectName} for tag ${sourceHash}`,
      },
      [
        {
          projectName,
          sourceBucket: zip.bucket,
          sourceKey: zip.key,
          repositoryUri: repo.repositoryUri,
          imageTag: sourceHash,
          dockerfile: input.dockerfile,
          buildArgs: input.buildArgs,
          workflowId: workflowInfo().workflowId,
        },
      ],
    );
    status.resources.buildId = build.buildId;
    status.phase = 'building';
    result = await wait.waitForImageBuild.executeWithOptions(
      {
        startToCloseTimeout: `${input.codeBuild.timeoutMinutes * 60 + 3600}s`,
        summary: `Wait for build ${build.buildId}`,
      },
      [{ buildId: build.buildId, pollIntervalSeconds: input.pollIntervalSeconds }],
    );
  } catch (err) {
    const started = build;
    if (isCancellation(err) && started) {
      await CancellationScope.nonCancellable(async () => {
        const stop = await quick.stopImageBuild({ buildId: started.buildId });
        await reportStopped(status, stop.stopped ? `CodeBuild build ${started.buildId}` : null);
      });
    }
    throw err;
  }
  status.lastObserved = { buildStatus: result.status };
  if (result.status !== 'SUCCEEDED') {
    const phase = result.failedPhase ? ` in phase ${result.failedPhase}` : '';
    const tail = result.logTail.length ? `\nLast log lines:\n${result.logTail.join('\n')}` : '';
    throw ApplicationFailure.nonRetryable(
      `Image build ${build.buildId} ${result.status}${phase}: ${result.failureMessage ?? 'no message'}${tail}`,
      ErrorType.BuildFailed,
      result,
    );
  }

  const pushed = await quick.findImageByTag({ repository: input.repository, tag: sourceHash });
  if (!pushed.digest) {
    throw ApplicationFailure.nonRetryable(
      `Build ${build.buildId} succeeded but ECR holds no ${input.repository}:${sourceHash}; does buildspec.yml push the IMAGE_TAG?`,
      ErrorType.BuildFailed,
    );
  }
  status.phase = 'built';
  return {
    sourceHash,
    repositoryUri: repo.repositoryUri,
    imageTag: sourceHash,
    digest: pushed.digest,
    skipped: false,
    buildId: build.buildId,
  };
}
