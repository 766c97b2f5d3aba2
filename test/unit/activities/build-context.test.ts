import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createBuildContextActivities,
  isIgnored,
  listContextFiles,
  parseDockerignore,
} from '../../../activities/build-context';
import { accessDenied, awsError, expectFailure, testDeps, throttled } from './helpers';

const s3 = mockClient(S3Client);
let dir: string;

async function write(rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), content);
}

beforeEach(async () => {
  s3.reset();
  dir = await mkdtemp(path.join(tmpdir(), 'ctx-'));
  await write('Dockerfile', 'FROM scratch\n');
  await write('jaxsm/train.py', 'print("train")\n');
  await write('jaxsm/__pycache__/train.cpython-311.pyc', 'bytecode');
  await write('tests/test_x.py', 'def test(): pass\n');
  await write('notes.md', 'scratch notes');
  await write('.dockerignore', '# comment\n**/__pycache__\ntests/\n*.md\n!README.md\n');
  await write('README.md', 'kept by negation');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('.dockerignore', () => {
  it('matches rooted globs, ** across directories, directory names and negation (last rule wins)', () => {
    const rules = parseDockerignore('**/*.pyc\nbuild\n/dist/*.whl\n*.log\n!keep.log\n');
    expect(isIgnored(rules, 'a/b/c.pyc')).toBe(true);
    expect(isIgnored(rules, 'c.pyc')).toBe(true);
    expect(isIgnored(rules, 'build/out/x.o')).toBe(true);
    expect(isIgnored(rules, 'src/build.py')).toBe(false);
    expect(isIgnored(rules, 'dist/a.whl')).toBe(true);
    expect(isIgnored(rules, 'dist/sub/a.whl')).toBe(false);
    expect(isIgnored(rules, 'x.log')).toBe(true);
    expect(isIgnored(rules, 'sub/x.log')).toBe(false); // Docker's patterns are rooted
    expect(isIgnored(rules, 'keep.log')).toBe(false);
  });

  it("matches Docker's character classes, as Go's filepath.Match does (they were taken literally)", () => {
    const rules = parseDockerignore('data/part-[0-9].csv\nnotes[^s].txt\n');
    expect(isIgnored(rules, 'data/part-3.csv')).toBe(true);
    expect(isIgnored(rules, 'data/part-x.csv')).toBe(false);
    expect(isIgnored(rules, 'data/part-[0-9].csv')).toBe(false);
    expect(isIgnored(rules, 'notes1.txt')).toBe(true);
    expect(isIgnored(rules, 'notess.txt')).toBe(false);
  });

  it('lists the files docker would send, in byte order', async () => {
    const files = await listContextFiles(dir);
    expect(files.map((f) => f.rel)).toEqual(['.dockerignore', 'Dockerfile', 'README.md', 'jaxsm/train.py']);
  });

  it('re-includes a file inside an excluded directory', async () => {
    await write('.dockerignore', 'tests\n!tests/fixtures/keep.txt\n');
    await write('tests/fixtures/keep.txt', 'kept');
    const files = await listContextFiles(dir);
    expect(files.map((f) => f.rel)).toContain('tests/fixtures/keep.txt');
    expect(files.map((f) => f.rel)).not.toContain('tests/test_x.py');
  });
});

describe('hashBuildContext', () => {
  const { hashBuildContext } = createBuildContextActivities(testDeps());

  it('is deterministic and ignores mtimes and ignored files', async () => {
    const first = await hashBuildContext({ contextDir: dir });
    expect(first.sourceHash).toMatch(/^[a-f0-9]{16}$/);
    expect(first.fileCount).toBe(4);
    await utimes(path.join(dir, 'jaxsm/train.py'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await write('tests/test_y.py', 'ignored');
    await write('jaxsm/__pycache__/other.pyc', 'ignored');
    expect(await hashBuildContext({ contextDir: dir })).toEqual(first);
  });

  it('changes with content, with a rename and with the executable bit', async () => {
    const base = (await hashBuildContext({ contextDir: dir })).sourceHash;
    await write('jaxsm/train.py', 'print("train v2")\n');
    const edited = (await hashBuildContext({ contextDir: dir })).sourceHash;
    expect(edited).not.toBe(base);
    await chmod(path.join(dir, 'jaxsm/train.py'), 0o755);
    expect((await hashBuildContext({ contextDir: dir })).sourceHash).not.toBe(edited);
  });

  it('fails non-retryably for a missing context', async () => {
    await expectFailure(
      hashBuildContext({ contextDir: path.join(dir, 'nope') }),
      'SpecInvalid',
      true,
      /does not exist/,
    );
  });
});

describe('uploadBuildContext', () => {
  const { hashBuildContext, uploadBuildContext } = createBuildContextActivities(testDeps());

  it('uploads a reproducible zip under the content-addressed key', async () => {
    s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});
    const { sourceHash } = await hashBuildContext({ contextDir: dir });
    const input = { contextDir: dir, sourceHash, bucket: 'b', keyPrefix: 'pipelines/p/build-contexts/' };
    expect(await uploadBuildContext(input)).toEqual({
      bucket: 'b',
      key: `pipelines/p/build-contexts/${sourceHash}.zip`,
      uploaded: true,
    });
    await utimes(path.join(dir, 'Dockerfile'), new Date(2005, 1, 1), new Date(2005, 1, 1));
    await uploadBuildContext(input);
    const bodies = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Body as Buffer);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]?.equals(bodies[1] as Buffer)).toBe(true);
    expect(bodies[0]?.subarray(0, 2).toString()).toBe('PK');
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'b',
      Key: `pipelines/p/build-contexts/${sourceHash}.zip`,
      Metadata: { 'source-hash': sourceHash },
    });
  });

  it('skips the upload when the object already exists (a retried attempt)', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 10 });
    expect(
      await uploadBuildContext({ contextDir: dir, sourceHash: '0123456789abcdef', bucket: 'b', keyPrefix: 'k/' }),
    ).toEqual({ bucket: 'b', key: 'k/0123456789abcdef.zip', uploaded: false });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('refuses to store a context whose hash no longer matches', async () => {
    s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
    await expectFailure(
      uploadBuildContext({ contextDir: dir, sourceHash: '0000000000000000', bucket: 'b', keyPrefix: '' }),
      'SpecInvalid',
      true,
      /changed/,
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('classifies throttling as retryable and access denied as not', async () => {
    s3.on(HeadObjectCommand).rejects(throttled());
    await expectFailure(
      uploadBuildContext({ contextDir: dir, sourceHash: 'x', bucket: 'b', keyPrefix: '' }),
      'AwsTransient',
      false,
      /HeadObject s3:\/\/b\/x.zip/,
    );
    s3.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
    s3.on(PutObjectCommand).rejects(accessDenied());
    const { sourceHash } = await hashBuildContext({ contextDir: dir });
    await expectFailure(
      uploadBuildContext({ contextDir: dir, sourceHash, bucket: 'b', keyPrefix: '' }),
      'AccessDenied',
      true,
    );
  });
});
