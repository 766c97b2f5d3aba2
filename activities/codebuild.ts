/**
 * CodeBuild: one project per pipeline builds the image from the zipped context in S3. A retried start finds the
 * build it already started (by the workflow ID and tag in the build's environment) instead of starting another.
 */
import { createHash } from 'node:crypto';
import {
  BatchGetBuildsCommand,
  type Build,
  CreateProjectCommand,
  type CreateProjectInput,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  StopBuildCommand,
  UpdateProjectCommand,
} from '@aws-sdk/client-codebuild';
import {
  type BuildResult,
  BuildStatus,
  type EnsureProjectInput,
  type EnsureProjectOutput,
  type StartBuildInput,
  type StartBuildOutput,
  type StopBuildInput,
  type StopBuildOutput,
  type WaitBuildInput,
} from '../contracts/build-image';
import { ErrorType } from '../contracts/errors';
import { aws, awsErrorName, classifyAwsError, failure, toFailure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { readStreamTail } from './logs';
import { pollUntil } from './polling';

/** Environment variables that identify who started a build; `startImageBuild` re-attaches by them. */
export const BUILD_ENV = { workflowId: 'PIPELINE_WORKFLOW_ID', imageTag: 'IMAGE_TAG' } as const;
const LOG_TAIL_LINES = 20;
const FAILED_PHASE_STATUSES = new Set(['FAILED', 'FAULT', 'TIMED_OUT']);
/**
 * The project has no source of its own: every build brings its zip through `sourceTypeOverride: S3` (CodeBuild
 * refuses an S3 project without a location, and the bucket is per run). A build started without the override
 * fails at once with this message instead of building something else.
 */
const NO_OVERRIDE_BUILDSPEC = [
  'version: 0.2',
  'phases:',
  '  build:',
  '    commands:',
  '      - echo "this project only builds with a per-build S3 source override (started by the pipeline)" && exit 1',
].join('\n');

/** `--build-arg K=V` pairs in key order; the buildspec expands them unquoted, so values may not hold spaces. */
export function buildArgsString(buildArgs: Record<string, string>): string {
  const keys = Object.keys(buildArgs).sort();
  const bad = keys.filter((k) => /\s/.test(k) || /\s/.test(buildArgs[k] as string));
  if (bad.length > 0)
    throw failure(
      ErrorType.SpecInvalid,
      `build args may not contain whitespace (the buildspec word-splits them): ${bad.join(', ')}`,
    );
  return keys.map((k) => `--build-arg ${k}=${buildArgs[k] as string}`).join(' ');
}

/** StartBuild's idempotency token: the same (workflow, tag) is the same logical start. */
export function buildIdempotencyToken(workflowId: string, imageTag: string): string {
  return createHash('sha256').update(`${workflowId}\0${imageTag}`).digest('hex').slice(0, 48);
}

/** Names the buildspec may read for the same values (container/buildspec.yml uses these). */
const ALIASES = { repositoryUri: 'ECR_REPOSITORY_URI', imageTag: 'SOURCE_HASH' } as const;

/**
 * The build's environment: the image coordinates under both the documented names and the buildspec's aliases,
 * and each build arg also as its own variable (a buildspec may assemble `--build-arg`s from the environment);
 * a build arg never shadows one of ours or CodeBuild's own variables.
 */
export function buildEnvironment(input: StartBuildInput): [string, string][] {
  const ours: [string, string][] = [
    ['REPOSITORY_URI', input.repositoryUri],
    [ALIASES.repositoryUri, input.repositoryUri],
    [BUILD_ENV.imageTag, input.imageTag],
    [ALIASES.imageTag, input.imageTag],
    ['DOCKERFILE', input.dockerfile],
    ['BUILD_ARGS', buildArgsString(input.buildArgs)],
    [BUILD_ENV.workflowId, input.workflowId],
  ];
  const taken = new Set(ours.map(([name]) => name));
  const args = Object.keys(input.buildArgs)
    .sort()
    .filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !taken.has(k) && !k.startsWith('CODEBUILD_'))
    .map((k): [string, string] => [k, input.buildArgs[k] as string]);
  return [...ours, ...args];
}

function envValue(build: Build, name: string): string | undefined {
  return build.environment?.environmentVariables?.find((v) => v.name === name)?.value;
}

/** The first phase that failed and what CodeBuild said about it. */
function failedPhase(build: Build): { failedPhase?: string; failureMessage?: string } {
  const phase = build.phases?.find((p) => FAILED_PHASE_STATUSES.has(p.phaseStatus ?? ''));
  if (!phase) return {};
  const message = (phase.contexts ?? [])
    .map((c) => [c.statusCode, c.message].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
  return { failedPhase: phase.phaseType, failureMessage: message || undefined };
}

/** Builds the CodeBuild activities. */
export function createCodeBuildActivities(deps: ActivityDeps) {
  const cb = deps.clients.codebuild;

  const getBuild = async (buildId: string): Promise<Build> => {
    const out = await aws(`BatchGetBuilds ${buildId}`, () => cb.send(new BatchGetBuildsCommand({ ids: [buildId] })));
    const build = out.builds?.[0];
    if (!build) throw failure(ErrorType.AwsValidation, `CodeBuild build ${buildId} does not exist`);
    return build;
  };

  /** Reads the tail of a failed build's log; diagnostics must never hide the build's own verdict. */
  const buildLogTail = async (build: Build): Promise<string[]> => {
    const group = build.logs?.groupName;
    const stream = build.logs?.streamName;
    if (!group || !stream) return [];
    try {
      return await readStreamTail(deps, group, stream, LOG_TAIL_LINES);
    } catch (err) {
      // Throttling is worth a retry of the whole (idempotent) wait; a missing permission is not worth failing for.
      if (classifyAwsError((err as { cause?: unknown }).cause ?? err) === ErrorType.AwsTransient) throw err;
      return [`(build log ${group}/${stream} unreadable: ${(err as Error).message})`];
    }
  };

  return {
    /**
     * Creates the pipeline's build project (privileged, for docker builds; no artifacts: the build pushes to
     * ECR), or brings an existing one up to date with the spec.
     */
    async ensureCodeBuildProject(input: EnsureProjectInput): Promise<EnsureProjectOutput> {
      // Only runs started before the spec required it can get here without one; CodeBuild would refuse it.
      if (!input.serviceRoleArn)
        throw failure(
          ErrorType.SpecInvalid,
          `image.codeBuild.serviceRoleArn is required: CodeBuild's CreateProject needs the service role it builds ` +
            `${input.projectName} with (see iam/codebuild-role-policy.json). Set it in the spec and start a new run.`,
        );
      const project: CreateProjectInput = {
        name: input.projectName,
        source: { type: 'NO_SOURCE', buildspec: NO_OVERRIDE_BUILDSPEC },
        artifacts: { type: 'NO_ARTIFACTS' },
        environment: {
          type: 'LINUX_CONTAINER',
          computeType: input.computeType as never,
          image: input.image,
          privilegedMode: true,
          imagePullCredentialsType: 'CODEBUILD',
        },
        serviceRole: input.serviceRoleArn,
        timeoutInMinutes: input.timeoutMinutes,
        logsConfig: { cloudWatchLogs: { status: 'ENABLED' } },
        tags: Object.entries(input.tags).map(([key, value]) => ({ key, value })),
      };
      try {
        await cb.send(new CreateProjectCommand(project));
        return { projectName: input.projectName, created: true };
      } catch (err) {
        if (awsErrorName(err) !== 'ResourceAlreadyExistsException')
          throw toFailure(err, `CreateProject ${input.projectName}`);
      }
      // The project is per pipeline and outlives runs: converge it, so a changed image or compute type applies.
      await aws(`UpdateProject ${input.projectName}`, () => cb.send(new UpdateProjectCommand(project)));
      return { projectName: input.projectName, created: false };
    },

    /** Starts the image build, or re-attaches to the build this workflow already started for this tag. */
    async startImageBuild(input: StartBuildInput): Promise<StartBuildOutput> {
      // No sortOrder: builds come newest first without one, and CodeBuild refuses one once the project (which
      // outlives runs) has more than 100 builds (API_ListBuildsForProject).
      const listed = await aws(`ListBuildsForProject ${input.projectName}`, () =>
        cb.send(new ListBuildsForProjectCommand({ projectName: input.projectName })),
      );
      // The first page holds the 100 newest builds; a build this attempt's predecessor started is among them.
      const ids = (listed.ids ?? []).slice(0, 100);
      if (ids.length > 0) {
        const { builds = [] } = await aws(`BatchGetBuilds ${input.projectName}`, () =>
          cb.send(new BatchGetBuildsCommand({ ids })),
        );
        // A failed or stopped earlier build is not re-attached: a fresh build is what a retry of the step wants.
        const ours = builds.find(
          (b) =>
            envValue(b, BUILD_ENV.workflowId) === input.workflowId &&
            envValue(b, BUILD_ENV.imageTag) === input.imageTag &&
            (b.buildStatus === 'IN_PROGRESS' || b.buildStatus === 'SUCCEEDED'),
        );
        if (ours?.id) return { buildId: ours.id, reattached: true };
      }
      const env = buildEnvironment(input).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' as const }));
      const out = await aws(`StartBuild ${input.projectName}`, () =>
        cb.send(
          new StartBuildCommand({
            projectName: input.projectName,
            sourceTypeOverride: 'S3',
            sourceLocationOverride: `${input.sourceBucket}/${input.sourceKey}`,
            buildspecOverride: 'buildspec.yml',
            environmentVariablesOverride: env,
            // Covers the few minutes in which ListBuildsForProject may not yet show a just-started build.
            idempotencyToken: buildIdempotencyToken(input.workflowId, input.imageTag),
          }),
        ),
      );
      if (!out.build?.id) throw failure(ErrorType.AwsValidation, `StartBuild ${input.projectName} returned no build`);
      return { buildId: out.build.id, reattached: false };
    },

    /**
     * Polls the build until it ends, heartbeating `{status, currentPhase}`; returns the verdict with the failing
     * phase, its message and the log tail. A retried attempt simply polls again.
     */
    async waitForImageBuild(input: WaitBuildInput): Promise<BuildResult> {
      return pollUntil<BuildResult>(deps, input.pollIntervalSeconds, async () => {
        const build = await getBuild(input.buildId);
        const status = BuildStatus.safeParse(build.buildStatus);
        if (!status.success || status.data === 'IN_PROGRESS') {
          return {
            done: false,
            details: { status: build.buildStatus ?? 'UNKNOWN', currentPhase: build.currentPhase ?? null },
          };
        }
        if (status.data === 'SUCCEEDED')
          return { done: true, value: { buildId: input.buildId, status: status.data, logTail: [] } };
        return {
          done: true,
          value: {
            buildId: input.buildId,
            status: status.data,
            ...failedPhase(build),
            logTail: await buildLogTail(build),
          },
        };
      });
    },

    /** Stops the build; a build that already ended is reported as not stopped, with its final status. */
    async stopImageBuild(input: StopBuildInput): Promise<StopBuildOutput> {
      const before = await getBuild(input.buildId);
      if (before.buildStatus !== 'IN_PROGRESS') return { stopped: false, status: before.buildStatus ?? 'UNKNOWN' };
      try {
        const out = await cb.send(new StopBuildCommand({ id: input.buildId }));
        return { stopped: true, status: out.build?.buildStatus ?? 'STOPPED' };
      } catch (err) {
        // It finished between the two calls: CodeBuild refuses to stop it, which is the outcome we wanted.
        if (awsErrorName(err) !== 'InvalidInputException') throw toFailure(err, `StopBuild ${input.buildId}`);
        const after = await getBuild(input.buildId);
        if (after.buildStatus === 'IN_PROGRESS') throw toFailure(err, `StopBuild ${input.buildId}`);
        return { stopped: false, status: after.buildStatus ?? 'UNKNOWN' };
      }
    },
  };
}
