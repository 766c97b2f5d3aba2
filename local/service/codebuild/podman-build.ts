/**
 * The local CodeBuild's podman builder: a real `podman build` of the uploaded context through
 * container/scripts/build-image.sh (local Debian base made with mmdebstrap, prebuilt wheels, CA bundle mounted at
 * build time; CPU only), pushed to the stack's local OCI registry (Debian's docker-registry, the ECR stand-in).
 * The registry's manifest and digest are what the caller records in moto ECR, so ECR's digest is the real one.
 *
 * Idempotent: an image already built from the same context and settings (label `local.context-hash`) is reused
 * without running podman build; pushing the same image under the same tag again is a no-op for the registry.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../stack/config';
import { podman, podmanEnv } from '../executors/podman';

export const CONTEXT_LABEL = 'local.context-hash';

export interface LocalBuildSettings {
  jaxVariant: string;
  baseImage?: string;
  dockerfile: string;
  /** What the local build does not honour, one sentence each (logged). */
  notes: string[];
}

/**
 * What the local build takes from the build's environment: BUILD_ARGS (`--build-arg K=V …`) or the variables
 * of the same names, and DOCKERFILE. Local builds are CPU-only and need a base image that is on this machine.
 */
export function localBuildSettings(env: Record<string, string>): LocalBuildSettings {
  const args = new Map<string, string>();
  for (const m of (env.BUILD_ARGS ?? '').matchAll(/--build-arg\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g))
    args.set(m[1] as string, m[2] as string);
  const notes: string[] = [];
  const variant = args.get('JAX_VARIANT') ?? env.JAX_VARIANT ?? 'cpu';
  if (variant !== 'cpu')
    notes.push(`JAX_VARIANT=${variant} requested; local builds are CPU-only, building JAX_VARIANT=cpu`);
  let baseImage = args.get('BASE_IMAGE') ?? env.BASE_IMAGE;
  if (baseImage && !baseImage.startsWith('localhost/')) {
    notes.push(`BASE_IMAGE=${baseImage} cannot be pulled here (no public registry); using the local Debian base`);
    baseImage = undefined;
  }
  for (const k of args.keys())
    if (k !== 'JAX_VARIANT' && k !== 'BASE_IMAGE') notes.push(`build arg ${k} is not passed by the local build`);
  return { jaxVariant: 'cpu', baseImage, dockerfile: env.DOCKERFILE || 'Dockerfile', notes };
}

/** The podman tag a build is kept under: `localhost/local-codebuild/<repo>:<tag>`. */
export function localTag(repository: string, tag: string): string {
  return `localhost/local-codebuild/${repository}:${tag}`;
}

/** The label value that decides reuse: the context's content hash and the settings that change the image. */
export function buildKey(contextHash: string, s: LocalBuildSettings): string {
  return createHash('sha256')
    .update(JSON.stringify([contextHash, s.jaxVariant, s.baseImage ?? '', s.dockerfile]))
    .digest('hex')
    .slice(0, 32);
}

export type Exec = (cmd: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }) => Promise<void>;

/** Builds (or reuses) the image; resolves with its podman image id. */
export async function podmanBuild(
  src: string,
  tagRef: string,
  key: string,
  s: LocalBuildSettings,
  exec: Exec,
  line: (l: string) => void,
): Promise<string> {
  if (!fs.existsSync(path.join(src, s.dockerfile))) throw new Error(`${s.dockerfile} not found in the build context`);
  const have = await podman(['image', 'inspect', '--format', `{{index .Labels "${CONTEXT_LABEL}"}}`, tagRef]);
  if (have.code === 0 && have.stdout.trim() === key) {
    line(`[local] image ${tagRef} was built from this context before (${CONTEXT_LABEL}=${key}); reusing it`);
  } else {
    line(
      `[local] podman build ${tagRef} (JAX_VARIANT=${s.jaxVariant}${s.baseImage ? `, BASE_IMAGE=${s.baseImage}` : ''})`,
    );
    const env = podmanEnv({
      ...process.env,
      JAX_VARIANT: s.jaxVariant,
      DOCKERFILE: s.dockerfile,
      IMAGE_LABELS: `${CONTEXT_LABEL}=${key}`,
    });
    if (s.baseImage) env.BASE_IMAGE = s.baseImage;
    else delete env.BASE_IMAGE;
    await exec('bash', [path.join(REPO_ROOT, 'container', 'scripts', 'build-image.sh'), tagRef, src], { env });
  }
  const id = await podman(['image', 'inspect', '--format', '{{.Id}}', tagRef]);
  if (id.code !== 0) throw new Error(`podman image inspect ${tagRef}: ${id.stderr.trim()}`);
  return id.stdout.trim();
}

export interface Pushed {
  digest: string;
  manifest: string;
  mediaType: string;
  /** `127.0.0.1:<port>/<repo>@<digest>` */
  registryRef: string;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

/** Pushes to the local registry and reads back the manifest the registry stores under the pushed digest. */
export async function pushToRegistry(
  tagRef: string,
  registry: string,
  repository: string,
  tag: string,
  workDir: string,
  exec: Exec,
): Promise<Pushed> {
  const digestFile = path.join(workDir, 'pushed.digest');
  fs.rmSync(digestFile, { force: true });
  // zstd: compressing ~1 GB of layers with gzip takes minutes on a small machine, zstd a fraction of it; podman
  // pulls zstd layers (a real ECR push from CodeBuild's docker would use gzip).
  const args = [
    'push',
    '--tls-verify=false',
    '--compression-format',
    'zstd',
    '--digestfile',
    digestFile,
    tagRef,
    `docker://${registry}/${repository}:${tag}`,
  ];
  await exec('podman', args, { env: podmanEnv() });
  const digest = fs.readFileSync(digestFile, 'utf8').trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`podman push wrote no digest (${JSON.stringify(digest)})`);
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${digest}`, {
    headers: { Accept: MANIFEST_TYPES.join(', ') },
  });
  if (!res.ok)
    throw new Error(`the local registry ${registry} has no manifest ${repository}@${digest}: HTTP ${res.status}`);
  const manifest = await res.text();
  const actual = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  if (actual !== digest) throw new Error(`the local registry returned a manifest with digest ${actual} for ${digest}`);
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0] || (MANIFEST_TYPES[0] as string);
  return { digest, manifest, mediaType, registryRef: `${registry}/${repository}@${digest}` };
}
