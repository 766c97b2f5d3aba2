/**
 * What a `docker push` to ECR does, for the local CodeBuild: the push is authorized as the project's service role
 * (login, layer uploads and the manifest: local mode makes only the manifest call, the rest is authorized without
 * being made), the docker login's token is checked against ECR, the image goes to the stack's local registry, and the
 * registry's manifest is recorded in moto ECR under the tag with its real digest. Refusals read as docker prints
 * ECR's answers, so a buildspec's `docker push` fails with the words a real build would log.
 */
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ACCOUNT_ID } from '../../shared/account';
import type { Ctx } from '../core/context';
import { parseImageUri, type LocalImage } from '../executors/image-ref';
import { podman } from '../executors/podman';
import { denialText, pushDenial } from '../iam/on-behalf';
import { pushManifest } from './image';
import { type Exec, pushToRegistry } from './podman-build';

/** A push refused, in docker's words. */
export class PushRefused extends Error {}

/** `denied: …` when the role may not push to the repository (undefined: allowed). */
export function pushRefusal(ctx: Ctx, roleArn: string | undefined, repoUri: string): string | undefined {
  const denied = pushDenial(ctx.iam, roleArn, repoUri);
  return denied ? `denied: ${denialText(denied)}` : undefined;
}

export interface EcrPushed {
  digest: string;
  /** Bytes of the manifest (what docker prints as `size`). */
  size: number;
  imageId: string;
  registryRef: string;
}

/**
 * Pushes the podman image `image` (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`) as `roleArn`; `auth` is
 * the base64 `user:password` the build's `docker login` stored for that registry.
 */
export async function pushImageToEcr(opts: {
  ctx: Ctx;
  roleArn: string | undefined;
  image: string;
  auth: string;
  workDir: string;
  exec: Exec;
}): Promise<EcrPushed> {
  const { ctx, roleArn, image } = opts;
  const p = parseImageUri(image);
  const tag = p.tag ?? 'latest';
  const repoUri = `${p.registry}/${p.repository}`;
  const port = process.env.LOCAL_REGISTRY_PORT;
  if (!port)
    throw new PushRefused(
      "LOCAL_REGISTRY_PORT is not set: the local CodeBuild pushes to the stack's local registry (start the stack with `local up`)",
    );
  const id = await podman(['image', 'inspect', '--format', '{{.Id}}', image]);
  if (id.code !== 0) throw new PushRefused(`An image does not exist locally with the tag: ${repoUri}`);
  const refused = pushRefusal(ctx, roleArn, repoUri);
  if (refused) throw new PushRefused(refused);
  const ecr = ctx.roleClients(roleArn).ecr;
  const token = await ecr.send(new GetAuthorizationTokenCommand({})).catch((err: Error) => {
    throw new PushRefused(`denied: ${err.name}: ${err.message}`);
  });
  const issued = token.authorizationData?.[0]?.authorizationToken;
  const given = Buffer.from(opts.auth, 'base64').toString('utf8');
  if (!issued || Buffer.from(issued, 'base64').toString('utf8') !== given)
    // ECR's answer to credentials it did not issue (or that expired).
    throw new PushRefused('denied: Your authorization token has expired. Reauthenticate and try again.');
  const pushed = await pushToRegistry(image, `127.0.0.1:${port}`, p.repository, tag, opts.workDir, opts.exec);
  let digest: string;
  try {
    digest = await pushManifest(
      ecr,
      p.repository,
      tag,
      { manifest: pushed.manifest, digest: pushed.digest },
      pushed.mediaType,
    );
  } catch (err) {
    const e = err as Error;
    if (e.name === 'RepositoryNotFoundException')
      throw new PushRefused(
        `name unknown: The repository with name '${p.repository}' does not exist in the registry with id '${ACCOUNT_ID}'`,
      );
    throw new PushRefused(`${e.name}: ${e.message}`);
  }
  if (digest !== pushed.digest)
    throw new PushRefused(`ECR recorded digest ${digest}, the registry has ${pushed.digest}`);
  const imageId = id.stdout.trim();
  ctx.store
    .kind<LocalImage & { localTag: string }>('podman-images')
    .put(digest, { imageId, registryRef: pushed.registryRef, localTag: image });
  ctx.store.kind<{ digest: string }>('podman-tags').put(`${p.repository}:${tag}`, { digest });
  return { digest, size: Buffer.byteLength(pushed.manifest), imageId, registryRef: pushed.registryRef };
}
