/**
 * The team's own code (script mode): check a source directory, pack it into a reproducible sourcedir.tar.gz named
 * by its content hash (so an unchanged directory is uploaded once, and a retried or re-run upload finds it), and
 * repack a model.tar.gz with the inference code under `code/`, as the SageMaker Python SDK does for
 * `Model(entry_point=…, source_dir=…)`. The checks are shared with `npm run cli -- validate`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ErrorType } from '../contracts/errors';
import {
  MAX_SOURCE_DIR_BYTES,
  type PackedCode,
  PackUserCodeInput,
  RepackModelInput,
  type RepackModelOutput,
} from '../contracts/user-code';
import type { SpecIssue } from '../contracts/validation';
import { aws, failure, toFailure } from './aws-errors';
import { compareBytes, type ContextFile, hashContextFiles } from './build-context';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { heartbeatIfActivity } from './polling';
import { isMissingObject, s3Object } from './s3-objects';
import {
  deterministicGzip,
  END_OF_ARCHIVE,
  fileHeader,
  gunzip,
  isRegularFile,
  tarBlocks,
  type TarFileEntry,
  walkTar,
} from './tar';

/** Never packed: caches and VCS data change without the code changing (and bytecode embeds source mtimes). */
const EXCLUDED_NAMES = new Set(['__pycache__', '.git', '.hg', '.svn', '.ipynb_checkpoints', '.DS_Store']);
const isExcluded = (name: string) => EXCLUDED_NAMES.has(name) || name.endsWith('.pyc');

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** A code path as the worker sees it: s3:// as given, a relative path resolved against `baseDir`. */
export function resolveSourceDir(sourceDir: string, baseDir: string): string {
  return sourceDir.startsWith('s3://') ? sourceDir : path.resolve(baseDir, sourceDir);
}

/** A source directory that cannot be packed as it is (a broken or looping symbolic link). */
export class SourceDirError extends Error {}

/**
 * The files of a source directory in byte order of their relative paths, symlinks followed (like the SDK's
 * `tarfile.add(dereference=True)`), caches and VCS folders left out. Stops counting at `maxBytes`.
 */
export async function listSourceFiles(root: string, maxBytes = Infinity): Promise<ContextFile[]> {
  const files: ContextFile[] = [];
  let total = 0;
  const walk = async (dir: string, relDir: string, above: Set<string>): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (isExcluded(entry.name) || total > maxBytes) continue;
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      const abs = path.join(dir, entry.name);
      const info = await stat(abs).catch(() => null);
      if (!info) throw new SourceDirError(`${rel} is a symbolic link to nothing`);
      if (info.isDirectory()) {
        const real = await realpath(abs);
        if (above.has(real))
          throw new SourceDirError(`${rel} links back to a directory above it (a symbolic-link loop)`);
        await walk(abs, rel, new Set([...above, real]));
      } else if (info.isFile()) {
        files.push({ rel, abs, size: info.size, executable: (info.mode & 0o111) !== 0 });
        total += info.size;
        if (files.length % 200 === 0) heartbeatIfActivity({ listedFiles: files.length });
      }
    }
  };
  await walk(root, '', new Set([await realpath(root)]));
  return files.sort((a, b) => compareBytes(a.rel, b.rel));
}

/** What checking a local source directory found: its files, or the issues that make it unusable. */
export interface SourceDirCheck {
  files: ContextFile[];
  issues: SpecIssue[];
}

/**
 * Checks a local source directory the way a user needs to hear about it before anything runs: it exists, the entry
 * point is a file inside it (symlinks resolved), and it is code-sized. `field` is the spec path (`training.code`).
 */
export async function checkSourceDir(field: string, dir: string, entryPoint: string): Promise<SourceDirCheck> {
  const at = (key: string) => `$.${field}.${key}`;
  const info = await stat(dir).catch(() => null);
  if (!info) return { files: [], issues: [{ path: at('sourceDir'), message: `directory ${dir} does not exist` }] };
  if (!info.isDirectory())
    return { files: [], issues: [{ path: at('sourceDir'), message: `${dir} is not a directory` }] };
  const issues: SpecIssue[] = [];
  if (!entryPoint.endsWith('.py'))
    issues.push({ path: at('entryPoint'), message: `${entryPoint} is not a Python file (ending in .py)` });
  const root = await realpath(dir);
  const target = await realpath(path.resolve(dir, entryPoint)).catch(() => null);
  if (target === null) {
    issues.push({ path: at('entryPoint'), message: `no file ${entryPoint} in ${dir}` });
  } else if (path.relative(root, target).startsWith('..') || path.isAbsolute(path.relative(root, target))) {
    issues.push({ path: at('entryPoint'), message: `${entryPoint} resolves to ${target}, outside ${dir}` });
  } else if (!(await stat(target)).isFile()) {
    issues.push({ path: at('entryPoint'), message: `${entryPoint} in ${dir} is not a file` });
  }
  let files: ContextFile[];
  try {
    files = await listSourceFiles(dir, MAX_SOURCE_DIR_BYTES);
  } catch (err) {
    if (!(err instanceof SourceDirError)) throw err;
    return { files: [], issues: [...issues, { path: at('sourceDir'), message: `${dir}: ${err.message}` }] };
  }
  const bytes = files.reduce((n, f) => n + f.size, 0);
  if (bytes > MAX_SOURCE_DIR_BYTES) {
    const biggest = [...files].sort((a, b) => b.size - a.size)[0] as ContextFile;
    issues.push({
      path: at('sourceDir'),
      message: `${dir} holds over ${MiB(bytes)} (${biggest.rel} alone is ${MiB(biggest.size)}); the limit for code is ${MiB(MAX_SOURCE_DIR_BYTES)}: keep data and checkpoints out of it (data belongs in a channel)`,
    });
  }
  return { files, issues };
}

/** The tar entries of a packed source directory, in order. */
function sourceEntries(files: readonly ContextFile[], prefix = ''): TarFileEntry[] {
  return files.map((f) => ({
    name: `${prefix}${f.rel}`,
    size: f.size,
    executable: f.executable,
    open: () => createReadStream(f.abs) as AsyncIterable<Buffer>,
  }));
}

/** sourcedir.tar.gz of `files`: sorted entries, fixed modes, owners and mtimes, gzip without a timestamp. */
export function packSourceFiles(files: readonly ContextFile[]): Readable {
  return deterministicGzip(
    (async function* () {
      yield* tarBlocks(sourceEntries(files));
      yield END_OF_ARCHIVE;
    })(),
  );
}

/** Counts bytes and heartbeats while a stream flows (uploads of big archives must not look dead). */
function progress(source: Readable, what: string): Readable {
  let bytes = 0;
  let last = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes - last >= 8 * 1024 * 1024) {
        last = bytes;
        heartbeatIfActivity({ [what]: bytes });
      }
      done(null, chunk);
    },
  });
  // pipe() does not pass errors on: the upload must see a failed source as a failed body.
  source.on('error', (err) => counted.destroy(err));
  return source.pipe(counted);
}

/** Creates the user-code activities. */
export function createUserCodeActivities(deps: ActivityDeps) {
  const s3 = deps.clients.s3;
  const baseDir = () => deps.specDir ?? process.cwd();

  const head = async (Bucket: string, Key: string) => {
    try {
      return await s3.send(new HeadObjectCommand({ Bucket, Key }));
    } catch (err) {
      if (isMissingObject(err)) return null;
      throw toFailure(err, `HeadObject s3://${Bucket}/${Key}`);
    }
  };

  const upload = async (Bucket: string, Key: string, body: Readable, metadata: Record<string, string>) => {
    await aws(`PutObject s3://${Bucket}/${Key}`, () =>
      new Upload({
        client: s3,
        params: { Bucket, Key, Body: body, ContentType: 'application/gzip', Metadata: metadata },
        queueSize: 2,
        partSize: 16 * 1024 * 1024,
      }).done(),
    );
  };

  /** An s3:// sourcedir.tar.gz made elsewhere: it must exist, be code-sized and hold the entry point. */
  async function checkS3Source(input: PackUserCodeInput): Promise<PackedCode> {
    const { Bucket, Key } = s3Object(input.sourceDir);
    const at = `$.${input.field}`;
    const found = await head(Bucket, Key);
    if (!found) throw failure(ErrorType.SpecInvalid, `${at}.sourceDir: no object ${input.sourceDir}`);
    if ((found.ContentLength ?? 0) > MAX_SOURCE_DIR_BYTES)
      throw failure(
        ErrorType.SpecInvalid,
        `${at}.sourceDir: ${input.sourceDir} is ${MiB(found.ContentLength ?? 0)}, over the ${MiB(MAX_SOURCE_DIR_BYTES)} limit for code`,
      );
    const res = await aws(`GetObject ${input.sourceDir}`, () => s3.send(new GetObjectCommand({ Bucket, Key })));
    const hash = createHash('sha256');
    const body = res.Body as Readable;
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    const names = new Set<string>();
    let bytes = 0;
    try {
      await walkTar(gunzip(body), async (m) => {
        names.add(m.name.replace(/^\.\//, ''));
        bytes += m.size;
        return 'skip';
      });
    } catch (err) {
      throw failure(
        ErrorType.SpecInvalid,
        `${at}.sourceDir: ${input.sourceDir} is not a readable .tar.gz: ${(err as Error).message}`,
      );
    }
    if (!names.has(input.entryPoint))
      throw failure(ErrorType.SpecInvalid, `${at}.entryPoint: no file ${input.entryPoint} in ${input.sourceDir}`);
    return {
      s3Uri: input.sourceDir,
      entryPoint: input.entryPoint,
      sha256: hash.digest('hex'),
      fileCount: names.size,
      bytes,
      uploaded: false,
    };
  }

  return {
    /**
     * Checks and packs a source directory into `s3://bucket/<keyPrefix><sha256>/sourcedir.tar.gz`. The key is the
     * content hash, so an object already there is this same code (an earlier run's, or this activity's previous
     * attempt's) and is not uploaded again. An s3:// source is checked and used as it is.
     */
    async packUserCode(raw: PackUserCodeInput): Promise<PackedCode> {
      const input = parseInput(PackUserCodeInput, raw, 'packUserCode input');
      if (input.sourceDir.startsWith('s3://')) return checkS3Source(input);
      const dir = resolveSourceDir(input.sourceDir, baseDir());
      const checked = await checkSourceDir(input.field, dir, input.entryPoint);
      if (checked.issues.length) {
        const relative = !path.isAbsolute(input.sourceDir)
          ? ` (the relative path "${input.sourceDir}" was resolved against the worker's PIPELINE_SPEC_DIR, ${baseDir()}; start runs with \`npm run cli -- resolve\` or give an absolute path or an s3:// URI)`
          : '';
        throw failure(
          ErrorType.SpecInvalid,
          `${checked.issues.map((i) => `${i.path}: ${i.message}`).join('\n')}${relative}`,
        );
      }
      const sha256 = await hashContextFiles(checked.files);
      const Key = `${input.keyPrefix}${sha256}/sourcedir.tar.gz`;
      const s3Uri = `s3://${input.bucket}/${Key}`;
      const bytes = checked.files.reduce((n, f) => n + f.size, 0);
      const out = { s3Uri, entryPoint: input.entryPoint, sha256, fileCount: checked.files.length, bytes };
      if (await head(input.bucket, Key)) return { ...out, uploaded: false };
      // The hash names the object: the bytes must be what was hashed (a file edited since would mislabel it).
      const again = await hashContextFiles(await listSourceFiles(dir));
      if (again !== sha256)
        throw failure(ErrorType.SpecInvalid, `$.${input.field}.sourceDir: ${dir} changed while it was being packed`);
      await upload(input.bucket, Key, progress(packSourceFiles(checked.files), 'packedBytes'), {
        'source-sha256': sha256,
      });
      return { ...out, uploaded: true };
    },

    /**
     * model.tar.gz with the inference code under `code/` (any `code/` the model had is replaced), as the SDK's
     * `repack_model` does, streamed (models are big) to `s3://bucket/<keyPrefix><hash>/model.tar.gz`, where the
     * hash covers the model object (URI and ETag) and the code, so a retry or re-run finds its own result.
     */
    async repackModel(raw: RepackModelInput): Promise<RepackModelOutput> {
      const input = parseInput(RepackModelInput, raw, 'repackModel input');
      const model = s3Object(input.modelDataUrl);
      const modelHead = await head(model.Bucket, model.Key);
      if (!modelHead) throw failure(ErrorType.SpecInvalid, `model artefact ${input.modelDataUrl} does not exist`);
      const id = createHash('sha256')
        .update(`${input.modelDataUrl}\0${modelHead.ETag ?? ''}\0${input.code.sha256}\0${input.code.s3Uri}`)
        .digest('hex');
      const Key = `${input.keyPrefix}${id}/model.tar.gz`;
      const modelDataUrl = `s3://${input.bucket}/${Key}`;
      const existing = await head(input.bucket, Key);
      if (existing) return { modelDataUrl, repacked: false, members: null };

      const get = (uri: string) => {
        const o = s3Object(uri);
        return aws(`GetObject ${uri}`, () => s3.send(new GetObjectCommand(o))).then((r) => r.Body as Readable);
      };
      const [modelBody, codeBody] = [await get(input.modelDataUrl), await get(input.code.s3Uri)];
      const tar = new PassThrough();
      const write = async (chunk: Buffer) => {
        if (!tar.write(chunk)) await once(tar, 'drain');
      };
      let members = 0;
      const isCode = (name: string) => /^(\.\/)?code(\/|$)/.test(name);
      const produce = async () => {
        // The model's members as they are (its own code/ dropped), then the code's files under code/.
        await walkTar(gunzip(modelBody), async (m) => {
          if (isCode(m.name)) return 'skip';
          members++;
          await write(m.headerBlocks);
          return write;
        });
        await walkTar(gunzip(codeBody), async (m) => {
          if (!isRegularFile(m)) return 'skip';
          members++;
          await write(fileHeader(`code/${m.name.replace(/^\.\//, '')}`, m.size, (m.mode & 0o111) !== 0));
          return write;
        });
        await write(END_OF_ARCHIVE);
        tar.end();
      };
      const producing = produce().catch((err: Error & { code?: string }) => {
        tar.destroy(err);
        // A broken archive will not mend on retry; a dropped connection (ECONNRESET, ...) may.
        if (!String(err.code ?? '').startsWith('Z_') && !err.message.startsWith('archive is truncated')) throw err;
        throw failure(
          ErrorType.SpecInvalid,
          `cannot repack ${input.modelDataUrl}: not a readable .tar.gz (${err.message})`,
        );
      });
      const uploading = upload(input.bucket, Key, progress(deterministicGzip(tar), 'repackedBytes'), {
        'model-etag': (modelHead.ETag ?? '').replace(/"/g, ''),
        'code-sha256': input.code.sha256,
      });
      // The reading side's failure says why; the upload then fails only because its body did.
      const [made, sent] = await Promise.allSettled([producing, uploading]);
      if (made.status === 'rejected') throw made.reason;
      if (sent.status === 'rejected') throw sent.reason;
      return { modelDataUrl, repacked: true, members };
    },
  };
}
