/** Step 1: build the container image with CodeBuild, or reuse the one ECR already holds for this source hash. */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { BuildImageInput, type BuildImageOutput } from '../contracts/build-image';
import { ErrorType } from '../contracts/errors';
import { codeBuildProjectName } from '../contracts/names';
import { quickActivities, longActivities, waitingActivities } from './activity-options';
import { createOptions, runJobStep } from './job-step';
import { parseStepInput } from './step-input';
import { trackStatus } from './step-status';

/** Builds (or finds) the image for the build context's source hash and returns its digest. */
export async function buildImage(rawInput: BuildImageInput): Promise<BuildImageOutput> {
  const input = parseStepInput(BuildImageInput, rawInput, 'buildImage input');
  const status = trackStatus('buildImage');
  const quick = quickActivities();
  const long = longActivities('1h');

  status.phase = 'hashing build context';
  const { sourceHash } = await longActivities('10m').hashBuildContext.executeWithOptions(
    { summary: `Hash the build context ${input.contextDir}` },
    [{ contextDir: input.contextDir }],
  );
  status.resources.sourceHash = sourceHash;

  const existing = await quick.findImageByTag.executeWithOptions(
    { summary: `Look for ${input.repository}:${sourceHash} in ECR` },
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
    { summary: `Upload the build context to s3://${input.bucket}` },
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
  // Up to the build's own timeout plus an hour.
  const wait = waitingActivities(input.codeBuild.timeoutMinutes * 60, 3600);
  const { created: build, final: result } = await runJobStep({
    status,
    creating: 'preparing build',
    create: () =>
      quick.startImageBuild.executeWithOptions(
        createOptions(`Start CodeBuild project ${projectName} for tag ${sourceHash}`),
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
      ),
    created: (started) => {
      status.resources.buildId = started.buildId;
      status.phase = 'building';
    },
    // One wait: the activity returns only once the build is over.
    wait: (_last: null, started) =>
      wait.waitForImageBuild.executeWithOptions({ summary: `Wait for build ${started.buildId}` }, [
        { buildId: started.buildId, pollIntervalSeconds: input.pollIntervalSeconds },
      ]),
    observe: (seen) => {
      status.lastObserved = { buildStatus: seen.status };
      return true;
    },
    position: () => null,
    // v7: the one wait returns only when the build is over, so it is always waiting to leave IN_PROGRESS: an
    // IN_PROGRESS event (CodeBuild's first) is nothing to describe.
    waitingOn: () => 'IN_PROGRESS',
    stop: async (started) => {
      if (!started) return null;
      const stop = await quick.stopImageBuild({ buildId: started.buildId });
      return stop.stopped ? `CodeBuild build ${started.buildId}` : null;
    },
  });
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
      `Build ${build.buildId} succeeded but ECR holds no ${input.repository}:${sourceHash}; does buildspec.yml ` +
        `push the IMAGE_TAG?`,
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
