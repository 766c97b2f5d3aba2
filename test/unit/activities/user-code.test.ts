import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  checkSourceDir,
  createUserCodeActivities,
  listSourceFiles,
  packSourceFiles,
} from '../../../activities/user-code';
import { ErrorType } from '../../../contracts/errors';
import type { PackedCode, RepackModelOutput } from '../../../contracts/user-code';
import { activityEnv, awsError, expectFailure, testDeps } from './helpers';

const s3 = mockClient(S3Client);
let dir: string;
let work: string;

async function write(rel: string, content: string | Buffer, root = dir): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `tar -tvzf` of an archive: GNU tar is the judge of what we wrote. */
function listing(archive: Buffer): string[] {
  return execFileSync('tar', ['-tvzf', '-', '--numeric-owner', '--full-time'], { input: archive, encoding: 'utf8' })
    .trim()
    .split('\n');
}

const bodyOf = (b: Buffer) => Readable.from([b]) as never;
const notFound = () => awsError('NotFound', 404);

/** What PutObject received (lib-storage sends small bodies as one PutObject). */
async function uploaded(): Promise<Buffer> {
  const calls = s3.commandCalls(PutObjectCommand);
  expect(calls).toHaveLength(1);
  const body = calls[0]?.args[0].input.Body as Buffer | Uint8Array | NodeJS.ReadableStream;
  return Buffer.isBuffer(body) || body instanceof Uint8Array ? Buffer.from(body) : bytesOf(body);
}

beforeEach(async () => {
  s3.reset();
  work = await mkdtemp(path.join(tmpdir(), 'user-code-'));
  dir = path.join(work, 'src');
  await write('train.py', 'import jax\nprint("train")\n');
  await write('lib/util.py', 'X = 1\n');
  await write('requirements.txt', 'einops\n');
  await write('lib/__pycache__/util.cpython-311.pyc', 'bytecode');
  await write('.git/HEAD', 'ref: refs/heads/main\n');
  await write('run.sh', '#!/bin/sh\n');
  await chmod(path.join(dir, 'run.sh'), 0o755);
});
afterEach(() => rm(work, { recursive: true, force: true }));

describe('source directory packing', () => {
  it('lists code in byte order without caches or VCS data', async () => {
    const files = await listSourceFiles(dir);
    expect(files.map((f) => f.rel)).toEqual(['lib/util.py', 'requirements.txt', 'run.sh', 'train.py']);
  });

  it('makes the same bytes every time: fixed owners, modes and mtimes, gzip without a timestamp', async () => {
    const files = await listSourceFiles(dir);
    const a = await bytesOf(packSourceFiles(files));
    await new Promise((r) => setTimeout(r, 1100));
    await writeFile(path.join(dir, 'train.py'), await readFile(path.join(dir, 'train.py'))); // new mtime, same bytes
    const b = await bytesOf(packSourceFiles(await listSourceFiles(dir)));
    expect(b.equals(a)).toBe(true);
    expect(a.readUInt32LE(4)).toBe(0); // gzip MTIME
    const lines = listing(a);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^-rw-r--r-- 0\/0 +6 2000-01-01 00:00:00 lib\/util\.py$/);
    expect(lines[2]).toMatch(/^-rwxr-xr-x 0\/0 .* run\.sh$/);
    const extracted = path.join(work, 'out');
    await mkdir(extracted);
    execFileSync('tar', ['-xzf', '-', '-C', extracted], { input: a });
    expect(await readFile(path.join(extracted, 'lib/util.py'), 'utf8')).toBe('X = 1\n');
  });

  it('writes long paths with a PAX record that tar reads back', async () => {
    const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}.py`;
    await write(deep, 'deep = True\n');
    const names = listing(await bytesOf(packSourceFiles(await listSourceFiles(dir)))).map((l) => l.split(' ').pop());
    expect(names).toContain(deep);
  });
});

describe('source directory checks', () => {
  const field = 'training.code';

  it('accepts a code directory with its entry point', async () => {
    const r = await checkSourceDir(field, dir, 'train.py');
    expect(r.issues).toEqual([]);
    expect(r.files).toHaveLength(4);
  });

  it.each([
    ['a missing directory', () => path.join(work, 'nope'), 'train.py', /\.sourceDir: directory .*nope does not exist/],
    ['a missing entry point', () => dir, 'serve.py', /\.entryPoint: no file serve\.py in /],
    ['an entry point that is not Python', () => dir, 'run.sh', /\.entryPoint: run\.sh is not a Python file/],
    [
      'a file given as the directory',
      () => path.join(dir, 'train.py'),
      'train.py',
      /\.sourceDir: .* is not a directory/,
    ],
  ])('names the field for %s', async (_, where, entry, message) => {
    const r = await checkSourceDir(field, where(), entry);
    expect(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(message);
    expect(r.issues[0]?.path.startsWith('$.training.code.')).toBe(true);
  });

  it('refuses an entry point that a symlink takes outside the directory', async () => {
    await write('outside.py', 'print(1)\n', work);
    await symlink(path.join(work, 'outside.py'), path.join(dir, 'escape.py'));
    const r = await checkSourceDir(field, dir, 'escape.py');
    expect(r.issues).toEqual([
      { path: '$.training.code.entryPoint', message: expect.stringMatching(/resolves to .*outside\.py, outside /) },
    ]);
  });

  it('refuses a broken symbolic link and a symbolic-link loop instead of failing or looping', async () => {
    await symlink(path.join(work, 'gone.py'), path.join(dir, 'gone.py'));
    expect((await checkSourceDir(field, dir, 'train.py')).issues).toEqual([
      { path: '$.training.code.sourceDir', message: expect.stringMatching(/gone\.py is a symbolic link to nothing/) },
    ]);
    await rm(path.join(dir, 'gone.py'));
    await symlink(dir, path.join(dir, 'lib', 'again'));
    expect((await checkSourceDir(field, dir, 'train.py')).issues).toEqual([
      {
        path: '$.training.code.sourceDir',
        message: expect.stringMatching(/lib\/again links back to a directory above it/),
      },
    ]);
  });

  it('refuses a directory over the size limit, naming the biggest file', async () => {
    await write('data/shard-0.bin', '');
    await truncate(path.join(dir, 'data/shard-0.bin'), 101 * 1024 * 1024); // sparse: no disk used
    const r = await checkSourceDir(field, dir, 'train.py');
    expect(r.issues).toEqual([
      {
        path: '$.training.code.sourceDir',
        message: expect.stringMatching(/data\/shard-0\.bin alone is 101\.0 MiB\); the limit for code is 100\.0 MiB/),
      },
    ]);
  });
});

describe('packUserCode', () => {
  const input = (over: Record<string, string> = {}) => ({
    field: 'training.code',
    sourceDir: dir,
    entryPoint: 'train.py',
    bucket: 'bkt',
    keyPrefix: 'pipelines/p/code/',
    ...over,
  });

  it('uploads sourcedir.tar.gz under its content hash, once', async () => {
    s3.on(HeadObjectCommand).rejectsOnce(notFound()).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const acts = createUserCodeActivities(testDeps());
    const first = (await activityEnv().run(acts.packUserCode, input())) as PackedCode;
    expect(first).toMatchObject({ entryPoint: 'train.py', fileCount: 4, uploaded: true });
    expect(first.s3Uri).toBe(`s3://bkt/pipelines/p/code/${first.sha256}/sourcedir.tar.gz`);
    const body = await uploaded();
    expect(listing(body).map((l) => l.split(' ').pop())).toEqual([
      'lib/util.py',
      'requirements.txt',
      'run.sh',
      'train.py',
    ]);
    // A re-run (or a retried attempt) finds the object under the same hash and uploads nothing.
    const again = await activityEnv().run(acts.packUserCode, input());
    expect(again).toEqual({ ...first, uploaded: false });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  it('changes the key when the code changes', async () => {
    s3.on(HeadObjectCommand).resolves({});
    const acts = createUserCodeActivities(testDeps());
    const a = (await activityEnv().run(acts.packUserCode, input())) as PackedCode;
    await write('train.py', 'print("changed")\n');
    const b = (await activityEnv().run(acts.packUserCode, input())) as PackedCode;
    expect(b.sha256).not.toBe(a.sha256);
  });

  it('resolves a relative directory against the spec directory it was given', async () => {
    s3.on(HeadObjectCommand).resolves({});
    const acts = createUserCodeActivities(testDeps({ specDir: work }));
    await expect(activityEnv().run(acts.packUserCode, input({ sourceDir: 'src' }))).resolves.toMatchObject({
      fileCount: 4,
    });
    const acts2 = createUserCodeActivities(testDeps({ specDir: dir }));
    await expectFailure(
      activityEnv().run(acts2.packUserCode, input({ sourceDir: 'src' })),
      ErrorType.SpecInvalid,
      true,
      /\$\.training\.code\.sourceDir: directory .*src\/src does not exist.*PIPELINE_SPEC_DIR/s,
    );
  });

  it('checks an s3:// sourcedir.tar.gz instead of packing: it must exist and hold the entry point', async () => {
    const archive = await bytesOf(packSourceFiles(await listSourceFiles(dir)));
    s3.on(HeadObjectCommand, { Key: 'ext/sourcedir.tar.gz' }).resolves({ ContentLength: archive.length });
    s3.on(HeadObjectCommand, { Key: 'ext/missing.tar.gz' }).rejects(notFound());
    s3.on(GetObjectCommand).callsFake(() => ({ Body: bodyOf(archive) }));
    const acts = createUserCodeActivities(testDeps());
    const ok = await activityEnv().run(acts.packUserCode, input({ sourceDir: 's3://bkt/ext/sourcedir.tar.gz' }));
    expect(ok).toMatchObject({ s3Uri: 's3://bkt/ext/sourcedir.tar.gz', fileCount: 4, uploaded: false });
    await expectFailure(
      activityEnv().run(acts.packUserCode, input({ sourceDir: 's3://bkt/ext/sourcedir.tar.gz', entryPoint: 'x.py' })),
      ErrorType.SpecInvalid,
      true,
      /\$\.training\.code\.entryPoint: no file x\.py in s3:\/\/bkt\/ext\/sourcedir\.tar\.gz/,
    );
    await expectFailure(
      activityEnv().run(acts.packUserCode, input({ sourceDir: 's3://bkt/ext/missing.tar.gz' })),
      ErrorType.SpecInvalid,
      true,
      /\$\.training\.code\.sourceDir: no object s3:\/\/bkt\/ext\/missing\.tar\.gz/,
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('repackModel', () => {
  async function modelTarball(): Promise<Buffer> {
    const m = path.join(work, 'model');
    await write('params.msgpack', Buffer.alloc(3000, 7), m);
    await write('config.json', '{}', m);
    await write('code/old_handler.py', 'old', m);
    return execFileSync('tar', ['-czf', '-', '-C', m, '.']);
  }

  it('puts the inference code under code/ in place of the model own, as the SDK repacks', async () => {
    const model = await modelTarball();
    const code = await bytesOf(packSourceFiles(await listSourceFiles(dir)));
    const packed: PackedCode = {
      s3Uri: 's3://bkt/code/abc/sourcedir.tar.gz',
      entryPoint: 'train.py',
      sha256: 'a'.repeat(64),
      fileCount: 4,
      bytes: 10,
      uploaded: true,
    };
    s3.on(HeadObjectCommand, { Key: 'models/model.tar.gz' }).resolves({ ETag: '"e1"' });
    s3.on(HeadObjectCommand, { Bucket: 'bkt' }).rejects(notFound());
    s3.on(GetObjectCommand, { Key: 'models/model.tar.gz' }).callsFake(() => ({ Body: bodyOf(model) }));
    s3.on(GetObjectCommand, { Key: 'code/abc/sourcedir.tar.gz' }).callsFake(() => ({ Body: bodyOf(code) }));
    s3.on(PutObjectCommand).resolves({});
    const acts = createUserCodeActivities(testDeps());
    const out = (await activityEnv().run(acts.repackModel, {
      modelDataUrl: 's3://m/models/model.tar.gz',
      code: packed,
      bucket: 'bkt',
      keyPrefix: 'repacked/',
    })) as RepackModelOutput;
    expect(out.modelDataUrl).toMatch(/^s3:\/\/bkt\/repacked\/[a-f0-9]{64}\/model\.tar\.gz$/);
    expect(out.repacked).toBe(true);
    const names = listing(await uploaded()).map((l) => l.split(' ').pop());
    expect(names).toEqual(
      expect.arrayContaining(['./params.msgpack', './config.json', 'code/train.py', 'code/lib/util.py']),
    );
    expect(names.filter((n) => n?.includes('old_handler'))).toEqual([]);
    const gz = gunzipSync(await uploaded());
    expect(gz.includes(Buffer.alloc(3000, 7))).toBe(true); // the weights went through untouched
  });

  it('fails without retrying when the model artefact is not a tar.gz', async () => {
    s3.on(HeadObjectCommand, { Key: 'models/model.tar.gz' }).resolves({ ETag: '"e1"' });
    s3.on(HeadObjectCommand, { Bucket: 'bkt' }).rejects(notFound());
    s3.on(GetObjectCommand).callsFake(() => ({ Body: bodyOf(Buffer.from('not gzip at all')) }));
    s3.on(PutObjectCommand).resolves({});
    const acts = createUserCodeActivities(testDeps());
    await expectFailure(
      activityEnv().run(acts.repackModel, {
        modelDataUrl: 's3://m/models/model.tar.gz',
        code: {
          s3Uri: 's3://bkt/c/sourcedir.tar.gz',
          entryPoint: 'i.py',
          sha256: 'b'.repeat(64),
          fileCount: 1,
          bytes: 1,
          uploaded: true,
        },
        bucket: 'bkt',
        keyPrefix: 'repacked/',
      }),
      ErrorType.SpecInvalid,
      true,
      /cannot repack s3:\/\/m\/models\/model\.tar\.gz: not a readable \.tar\.gz/,
    );
  });
});
