/**
 * One local CodeBuild build, phase by phase like CodeBuild (SUBMITTED … COMPLETED): DOWNLOAD_SOURCE fetches the
 * S3 zip (file modes kept), then the build proper. Every line goes to the build log in CloudWatch Logs
 * (`/aws/codebuild/<project>`).
 *
 * Two builders, chosen by LOCAL_CODEBUILD_BUILDER (`podman` | `process`; the stack sets it, default `podman`
 * exactly when the executor is `container`, since the process demo must stay fast):
 * - podman: the source's buildspec runs as CodeBuild runs it (buildspec-build.ts): its `docker` commands are served
 *   by podman and its `docker push` lands in the stack's local registry and in ECR with the registry's digest.
 * - process: the process image (the context's `setup.sh` builds its venv, once per source hash;
 *   LOCAL_CODEBUILD_INSTALL=skip records the image without a venv); ECR gets a manifest over the context tarball.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { downloadObject } from '../core/s3-files';
import { killGroup } from '../../shared/procs';
import type { Ctx } from '../core/context';
import { type Buildspec, BuildspecError } from './buildspec';
import { BuildspecBuild, type BuildspecBuildInfo, readBuildspec } from './buildspec-build';
import { pushRefusal } from './ecr-push';
import { hashTree, processImageManifest, pushManifest, repositoryName } from './image';

export const PHASES = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
] as const;
export type PhaseType = (typeof PHASES)[number];

export interface BuildPhase {
  phaseType: PhaseType;
  phaseStatus?: 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'IN_PROGRESS' | 'STOPPED';
  startTime: number;
  endTime?: number;
  durationInSeconds?: number;
  contexts?: { statusCode: string; message: string }[];
}

export interface BuildHooks {
  phase(p: PhaseType): void;
  /** Ends the open phase; `code` is the phase context's status code (default COMMAND_EXECUTION_ERROR). */
  endPhase(status: NonNullable<BuildPhase['phaseStatus']>, message?: string, code?: string): void;
  line(text: string): void;
}

/** A build to run: what its buildspec shell knows (BuildspecBuildInfo) and where its source is. */
export interface BuildSpec extends BuildspecBuildInfo {
  sourceLocation: string;
}

/** A build that ran to its end: what it exported and where its artifacts went. */
export interface BuildResult {
  exported: { name: string; value: string }[];
  artifactsLocation?: string;
}

/**
 * The build failed: `code` is the phase context's status code. `phaseClosed`: the failing phase was ended already
 * (a buildspec build ends its own phases), so only FINALIZING is left.
 */
export class BuildFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly phaseClosed = false,
    readonly result?: BuildResult,
  ) {
    super(message);
  }
}

export class BuildRun {
  private child: { pid: number } | undefined;
  private buildspecBuild: BuildspecBuild | undefined;
  stopped = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly spec: BuildSpec,
    private readonly hooks: BuildHooks,
  ) {}

  get dir(): string {
    return path.join(this.ctx.buildsDir, this.spec.id.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  }

  /** The buildspec build, while one runs (the shims call back into it). */
  get agent(): BuildspecBuild | undefined {
    return this.buildspecBuild;
  }

  stop(): void {
    this.stopped = true;
    this.buildspecBuild?.stop();
    if (this.child) killGroup(this.child.pid, 'SIGKILL');
  }

  /** Runs the phases; throws BuildFailure for a failed build (in the failing phase). */
  async run(): Promise<BuildResult> {
    const h = this.hooks;
    // The buildspec builder's podman is set up by its docker shim on first use (a buildspec may never call docker).
    const buildspec = this.builder() === 'podman';
    for (const p of ['QUEUED', 'PROVISIONING'] as const) {
      h.phase(p);
      h.endPhase('SUCCEEDED');
    }
    h.phase('DOWNLOAD_SOURCE');
    const src = path.join(this.dir, 'src');
    try {
      await this.download(src);
    } catch (err) {
      const e = err as Error & { $metadata?: unknown };
      // CodeBuild's DOWNLOAD_SOURCE context names the S3 error and the source: "AccessDenied: Access Denied for
      // primary source and source version <location>".
      throw new BuildFailure(
        'CLIENT_ERROR',
        e.$metadata
          ? `${e.name}: ${e.message} for primary source and source version ${this.spec.sourceLocation}`
          : `Failed to download source from ${this.spec.sourceLocation}: ${e.message}`,
      );
    }
    if (buildspec) {
      let spec: Buildspec;
      try {
        spec = readBuildspec(src, this.dir, this.spec.buildspec);
      } catch (err) {
        if (err instanceof BuildspecError) throw new BuildFailure(err.code, err.message);
        throw err;
      }
      h.endPhase('SUCCEEDED');
      return this.runBuildspec(spec, src);
    }
    h.endPhase('SUCCEEDED');
    h.phase('INSTALL');
    h.endPhase('SUCCEEDED');
    h.phase('PRE_BUILD');
    const repoUri = this.spec.env.REPOSITORY_URI ?? this.spec.env.ECR_REPOSITORY_URI;
    const tag = this.spec.env.IMAGE_TAG ?? this.spec.env.SOURCE_HASH;
    if (!repoUri || !tag)
      throw new BuildFailure(
        'COMMAND_EXECUTION_ERROR',
        'Error while executing command: test -n "$REPOSITORY_URI" && test -n "$IMAGE_TAG". Reason: exit status 1',
      );
    h.endPhase('SUCCEEDED');
    h.phase('BUILD');
    const sourceHash = hashTree(src);
    h.line(`[local] build context hash ${sourceHash}`);
    const imageDir = path.join(path.dirname(this.ctx.buildsDir), 'images', sourceHash);
    await this.buildProcessImage(src, imageDir);
    h.endPhase('SUCCEEDED');
    h.phase('POST_BUILD');
    const layer = path.join(this.dir, 'context.tar.gz');
    await this.exec('tar', ['-czf', layer, '-C', src, '.']);
    const m = processImageManifest(sourceHash, fs.statSync(layer).size, { 'local.image-dir': imageDir });
    let digest: string;
    try {
      this.authorizePush(repoUri);
      digest = await pushManifest(this.aws.ecr, repositoryName(repoUri), tag, m);
    } catch (err) {
      throw new BuildFailure(
        'COMMAND_EXECUTION_ERROR',
        `Error while executing command: docker push ${repoUri}:${tag}. Reason: ${(err as Error).name}: ` +
          `${(err as Error).message}`,
      );
    }
    this.ctx.store
      .kind<{ dir: string; sourceHash: string }>('process-images')
      .put(digest, { dir: imageDir, sourceHash });
    h.line(`IMAGE_DIGEST=${digest}`);
    h.line(`IMAGE_URI=${repoUri}@${digest}`);
    h.endPhase('SUCCEEDED');
    return {
      exported: [
        { name: 'IMAGE_DIGEST', value: digest },
        { name: 'IMAGE_URI', value: `${repoUri}@${digest}` },
      ],
    };
  }

  /** INSTALL … UPLOAD_ARTIFACTS from the buildspec; a failed phase fails the build after the phases CodeBuild runs. */
  private async runBuildspec(spec: Buildspec, src: string): Promise<BuildResult> {
    const build = new BuildspecBuild(this.ctx, this.spec, this.dir, this.hooks, (c, a, o) =>
      this.exec(c, a, o?.cwd, o?.env),
    );
    this.buildspecBuild = build;
    try {
      const r = await build.run(spec, src);
      if (this.stopped) throw new BuildFailure('STOPPED', 'Build was stopped');
      const result = { exported: r.exported, artifactsLocation: r.artifactsLocation };
      if (r.failed) throw new BuildFailure(r.failed.code, r.failed.message, true, result);
      return result;
    } catch (err) {
      if (this.stopped) throw new BuildFailure('STOPPED', 'Build was stopped');
      throw err;
    } finally {
      this.buildspecBuild = undefined;
    }
  }

  /** The build's AWS clients: sessions of the project's service role (IAM authorizes every call). */
  private get aws() {
    return this.ctx.roleClients(this.spec.roleArn);
  }

  /**
   * `docker push` to ECR as the service role: login, layer uploads and the manifest must all be allowed (local mode
   * records only the manifest, so the rest is authorized without being made). A refusal reads as docker prints it.
   */
  private authorizePush(repoUri: string): void {
    const text = pushRefusal(this.ctx, this.spec.roleArn, repoUri);
    if (!text) return;
    this.hooks.line(text);
    throw Object.assign(new Error(text), { name: 'AccessDeniedException' });
  }

  /** LOCAL_CODEBUILD_BUILDER, else podman exactly when jobs run as containers (they cannot run process images). */
  private builder(): 'podman' | 'process' {
    const b = process.env.LOCAL_CODEBUILD_BUILDER;
    if (b === 'podman' || b === 'process') return b;
    return this.ctx.executor.kind === 'container' ? 'podman' : 'process';
  }

  private async download(src: string): Promise<void> {
    const loc = this.spec.sourceLocation.replace(/^s3:\/\//, '');
    const slash = loc.indexOf('/');
    if (slash < 1) throw new Error(`source location ${this.spec.sourceLocation} is not bucket/key`);
    const zip = path.join(this.dir, 'source.zip');
    fs.rmSync(src, { recursive: true, force: true });
    fs.mkdirSync(src, { recursive: true });
    await downloadObject(this.aws.s3, loc.slice(0, slash), loc.slice(slash + 1), zip);
    // Unpacks with the modes the zip records (an entrypoint script must stay executable in the image).
    const unzip = [
      'import os, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'for i in z.infolist():',
      '    p = z.extract(i, sys.argv[2])',
      '    m = (i.external_attr >> 16) & 0o777',
      '    if m and not i.is_dir(): os.chmod(p, m)',
    ].join('\n');
    await this.exec('python3', ['-c', unzip, zip, src]);
    this.hooks.line(`[local] source ${this.spec.sourceLocation} unpacked`);
  }

  /** The context unpacked under images/<hash> with its venv (setup.sh); reused when the hash was built before. */
  private async buildProcessImage(src: string, imageDir: string): Promise<void> {
    const mode = process.env.LOCAL_CODEBUILD_INSTALL ?? 'setup';
    const done = path.join(imageDir, '.local-image-ready');
    if (fs.existsSync(done)) {
      this.hooks.line(`[local] process image ${path.basename(imageDir)} already built; reusing it`);
      return;
    }
    fs.rmSync(imageDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(imageDir), { recursive: true });
    fs.cpSync(src, imageDir, { recursive: true });
    if (mode === 'setup' && fs.existsSync(path.join(imageDir, 'setup.sh'))) {
      this.hooks.line('[local] building the process image: bash setup.sh');
      await this.exec('bash', ['setup.sh'], imageDir);
    } else
      this.hooks.line(
        `[local] process image recorded without a venv (LOCAL_CODEBUILD_INSTALL=${mode}); jobs on it use ` +
          `LOCAL_CONTAINER_BIN_DIR`,
      );
    fs.writeFileSync(done, new Date().toISOString());
  }

  private exec(cmd: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new BuildFailure('STOPPED', 'Build was stopped'));
      const child = spawn(cmd, args, {
        cwd,
        env: env ?? process.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child.pid ? { pid: child.pid } : undefined;
      const feed = (b: Buffer): void =>
        b
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .forEach((l) => this.hooks.line(l));
      child.stdout.on('data', feed);
      child.stderr.on('data', feed);
      child.on('error', (err) => reject(new BuildFailure('COMMAND_EXECUTION_ERROR', `${cmd}: ${err.message}`)));
      child.on('close', (code, signal) => {
        this.child = undefined;
        if (this.stopped) return reject(new BuildFailure('STOPPED', 'Build was stopped'));
        if (code === 0) resolve();
        else
          reject(
            new BuildFailure(
              'COMMAND_EXECUTION_ERROR',
              `Error while executing command: ${cmd} ${args.join(' ')}. Reason: exit status ${code ?? signal}`,
            ),
          );
      });
    });
  }
}
