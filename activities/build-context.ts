/**
 * The image build context: a deterministic content hash (the image tag, so an unchanged context reuses the image)
 * and a reproducible zip uploaded to S3 for CodeBuild, both over the same file list, honouring `.dockerignore`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import dockerignore, { type Ignore } from '@balena/dockerignore';
import { ZipFile } from 'yazl';
import type {
  HashContextInput,
  HashContextOutput,
  UploadContextInput,
  UploadContextOutput,
} from '../contracts/build-image';
import { ErrorType } from '../contracts/errors';
import { aws, failure, toFailure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { heartbeatIfActivity } from './polling';
import { isMissingObject } from './s3-objects';

/** One file of the context, addressed by its POSIX path relative to the context root. */
export interface ContextFile {
  rel: string;
  abs: string;
  size: number;
  executable: boolean;
}

/** Every zip entry gets this mtime, so the same files always make the same bytes. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');
/** Length of the hex source hash (64 bits: ample for telling contexts apart, short enough for a tag). */
const SOURCE_HASH_LENGTH = 16;

/** A `.dockerignore`'s rules, and whether any `!` rule might re-include something under an excluded directory. */
export interface DockerignoreRules {
  matcher: Ignore;
  hasNegation: boolean;
}

/**
 * Parses `.dockerignore` with Docker's semantics (@balena/dockerignore, a port of Docker's own matcher): patterns
 * are relative to the context root and match as Go's filepath.Match does (`*`, `?`, character classes `[a-z]`),
 * plus `**` for any number of directories; a pattern naming a directory excludes everything below it, `!`
 * re-includes, and the last matching rule wins (https://docs.docker.com/build/concepts/context/#dockerignore-files).
 */
export function parseDockerignore(text: string): DockerignoreRules {
  const lines = text.split(/\r?\n/);
  return {
    matcher: dockerignore().add(lines),
    hasNegation: lines.some((l) => l.trim().startsWith('!')),
  };
}

/** True when the rules exclude `rel` (or a directory above it). */
export function isIgnored(rules: DockerignoreRules, rel: string): boolean {
  return rules.matcher.ignores(rel);
}

/** Byte-wise order, identical on every machine and locale (unlike localeCompare). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The files of a build context that `docker build` would see, in byte order of their relative paths. */
export async function listContextFiles(contextDir: string): Promise<ContextFile[]> {
  const root = path.resolve(contextDir);
  let rules = parseDockerignore('');
  try {
    rules = parseDockerignore(await readFile(path.join(root, '.dockerignore'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const files: ContextFile[] = [];
  // Like docker, walk into an excluded directory only when a `!` rule might re-include something below it.
  const hasNegation = rules.hasNegation;
  const walk = async (dir: string, relDir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      const abs = path.join(dir, entry.name);
      // Symlinks are followed: docker's context stores the content of what they point to.
      const info = entry.isSymbolicLink() ? await stat(abs) : null;
      const ignored = isIgnored(rules, rel);
      if (entry.isDirectory() || info?.isDirectory()) {
        if (!ignored || hasNegation) await walk(abs, rel);
      } else if ((entry.isFile() || info?.isFile()) && (!ignored || rel === '.dockerignore' || rel === 'Dockerfile')) {
        // Docker always sends the Dockerfile and .dockerignore, whatever the rules say.
        const s = info ?? (await stat(abs));
        files.push({ rel, abs, size: s.size, executable: (s.mode & 0o111) !== 0 });
      }
    }
  };
  await walk(root, '');
  return files.sort((a, b) => compareBytes(a.rel, b.rel));
}

/** Feeds a file's bytes into a hash without holding the file in memory. */
async function hashFileInto(hash: ReturnType<typeof createHash>, abs: string): Promise<void> {
  for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
}

/** sha256 over (path, mode, size, bytes) of each file in order; the separators make the framing unambiguous. */
export async function hashContextFiles(files: readonly ContextFile[]): Promise<string> {
  const hash = createHash('sha256');
  for (const [i, f] of files.entries()) {
    hash.update(`${f.rel}\0${f.executable ? 'x' : '-'}\0${f.size}\0`);
    await hashFileInto(hash, f.abs);
    // The workflow runs hashing and upload with a heartbeat timeout; a large context must not look dead.
    heartbeatIfActivity({ hashedFiles: i + 1, of: files.length });
  }
  return hash.digest('hex');
}

/** Zips the files in order with fixed timestamps and modes, so the archive is a function of their content. */
export async function zipContext(files: readonly ContextFile[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const f of files) {
    zip.addReadStreamLazy(f.rel, { mtime: FIXED_MTIME, mode: f.executable ? 0o100755 : 0o100644 }, (cb) =>
      cb(null, createReadStream(f.abs)),
    );
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Builds the build-context activities. */
export function createBuildContextActivities(deps: ActivityDeps) {
  return {
    /** Content hash of the build context (relative paths, modes and bytes, honouring .dockerignore). */
    async hashBuildContext(input: HashContextInput): Promise<HashContextOutput> {
      const files = await listContextFiles(input.contextDir).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT'
          ? failure(ErrorType.SpecInvalid, `build context ${input.contextDir} does not exist`)
          : err;
      });
      if (files.length === 0) throw failure(ErrorType.SpecInvalid, `build context ${input.contextDir} has no files`);
      const sourceHash = (await hashContextFiles(files)).slice(0, SOURCE_HASH_LENGTH);
      return { sourceHash, fileCount: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
    },

    /**
     * Uploads the zipped context to `s3://bucket/<keyPrefix><sourceHash>.zip`. The key is content-addressed, so an
     * existing object is the same upload done by an earlier attempt and is left alone.
     */
    async uploadBuildContext(input: UploadContextInput): Promise<UploadContextOutput> {
      const key = `${input.keyPrefix}${input.sourceHash}.zip`;
      const where = `s3://${input.bucket}/${key}`;
      try {
        await deps.clients.s3.send(new HeadObjectCommand({ Bucket: input.bucket, Key: key }));
        return { bucket: input.bucket, key, uploaded: false };
      } catch (err) {
        if (!isMissingObject(err)) throw toFailure(err, `HeadObject ${where}`);
      }
      const files = await listContextFiles(input.contextDir);
      // The hash the workflow computed names the object: refuse to store different content under it (the context
      // changed between the two activities), or every later build would use a mislabelled archive.
      const actual = (await hashContextFiles(files)).slice(0, input.sourceHash.length);
      if (actual !== input.sourceHash) {
        throw failure(
          ErrorType.SpecInvalid,
          `build context ${input.contextDir} changed while the pipeline ran (hash ${actual}, expected ` +
            `${input.sourceHash})`,
        );
      }
      // Build contexts are source folders (megabytes), so one in-memory PutObject is enough.
      const body = await zipContext(files);
      await aws(`PutObject ${where}`, () =>
        deps.clients.s3.send(
          new PutObjectCommand({
            Bucket: input.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/zip',
            Metadata: { 'source-hash': input.sourceHash },
          }),
        ),
      );
      return { bucket: input.bucket, key, uploaded: true };
    },
  };
}
