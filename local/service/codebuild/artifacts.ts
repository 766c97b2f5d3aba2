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
import { zipSync, type Zippable } from 'fflate';
import picomatch from 'picomatch';
import type { BuildspecArtifacts } from './buildspec';

/** One file of an artifact: its name in the artifact and where it is on disk. */
export interface ArtifactFile {
  rel: string;
  abs: string;
  executable: boolean;
}

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

/**
 * `**` any depth, `*` and `?` within one path segment (CodeBuild's artifact patterns), matched by picomatch (local
 * mode's own matcher: the product's .dockerignore matching is a different library). Dotfiles match like any file.
 */
export function patternRegExp(pattern: string): RegExp {
  return picomatch.makeRe(pattern.replace(/^\.\//, ''), { dot: true });
}

/** Every ZIP entry gets this mtime, so the same files always make the same bytes. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

/** A ZIP of the files in order (fflate), with fixed timestamps and Unix modes. */
export function zipArtifactFiles(files: readonly ArtifactFile[]): Buffer {
  const entries: Zippable = {};
  for (const f of files)
    entries[f.rel] = [
      fs.readFileSync(f.abs),
      { mtime: FIXED_MTIME, os: 3, attrs: (f.executable ? 0o755 : 0o644) << 16 },
    ];
  return Buffer.from(zipSync(entries));
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
export function selectArtifactFiles(baseDir: string, spec: BuildspecArtifacts): ArtifactFile[] {
  const patterns = spec.files.map(patternRegExp);
  const files = fs.existsSync(baseDir) ? walk(baseDir).filter((r) => patterns.some((p) => p.test(r))) : [];
  return files.map((r) => {
    const abs = path.join(baseDir, r);
    const st = fs.statSync(abs);
    return { rel: spec.discardPaths ? path.basename(r) : r, abs, executable: (st.mode & 0o111) !== 0 };
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
    await opts.s3.send(new PutObjectCommand({ Bucket: project.location, Key: key, Body: zipArtifactFiles(files) }));
  } else {
    for (const f of files)
      await opts.s3.send(
        new PutObjectCommand({ Bucket: project.location, Key: `${key}/${f.rel}`, Body: fs.readFileSync(f.abs) }),
      );
  }
  opts.line(`[Container] uploaded ${files.length} artifact file(s) to s3://${project.location}/${key}`);
  return `arn:aws:s3:::${project.location}/${key}`;
}
