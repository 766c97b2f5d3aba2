/**
 * A local CodeBuild build that executes the source's buildspec, as CodeBuild does (LOCAL_CODEBUILD_BUILDER=podman):
 * the environment CodeBuild gives a build (the project's and StartBuild's variables over the buildspec's, the
 * CODEBUILD_* variables, the service role's session and the local endpoints), the phases in the build's shell
 * (buildspec-run.ts, build-shell.ts), `exported-variables`, and UPLOAD_ARTIFACTS (artifacts.ts).
 *
 * `docker` and `aws` on the shell's PATH are local mode's (shims/): `docker build` is a podman build with this
 * machine's settings, `docker push` reaches back to this service (the build's agent, `agentPush`), which pushes to
 * the stack's registry and records the image in ECR as the service role; `aws ecr get-login-password` is a real
 * GetAuthorizationToken against local mode. So the image, tag and digest a pipeline records come from the
 * buildspec's own commands.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN_CREDENTIALS } from '../../shared/credentials';
import { REGION } from '../../shared/account';
import { REPO_ROOT } from '../../stack/config';
import type { Ctx } from '../core/context';
import { roleSessionEnv } from '../core/role-session';
import { CONTAINERS_CONF } from '../executors/podman';
import { ArtifactsError, type ProjectArtifacts, uploadArtifacts } from './artifacts';
import { type Buildspec, BuildspecError, loadBuildspec } from './buildspec';
import { BuildShell } from './build-shell';
import { containerLine, type PhaseFailure, runPhases } from './buildspec-run';
import { type EcrPushed, pushImageToEcr } from './ecr-push';
import type { Exec } from './podman-build';
import type { PhaseType } from './build-run';

const SHIMS = path.join(REPO_ROOT, 'local', 'service', 'codebuild', 'shims');
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * This machine's settings the image tools need (pip's find-links and CA bundle, proxies, TLS roots): handed to the
 * docker shim's `podman build` only, never to the buildspec's shell, whose environment is CodeBuild's.
 */
const TOOL_ENV =
  /^(PIP_[A-Z_]+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|TMPDIR)$/;

/** What a buildspec build knows about its build and project. */
export interface BuildspecBuildInfo {
  id: string;
  arn: string;
  buildNumber: number;
  projectName: string;
  /** The project's build image (CODEBUILD_BUILD_IMAGE). */
  image: string;
  /** Seconds since the epoch. */
  startTime: number;
  /** The build's log stream (CODEBUILD_LOG_PATH). */
  logStream: string;
  /** The buildspec: a file in the source (default buildspec.yml) or the YAML itself. */
  buildspec?: string;
  artifacts?: ProjectArtifacts;
  /** The project's and StartBuild's environment variables (StartBuild's win). */
  env: Record<string, string>;
  /** The project's service role: the build reads its source, pushes and logs as this role. */
  roleArn?: string;
}

export interface BuildspecHooks {
  phase(p: PhaseType): void;
  endPhase(status: 'SUCCEEDED' | 'FAILED', message?: string, code?: string): void;
  line(text: string): void;
}

export interface BuildspecResult {
  failed?: PhaseFailure;
  exported: { name: string; value: string }[];
  artifactsLocation?: string;
}

/** Reads the buildspec the build names (inline YAML, or a path inside the source); BuildspecError when bad. */
export function readBuildspec(src: string, dir: string, buildspec: string | undefined): Buildspec {
  const named = buildspec?.trim() || 'buildspec.yml';
  if (named.includes('\n') || /^version\s*:/.test(named)) {
    const file = path.join(dir, 'buildspec-inline.yml');
    fs.writeFileSync(file, named);
    return loadBuildspec(file, 'buildspec');
  }
  if (named.startsWith('arn:'))
    throw new BuildspecError(`buildspec ${named}: the local CodeBuild reads buildspecs from the source or inline only`);
  const file = path.resolve(src, named);
  if (!file.startsWith(path.resolve(src) + path.sep))
    throw new BuildspecError(`buildspec ${named} is outside the source directory`);
  return loadBuildspec(file, named);
}

export class BuildspecBuild {
  private shell: BuildShell | undefined;
  /** Sent by the shims with every call back to this service. */
  readonly token = randomBytes(24).toString('hex');

  constructor(
    private readonly ctx: Ctx,
    private readonly info: BuildspecBuildInfo,
    private readonly dir: string,
    private readonly hooks: BuildspecHooks,
    private readonly exec: Exec,
  ) {}

  stop(): void {
    this.shell?.stop();
  }

  /** The build shell's environment, lowest precedence first (buildspec < project < StartBuild < CodeBuild's own). */
  environment(spec: Buildspec, src: string): Record<string, string> {
    const self = this.ctx.selfUrl ?? '';
    const aws = this.info.roleArn
      ? roleSessionEnv(self, this.info.roleArn)
      : {
          AWS_REGION: REGION,
          AWS_DEFAULT_REGION: REGION,
          AWS_ACCESS_KEY_ID: ADMIN_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: ADMIN_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL: self,
          AWS_ENDPOINT_URL_S3: self,
        };
    const home = path.join(this.dir, 'home');
    fs.mkdirSync(home, { recursive: true });
    const toolEnv = path.join(this.dir, 'tool-env.json');
    fs.writeFileSync(
      toolEnv,
      JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k, v]) => TOOL_ENV.test(k) && v))),
    );
    return {
      PATH: `${SHIMS}:${SYSTEM_PATH}`,
      HOME: home,
      LANG: 'C.UTF-8',
      ...aws,
      ...spec.variables,
      ...this.info.env,
      CODEBUILD_BUILD_ID: this.info.id,
      CODEBUILD_BUILD_ARN: this.info.arn,
      CODEBUILD_BUILD_NUMBER: String(this.info.buildNumber),
      CODEBUILD_BUILD_IMAGE: this.info.image,
      CODEBUILD_INITIATOR: 'local',
      CODEBUILD_START_TIME: String(Math.round(this.info.startTime * 1000)),
      CODEBUILD_LOG_PATH: this.info.logStream,
      CODEBUILD_SRC_DIR: src,
      // For the shims (shims/docker, shims/aws): podman's settings, the image script, the agent, boto3.
      CONTAINERS_CONF,
      LOCAL_CODEBUILD_IMAGE_SCRIPT: path.join(REPO_ROOT, 'container', 'scripts', 'build-image.sh'),
      LOCAL_CODEBUILD_TOOL_ENV: toolEnv,
      LOCAL_CODEBUILD_TOOLS_SCRIPT: path.join(REPO_ROOT, 'container', 'scripts', 'local-tools.sh'),
      LOCAL_CODEBUILD_PYTHON: path.join(REPO_ROOT, '.venv', 'bin', 'python'),
      LOCAL_CODEBUILD_AGENT_URL: `${self}/_local/codebuild/agent/${encodeURIComponent(this.info.id)}`,
      LOCAL_CODEBUILD_AGENT_TOKEN: this.token,
    };
  }

  /** INSTALL … POST_BUILD and UPLOAD_ARTIFACTS. */
  async run(spec: Buildspec, src: string): Promise<BuildspecResult> {
    const h = this.hooks;
    for (const note of spec.notes) h.line(containerLine(note));
    this.shell = new BuildShell(path.join(this.dir, 'shell'), src, this.environment(spec, src), spec.shell, (l) =>
      h.line(l),
    );
    const outcome = await runPhases(spec, this.shell, h);
    let failed = outcome.failed;
    let artifactsLocation: string | undefined;
    if (outcome.uploadDue) {
      h.phase('UPLOAD_ARTIFACTS');
      try {
        artifactsLocation = await uploadArtifacts({
          project: this.info.artifacts ?? {},
          spec: spec.artifacts,
          srcDir: src,
          buildId: this.info.id,
          projectName: this.info.projectName,
          s3: this.ctx.roleClients(this.info.roleArn).s3,
          line: (l) => h.line(l),
        });
        h.endPhase('SUCCEEDED');
      } catch (err) {
        const e = err as Error;
        const code = e instanceof ArtifactsError ? e.code : 'CLIENT_ERROR';
        const message = e instanceof ArtifactsError ? e.message : `${e.name}: ${e.message}`;
        h.endPhase('FAILED', message, code);
        failed ??= { phase: 'UPLOAD_ARTIFACTS', code, message };
      }
    }
    return { failed, exported: outcome.exported, artifactsLocation };
  }

  /** The docker shim's `docker push` (POST …/agent/<build>/push). */
  agentPush(image: string, auth: string): Promise<EcrPushed> {
    return pushImageToEcr({
      ctx: this.ctx,
      roleArn: this.info.roleArn,
      image,
      auth,
      workDir: this.dir,
      exec: this.exec,
    });
  }
}
