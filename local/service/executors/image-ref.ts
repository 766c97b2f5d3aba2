/**
 * Which local podman image a resource's image URI means. The local CodeBuild's podman builder records each image
 * it pushed by digest (its podman image id and its reference in the local registry) and each `repo:tag` it
 * pushed; an ECR URI by digest or by tag maps through that record. A URI that names an image podman already has
 * (`localhost/jaxsm:cpu`) is used as it is; anything else is an error naming the image.
 */

export interface ImageUri {
  /** `123456789012.dkr.ecr.us-east-1.amazonaws.com`, `127.0.0.1:5000`, `localhost`; absent for `repo:tag`. */
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `registry/repo[:tag][@sha256:…]`; the first segment is a registry only when it looks like a host. */
export function parseImageUri(uri: string): ImageUri {
  const at = uri.indexOf('@');
  const digest = at >= 0 ? uri.slice(at + 1) : undefined;
  let rest = at >= 0 ? uri.slice(0, at) : uri;
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  const colon = rest.lastIndexOf(':');
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : undefined;
  const repository = tag === undefined ? rest : rest.slice(0, colon);
  return { registry, repository, tag, digest };
}

/** One image the podman builder pushed. */
export interface LocalImage {
  /** podman's image id (what runs, when still in local storage). */
  imageId: string;
  /** `127.0.0.1:<port>/<repo>@<digest>`: pulled from the local registry when the id is gone. */
  registryRef: string;
}

export interface ImageIndex {
  byDigest(digest: string): LocalImage | undefined;
  digestOfTag(repository: string, tag: string): string | undefined;
}

export interface ResolvedImage {
  ref: string;
  /** True when podman has to pull `ref` from the local registry first. */
  pull: boolean;
}

/** The image to run for `uri`; throws an error naming the image when the local stack does not know it. */
export function resolveLocalImage(
  uri: string | undefined,
  index: ImageIndex,
  exists: (ref: string) => boolean,
): ResolvedImage {
  if (!uri)
    throw new Error(
      'the resource names no image (TrainingImage / PrimaryContainer.Image): the container executor needs one',
    );
  const p = parseImageUri(uri);
  const digest = p.digest ?? index.digestOfTag(p.repository, p.tag ?? 'latest');
  const rec = digest ? index.byDigest(digest) : undefined;
  if (rec) return exists(rec.imageId) ? { ref: rec.imageId, pull: false } : { ref: rec.registryRef, pull: true };
  if (exists(uri)) return { ref: uri, pull: false };
  throw new Error(
    `image ${uri} is unknown to the local stack: build it with the local CodeBuild (StartBuild with ` +
      `LOCAL_CODEBUILD_BUILDER=podman, the default for LOCAL_EXECUTOR=container) or name an image podman has ` +
      `(podman images)`,
  );
}
