/**
 * The "process image": what the local CodeBuild produces without podman. The build context is addressed by a
 * content hash; the image is that context unpacked under `<state>/images/<hash>` with its Python venv built by
 * the context's own `setup.sh` (from its lock files). It is recorded in moto ECR like a pushed image: PutImage
 * with an OCI manifest whose layer is the context tarball, so the digest is real (sha256 of the manifest).
 */
import { PutImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** sha256 over sorted relative paths and file bytes (the `.venv` and caches excluded). */
export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === '.venv' || e.name === '__pycache__' || e.name === '.pytest_cache' || e.name.endsWith('.egg-info'))
        continue;
      const r = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        h.update(`${r}\0`);
        h.update(fs.readFileSync(path.join(dir, r)));
        h.update('\0');
      }
    }
  };
  walk('');
  return h.digest('hex');
}

export interface ImageManifest {
  manifest: string;
  digest: string;
}

/** An OCI image manifest for a process image; its digest is the sha256 of these exact bytes. */
export function processImageManifest(
  sourceHash: string,
  layerBytes: number,
  labels: Record<string, string>,
): ImageManifest {
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'local.process-image': sourceHash, ...labels }, Cmd: ['serve'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sourceHash}`] },
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
      size: Buffer.byteLength(config),
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sourceHash}`, size: layerBytes },
    ],
    annotations: { 'org.opencontainers.image.source': 'local-process-image' },
  });
  return { manifest, digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}` };
}

/** `123.dkr.ecr.us-east-1.amazonaws.com/repo` (or `localhost:5000/repo`) → `repo`. */
export function repositoryName(uri: string): string {
  const slash = uri.indexOf('/');
  return (slash >= 0 ? uri.slice(slash + 1) : uri).replace(/[:@].*$/, '');
}

export async function pushManifest(
  ecr: ECRClient,
  repository: string,
  tag: string,
  m: ImageManifest,
  mediaType = 'application/vnd.oci.image.manifest.v1+json',
): Promise<string> {
  try {
    const out = await ecr.send(
      new PutImageCommand({
        repositoryName: repository,
        imageManifest: m.manifest,
        imageManifestMediaType: mediaType,
        imageTag: tag,
        imageDigest: m.digest,
      }),
    );
    // moto derives digests from layer digests unless told; ECR computes sha256(manifest), which is what we pass.
    return out.image?.imageId?.imageDigest ?? m.digest;
  } catch (err) {
    // Pushing the same manifest under the same tag again is a no-op, as a docker push would be.
    if ((err as Error).name === 'ImageAlreadyExistsException') return m.digest;
    throw err;
  }
}
