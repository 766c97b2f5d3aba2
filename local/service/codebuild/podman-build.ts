/**
 * The push half of the local CodeBuild's `docker push` (the buildspec's `docker build` runs in its shell through
 * the docker shim, shims/docker.py): a podman image pushed to the stack's local OCI registry (Debian's
 * docker-registry, the ECR stand-in), with the manifest the registry stores under the pushed digest read back. That
 * manifest and digest are what the caller records in moto ECR, so ECR's digest is the real one. Pushing the same
 * image under the same tag again is a no-op for the registry.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { podmanEnv } from '../executors/podman';

export type Exec = (cmd: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }) => Promise<void>;

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
