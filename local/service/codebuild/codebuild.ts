/**
 * The local CodeBuild (AWS JSON 1.1, `CodeBuild_20161006.*`): CreateProject, UpdateProject, BatchGetProjects,
 * DeleteProject, StartBuild (idempotencyToken honoured for 5 minutes), BatchGetBuilds, ListBuildsForProject,
 * StopBuild. Builds run with BuildRun; their records are persisted, and a build cut off by a restart is FAULT.
 * A running buildspec's `docker push` calls back here (`POST /_local/codebuild/agent/<build id>/push`, `agent`).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { ACCOUNT_ID, REGION } from '../../shared/account';
import type { Ctx } from '../core/context';
import { AwsError, now, paginate, readBody, sendJson } from '../core/protocol';
import { type Body } from '../core/request-fields';
import { BuildFailure, type BuildPhase, BuildRun, type PhaseType } from './build-run';
import type { ProjectArtifacts } from './artifacts';
import { containerLine } from './buildspec-run';
import { PushRefused } from './ecr-push';
import { assertAssumable } from '../iam/on-behalf';
import { CODEBUILD_SERVICE } from '../iam/policies';

interface Project {
  name: string;
  arn: string;
  source: Record<string, unknown>;
  artifacts: Record<string, unknown>;
  environment: {
    type: string;
    image: string;
    computeType: string;
    environmentVariables?: { name: string; value: string; type?: string }[];
    privilegedMode?: boolean;
  };
  serviceRole?: string;
  timeoutInMinutes: number;
  logsConfig?: unknown;
  tags?: { key: string; value: string }[];
  created: number;
  lastModified: number;
  description?: string;
}

interface Build {
  id: string;
  arn: string;
  buildNumber: number;
  startTime: number;
  endTime?: number;
  currentPhase: string;
  buildStatus: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';
  projectName: string;
  phases: BuildPhase[];
  source: Record<string, unknown>;
  environment: Project['environment'];
  logs: { groupName: string; streamName: string; deepLink: string };
  timeoutInMinutes: number;
  buildComplete: boolean;
  initiator: string;
  exportedEnvironmentVariables?: { name: string; value: string }[];
  artifacts?: { location: string };
  _idempotencyToken?: string;
  /** StartBuild's artifactsOverride (the project's artifacts otherwise). */
  _artifacts?: ProjectArtifacts;
}

const err = {
  invalid: (m: string) => new AwsError('InvalidInputException', m),
  notFound: (m: string) => new AwsError('ResourceNotFoundException', m),
  exists: (m: string) => new AwsError('ResourceAlreadyExistsException', m),
};

const projectArn = (n: string): string => `arn:aws:codebuild:${REGION}:${ACCOUNT_ID}:project/${n}`;
/** A project's serviceRole (CodeBuild accepts a role name or its ARN) as an ARN. */
const serviceRoleArn = (role: string | undefined): string | undefined =>
  role === undefined ? undefined : role.startsWith('arn:') ? role : `arn:aws:iam::${ACCOUNT_ID}:role/${role}`;

export class CodeBuild {
  private readonly runs = new Map<string, BuildRun>();

  constructor(private readonly ctx: Ctx) {}

  /** A project's tags by ARN (for aws:ResourceTag/* in IAM conditions); undefined for other ARNs. */
  tagsOf(arn: string): Record<string, string> | undefined {
    const name = /^arn:aws:codebuild:[^:]*:\d{12}:project\/(.+)$/.exec(arn)?.[1];
    const tags = name ? this.projects.get(name)?.tags : undefined;
    return tags ? Object.fromEntries(tags.map((t) => [t.key, t.value])) : undefined;
  }

  private get projects() {
    return this.ctx.store.kind<Project>('codebuild-projects');
  }

  private get builds() {
    return this.ctx.store.kind<Build>('codebuild-builds');
  }

  /** How many builds a project has had (the documented rules read it), undefined when there is no such project. */
  buildCount(projectName: string): number | undefined {
    if (!this.projects.has(projectName)) return undefined;
    return this.builds.values().filter((b) => b.projectName === projectName).length;
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      CreateProject: (b) => {
        const p = this.parseProject(b);
        if (this.projects.has(p.name)) throw err.exists(`Project already exists: ${p.arn}`);
        this.projects.put(p.name, p);
        return { project: p };
      },
      UpdateProject: (b) => {
        const n = b.name as string;
        const old = this.projects.get(n);
        if (!old) throw err.notFound(`Project cannot be found: ${projectArn(n)}`);
        const p = { ...old, ...this.parseProject({ ...old, ...b }), created: old.created, lastModified: now() };
        this.projects.put(n, p);
        return { project: p };
      },
      BatchGetProjects: (b) => {
        const names = b.names as string[];
        return {
          projects: names.map((n) => this.projects.get(n.split('/').pop() as string)).filter(Boolean),
          projectsNotFound: names.filter((n) => !this.projects.has(n.split('/').pop() as string)),
        };
      },
      DeleteProject: (b) => {
        this.projects.delete(b.name as string);
        return {};
      },
      StartBuild: (b) => ({ build: this.start(b) }),
      BatchGetBuilds: (b) => {
        const ids = b.ids as string[];
        return {
          builds: ids
            .map((i) => this.builds.get(i))
            .filter((build): build is Build => build !== undefined)
            .map(view),
          buildsNotFound: ids.filter((i) => !this.builds.has(i)),
        };
      },
      ListBuildsForProject: (b) => {
        const n = b.projectName as string;
        if (!this.projects.has(n)) throw err.notFound(`Project cannot be found: ${projectArn(n)}`);
        const order = (b.sortOrder as 'ASCENDING' | 'DESCENDING' | undefined) ?? 'DESCENDING';
        const list = this.builds
          .values()
          .filter((build) => build.projectName === n)
          .sort((x, y) => (order === 'ASCENDING' ? x.buildNumber - y.buildNumber : y.buildNumber - x.buildNumber));
        const { page, NextToken } = paginate(list, { MaxResults: 100, NextToken: b.nextToken }, 100, 100);
        return { ids: page.map((build) => build.id), nextToken: NextToken };
      },
      ListProjects: () => ({ projects: this.projects.values().map((project) => project.name) }),
      StopBuild: (b) => {
        const id = b.id as string;
        const build = this.builds.get(id);
        if (!build) throw err.notFound(`Build cannot be found: ${id}`);
        if (build.buildStatus !== 'IN_PROGRESS')
          throw err.invalid(`Build ${id} is not in progress: its status is ${build.buildStatus}`);
        this.runs.get(id)?.stop();
        this.finish(id, 'STOPPED', 'STOPPED', 'Build was stopped');
        return { build: view(this.builds.get(id) as Build) };
      },
    };
  }

  /**
   * A project record from a request checked against the model (a CreateProject, or a project merged with an update).
   */
  private parseProject(b: Body): Project {
    const name = b.name as string;
    const env = b.environment as Body;
    const t = now();
    return {
      name,
      arn: projectArn(name),
      source: b.source as Body,
      artifacts: b.artifacts as Body,
      environment: env as unknown as Project['environment'],
      serviceRole: this.assumable(b.serviceRole as string),
      timeoutInMinutes: (b.timeoutInMinutes as number | undefined) ?? 60,
      logsConfig: b.logsConfig,
      tags: b.tags as Project['tags'],
      description: b.description as string | undefined,
      created: t,
      lastModified: t,
    };
  }

  /** CodeBuild must be able to assume the service role (a name or an ARN): refused like CodeBuild refuses it. */
  private assumable(serviceRole: string | undefined): string | undefined {
    assertAssumable(this.ctx.iam, serviceRoleArn(serviceRole), CODEBUILD_SERVICE);
    return serviceRole;
  }

  private start(b: Body): Record<string, unknown> {
    const projectName = b.projectName as string;
    const project = this.projects.get(projectName);
    if (!project) throw err.notFound(`Project cannot be found: ${projectArn(projectName)}`);
    const token = b.idempotencyToken as string | undefined;
    if (token) {
      const earlier = this.builds
        .values()
        .find(
          (build) =>
            build.projectName === projectName && build._idempotencyToken === token && now() - build.startTime < 300,
        );
      if (earlier) return view(earlier);
    }
    const sourceType = (b.sourceTypeOverride as string | undefined) ?? (project.source.type as string);
    const location =
      (b.sourceLocationOverride as string | undefined) ?? (project.source.location as string | undefined);
    if (sourceType !== 'S3' || !location)
      throw err.invalid(
        'The local CodeBuild builds from S3 sources only: set sourceTypeOverride S3 and sourceLocationOverride ' +
          'bucket/key',
      );
    const overrides =
      (b.environmentVariablesOverride as {
        name: string;
        value: string;
        type?: string;
      }[]) ?? [];
    const vars = new Map<string, { name: string; value: string; type?: string }>();
    for (const v of [...(project.environment.environmentVariables ?? []), ...overrides])
      vars.set(v.name, { name: v.name, value: v.value, type: v.type ?? 'PLAINTEXT' });
    const uuid = randomUUID();
    const id = `${projectName}:${uuid}`;
    const t = now();
    const buildNumber = this.builds.values().filter((build) => build.projectName === projectName).length + 1;
    const timeoutInMinutes = (b.timeoutInMinutesOverride as number | undefined) ?? project.timeoutInMinutes;
    const build: Build = {
      id,
      arn: `arn:aws:codebuild:${REGION}:${ACCOUNT_ID}:build/${id}`,
      buildNumber,
      startTime: t,
      currentPhase: 'SUBMITTED',
      buildStatus: 'IN_PROGRESS',
      projectName,
      phases: [{ phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED', startTime: t, endTime: t, durationInSeconds: 0 }],
      source: {
        type: 'S3',
        location,
        buildspec: (b.buildspecOverride as string | undefined) ?? (project.source.buildspec as string | undefined),
      },
      environment: { ...project.environment, environmentVariables: [...vars.values()] },
      logs: {
        groupName: `/aws/codebuild/${projectName}`,
        streamName: uuid,
        deepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${REGION}#logEvent:group=/aws/codebuild/${projectName};stream=${uuid}`,
      },
      timeoutInMinutes,
      buildComplete: false,
      initiator: 'local',
      _idempotencyToken: token,
      _artifacts: b.artifactsOverride as ProjectArtifacts | undefined,
    };
    this.builds.put(id, build);
    this.launch(build, Object.fromEntries([...vars.values()].map((v) => [v.name, v.value])));
    return view(build);
  }

  private launch(build: Build, env: Record<string, string>): void {
    const id = build.id;
    const project = this.projects.get(build.projectName);
    // The build acts as the project's service role: source download, image push, build logs.
    const roleArn = serviceRoleArn(project?.serviceRole);
    const line = (text: string): void => this.ctx.logs.add(build.logs.groupName, build.logs.streamName, text, roleArn);
    const run = new BuildRun(
      this.ctx,
      {
        id,
        arn: build.arn,
        buildNumber: build.buildNumber,
        projectName: build.projectName,
        image: build.environment.image,
        startTime: build.startTime,
        logStream: build.logs.streamName,
        sourceLocation: build.source.location as string,
        buildspec: build.source.buildspec as string | undefined,
        artifacts: build._artifacts ?? (project?.artifacts as ProjectArtifacts | undefined),
        env,
        roleArn,
      },
      {
        phase: (p: PhaseType) =>
          this.builds.update(id, (build) => {
            if (build.buildStatus !== 'IN_PROGRESS') return;
            build.currentPhase = p;
            build.phases.push({ phaseType: p, startTime: now() });
            line(containerLine(`Entering phase ${p}`));
          }),
        endPhase: (status, message, code) =>
          this.builds.update(id, (build) => {
            const p = build.phases[build.phases.length - 1];
            if (!p || p.endTime !== undefined) return;
            p.phaseStatus = status;
            p.endTime = now();
            p.durationInSeconds = Math.round(p.endTime - p.startTime);
            const statusCode = code ?? (status === 'STOPPED' ? 'STOPPED' : 'COMMAND_EXECUTION_ERROR');
            if (message) p.contexts = [{ statusCode, message }];
            line(containerLine(`Phase complete: ${p.phaseType} State: ${status}`));
            line(containerLine(`Phase context status code: ${message ? statusCode : ''} Message: ${message ?? ''}`));
          }),
        line,
      },
    );
    this.runs.set(id, run);
    const timer = setTimeout(() => {
      run.stop();
      this.finish(id, 'TIMED_OUT', 'TIMED_OUT', `Build timed out after ${build.timeoutInMinutes} minutes`);
    }, build.timeoutInMinutes * 60_000);
    timer.unref();
    const record = (r: { exported: { name: string; value: string }[]; artifactsLocation?: string }): void => {
      this.builds.update(id, (build) => {
        if (r.exported.length) build.exportedEnvironmentVariables = r.exported;
        if (r.artifactsLocation) build.artifacts = { location: r.artifactsLocation };
      });
    };
    run
      .run()
      .then((r) => {
        record(r);
        this.finish(id, 'SUCCEEDED');
      })
      .catch((e: Error) => {
        if (e instanceof BuildFailure && e.code === 'STOPPED') return;
        if (e instanceof BuildFailure && e.result) record(e.result);
        if (!(e instanceof BuildFailure && e.phaseClosed)) line(containerLine(e.message));
        this.finish(
          id,
          e instanceof BuildFailure ? 'FAILED' : 'FAULT',
          e instanceof BuildFailure ? 'FAILED' : 'FAULT',
          e.message,
          e instanceof BuildFailure ? e.code : undefined,
        );
      })
      .finally(() => {
        clearTimeout(timer);
        this.runs.delete(id);
        void this.ctx.logs.flush();
      });
  }

  /**
   * A running build's shims calling back (shims/docker.py's `docker push`): answered with JSON, refusals as
   * `{message}` in docker's words. The caller proves it is the build by the token only its shell was given.
   */
  async agent(req: http.IncomingMessage, res: http.ServerResponse, buildId: string, operation: string): Promise<void> {
    const body = await readBody(req);
    const run = this.runs.get(buildId);
    const agent = run?.agent;
    const given = Buffer.from(String(req.headers['x-local-codebuild-token'] ?? ''));
    const expected = Buffer.from(agent?.token ?? '');
    if (!agent || given.length !== expected.length || !timingSafeEqual(given, expected))
      return sendJson(res, 403, { message: `no running build ${buildId} with this token` }, 'application/json');
    if (req.method !== 'POST' || operation !== 'push')
      return sendJson(res, 404, { message: `unknown agent call ${req.method} ${operation}` }, 'application/json');
    let image = '';
    let auth = '';
    try {
      ({ image, auth } = JSON.parse(body.toString('utf8')) as { image: string; auth: string });
    } catch {
      return sendJson(res, 400, { message: 'the push request is not JSON {image, auth}' }, 'application/json');
    }
    try {
      const pushed = await agent.agentPush(String(image), String(auth));
      sendJson(res, 200, pushed, 'application/json');
    } catch (err) {
      const e = err as Error;
      sendJson(
        res,
        400,
        { message: e instanceof PushRefused ? e.message : `${e.name}: ${e.message}` },
        'application/json',
      );
    }
  }

  private finish(
    id: string,
    status: Build['buildStatus'],
    phaseStatus: NonNullable<BuildPhase['phaseStatus']> = 'SUCCEEDED',
    message?: string,
    code?: string,
  ): void {
    this.builds.update(id, (build) => {
      if (build.buildStatus !== 'IN_PROGRESS') return;
      const t = now();
      const open = build.phases[build.phases.length - 1];
      if (open && open.endTime === undefined) {
        open.phaseStatus = phaseStatus;
        open.endTime = t;
        open.durationInSeconds = Math.round(t - open.startTime);
        if (message)
          open.contexts = [
            {
              statusCode:
                code ??
                (phaseStatus === 'SUCCEEDED' ? '' : phaseStatus === 'FAILED' ? 'COMMAND_EXECUTION_ERROR' : phaseStatus),
              message,
            },
          ];
      }
      // The phases a build still goes through to its end (a buildspec build has run UPLOAD_ARTIFACTS itself).
      const closing: PhaseType[] =
        status === 'SUCCEEDED' ? ['UPLOAD_ARTIFACTS', 'FINALIZING'] : status === 'STOPPED' ? [] : ['FINALIZING'];
      for (const p of closing)
        if (!build.phases.some((q) => q.phaseType === p))
          build.phases.push({ phaseType: p, phaseStatus: 'SUCCEEDED', startTime: t, endTime: t, durationInSeconds: 0 });
      build.phases.push({ phaseType: 'COMPLETED', startTime: t });
      build.currentPhase = 'COMPLETED';
      build.buildStatus = status;
      build.endTime = t;
      build.buildComplete = true;
    });
  }

  /** After a restart: a build that was running is lost (its process died with the service): FAULT. */
  resume(): void {
    for (const b of this.builds.values())
      if (b.buildStatus === 'IN_PROGRESS')
        this.finish(b.id, 'FAULT', 'FAULT', 'The local CodeBuild service restarted during the build');
  }

  async shutdown(): Promise<void> {
    for (const r of this.runs.values()) r.stop();
    await Promise.resolve();
  }
}

function view(b: Build): Record<string, unknown> {
  const { _idempotencyToken: _t, _artifacts: _a, ...rest } = b;
  return rest;
}
