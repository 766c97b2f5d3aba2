/**
 * One local CodeBuild build, phase by phase like CodeBuild (SUBMITTED … COMPLETED): DOWNLOAD_SOURCE fetches the
 * S3 zip (file modes kept), BUILD makes the image, POST_BUILD pushes it and records it in moto ECR under the
 * requested tag with its real digest. Every line goes to the build log in CloudWatch Logs
 * (`/aws/codebuild/<project>`).
 *
 * Two builders, chosen by LOCAL_CODEBUILD_BUILDER (`podman` | `process`; the stack sets it, default `podman`
 * exactly when the executor is `container`, since the process demo must stay fast):
 * - podman: a real `podman build` of the Dockerfile (CPU, local Debian base; podman-build.ts) pushed to the
 *   stack's local registry (LOCAL_REGISTRY_PORT); ECR gets the registry's manifest and digest.
 * - process: the process image (the context's `setup.sh` builds its venv, once per source hash;
 *   LOCAL_CODEBUILD_INSTALL=skip records the image without a venv); ECR gets a manifest over the context tarball.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { downloadObject } from '../core/s3-files';
import { killGroup } from '../../shared/procs';
import { ensurePodmanTools } from '../executors/podman';
import type { LocalImage } from '../executors/image-ref';
import type { Ctx } from '../core/context';
import { denialText, pushDenial } from '../iam/on-behalf';
import { hashTree, processImageManifest, pushManifest, repositoryName } from './image';
import { buildKey, localBuildSettings, localTag, podmanBuild, pushToRegistry } from './podman-build';

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
  endPhase(status: NonNullable<BuildPhase['phaseStatus']>, message?: string): void;
  line(text: string): void;
}

export interface BuildSpec {
  id: string;
  sourceLocation: string;
  env: Record<string, string>;
  /** The project's service role: the build reads its source, pushes and logs as this role. */
  roleArn?: string;
}

export class BuildFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class BuildRun {
  private child: { pid: number } | undefined;
  stopped = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly spec: BuildSpec,
    private readonly hooks: BuildHooks,
  ) {}

  get dir(): string {
    return path.join(this.ctx.buildsDir, this.spec.id.replace(/[^a-zA-Z0-9._-]+/g, '_'));
  }

  stop(): void {
    this.stopped = true;
    if (this.child) killGroup(this.child.pid, 'SIGKILL');
  }

  /** Runs the phases; resolves with the pushed digest, throws BuildFailure in the failing phase. */
  async run(): Promise<{ digest: string; imageUri: string }> {
    const h = this.hooks;
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
    if (this.builder() === 'podman') return this.runPodman(src, sourceHash, repoUri, tag);
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
        `Error while executing command: docker push ${repoUri}:${tag}. Reason: ${(err as Error).name}: ${(err as Error).message}`,
      );
    }
    this.ctx.store
      .kind<{ dir: string; sourceHash: string }>('process-images')
      .put(digest, { dir: imageDir, sourceHash });
    h.line(`IMAGE_DIGEST=${digest}`);
    h.line(`IMAGE_URI=${repoUri}@${digest}`);
    h.endPhase('SUCCEEDED');
    return { digest, imageUri: `${repoUri}@${digest}` };
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
    const denied = pushDenial(this.ctx.iam, this.spec.roleArn, repoUri);
    if (!denied) return;
    const text = `denied: ${denialText(denied)}`;
    this.hooks.line(text);
    throw Object.assign(new Error(text), { name: 'AccessDeniedException' });
  }

  /** LOCAL_CODEBUILD_BUILDER, else podman exactly when jobs run as containers (they cannot run process images). */
  private builder(): 'podman' | 'process' {
    const b = process.env.LOCAL_CODEBUILD_BUILDER;
    if (b === 'podman' || b === 'process') return b;
    return this.ctx.executor.kind === 'container' ? 'podman' : 'process';
  }

  /** BUILD: podman build (or reuse); POST_BUILD: push to the local registry and record it in moto ECR. */
  private async runPodman(
    src: string,
    sourceHash: string,
    repoUri: string,
    tag: string,
  ): Promise<{ digest: string; imageUri: string }> {
    const h = this.hooks;
    const port = process.env.LOCAL_REGISTRY_PORT;
    if (!port)
      throw new BuildFailure(
        'COMMAND_EXECUTION_ERROR',
        "LOCAL_REGISTRY_PORT is not set: the podman builder pushes to the stack's local registry (start the stack with `local up`)",
      );
    const registry = `127.0.0.1:${port}`;
    const repo = repositoryName(repoUri);
    const settings = localBuildSettings(this.spec.env);
    for (const n of settings.notes) h.line(`[local] ${n}`);
    const ref = localTag(repo, tag);
    let imageId: string;
    try {
      ensurePodmanTools((m) => h.line(m));
      imageId = await podmanBuild(
        src,
        ref,
        buildKey(sourceHash, settings),
        settings,
        (c, a, o) => this.exec(c, a, o?.cwd, o?.env),
        (l) => h.line(l),
      );
    } catch (err) {
      if (err instanceof BuildFailure) throw err;
      throw new BuildFailure(
        'COMMAND_EXECUTION_ERROR',
        `Error while executing command: docker build. Reason: ${(err as Error).message}`,
      );
    }
    h.line(`[local] built ${ref} (${imageId.slice(0, 12)})`);
    h.endPhase('SUCCEEDED');
    h.phase('POST_BUILD');
    let digest: string;
    let registryRef: string;
    try {
      const pushed = await pushToRegistry(ref, registry, repo, tag, this.dir, (c, a, o) =>
        this.exec(c, a, o?.cwd, o?.env),
      );
      registryRef = pushed.registryRef;
      this.authorizePush(repoUri);
      digest = await pushManifest(
        this.aws.ecr,
        repo,
        tag,
        { manifest: pushed.manifest, digest: pushed.digest },
        pushed.mediaType,
      );
      if (digest !== pushed.digest) throw new Error(`ECR recorded digest ${digest}, the registry has ${pushed.digest}`);
    } catch (err) {
      if (err instanceof BuildFailure) throw err;
      throw new BuildFailure(
        'COMMAND_EXECUTION_ERROR',
        `Error while executing command: docker push ${repoUri}:${tag}. Reason: ${(err as Error).name}: ${(err as Error).message}`,
      );
    }
    this.ctx.store
      .kind<LocalImage & { localTag: string }>('podman-images')
      .put(digest, { imageId, registryRef, localTag: ref });
    this.ctx.store.kind<{ digest: string }>('podman-tags').put(`${repo}:${tag}`, { digest });
    h.line(`[local] pushed ${registryRef}`);
    h.line(`IMAGE_DIGEST=${digest}`);
    h.line(`IMAGE_URI=${repoUri}@${digest}`);
    h.endPhase('SUCCEEDED');
    return { digest, imageUri: `${repoUri}@${digest}` };
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
        `[local] process image recorded without a venv (LOCAL_CODEBUILD_INSTALL=${mode}); jobs on it use LOCAL_CONTAINER_BIN_DIR`,
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
