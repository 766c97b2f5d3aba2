/**
 * UPLOAD_ARTIFACTS of the local CodeBuild: the buildspec's `artifacts` (files, base-directory, discard-paths) into
 * the project's S3 artifacts location, as the service role. Key layout as ProjectArtifacts documents it
 * (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectArtifacts.html): `<path>/[<build id>/]<name>`,
 * a zip when `packaging` is ZIP, else a folder of the files. A project with NO_ARTIFACTS uploads nothing (CodeBuild
 * ignores the buildspec's section then); no file matching the patterns is CLIENT_ERROR "no matching artifact paths
 * found", as in CodeBuild.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { zipContext, type ContextFile } from '../../../activities/build-context';
import type { BuildspecArtifacts } from './buildspec';

/** The project's (or StartBuild's) artifacts settings, as the API takes them. */
export interface ProjectArtifacts {
  type?: string;
  location?: string;
  path?: string;
  name?: string;
  namespaceType?: string;
  packaging?: string;
  overrideArtifactName?: boolean;
}

/** A failure of the phase, with CodeBuild's status code. */
export class ArtifactsError extends Error {
  readonly code = 'CLIENT_ERROR';
}

/** `**` any depth, `*` and `?` within one path segment (CodeBuild's artifact patterns). */
export function patternRegExp(pattern: string): RegExp {
  let re = '';
  const p = pattern.replace(/^\.\//, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*' && p[i + 1] === '*') {
      const slash = p[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** The files the patterns select under `baseDir`, with the names they get in the artifact. */
export function selectArtifactFiles(baseDir: string, spec: BuildspecArtifacts): ContextFile[] {
  const patterns = spec.files.map(patternRegExp);
  const files = fs.existsSync(baseDir) ? walk(baseDir).filter((r) => patterns.some((p) => p.test(r))) : [];
  return files.map((r) => {
    const abs = path.join(baseDir, r);
    const st = fs.statSync(abs);
    return { rel: spec.discardPaths ? path.basename(r) : r, abs, size: st.size, executable: (st.mode & 0o111) !== 0 };
  });
}

/**
 * Uploads the artifacts; resolves with the artifact's location (`arn:aws:s3:::bucket/key`) or undefined when the
 * project takes none.
 */
export async function uploadArtifacts(opts: {
  project: ProjectArtifacts;
  spec: BuildspecArtifacts | undefined;
  srcDir: string;
  buildId: string;
  projectName: string;
  s3: S3Client;
  line: (text: string) => void;
}): Promise<string | undefined> {
  const { project, spec } = opts;
  const type = project.type ?? 'NO_ARTIFACTS';
  if (type === 'NO_ARTIFACTS') return undefined;
  if (type !== 'S3') throw new ArtifactsError(`artifacts type ${type} is not served by the local CodeBuild (S3 only)`);
  if (!spec) {
    opts.line('[local] the buildspec has no artifacts section: nothing to upload');
    return undefined;
  }
  if (!project.location) throw new ArtifactsError('the project has S3 artifacts but no artifacts location (bucket)');
  const base = path.resolve(opts.srcDir, spec.baseDirectory ?? '.');
  const files = selectArtifactFiles(base, spec);
  if (files.length === 0) throw new ArtifactsError('no matching artifact paths found');
  const name = (project.overrideArtifactName && spec.name) || project.name || opts.projectName;
  const key = [project.path, project.namespaceType === 'BUILD_ID' ? opts.buildId.split(':').pop() : '', name]
    .filter(Boolean)
    .join('/');
  if (project.packaging === 'ZIP') {
    await opts.s3.send(new PutObjectCommand({ Bucket: project.location, Key: key, Body: await zipContext(files) }));
  } else {
    for (const f of files)
      await opts.s3.send(
        new PutObjectCommand({ Bucket: project.location, Key: `${key}/${f.rel}`, Body: fs.readFileSync(f.abs) }),
      );
  }
  opts.line(`[Container] uploaded ${files.length} artifact file(s) to s3://${project.location}/${key}`);
  return `arn:aws:s3:::${project.location}/${key}`;
}
