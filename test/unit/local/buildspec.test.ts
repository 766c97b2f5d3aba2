/**
 * The local CodeBuild's buildspec executor with plain shell commands (no podman): the file read as version 0.2, the
 * phases in CodeBuild's order in one shell environment, a failing command failing its phase with CodeBuild's status
 * code and message and the phase transitions after it, exported variables, and the artifacts' files and S3 keys.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { patternRegExp, selectArtifactFiles, uploadArtifacts } from '../../../local/service/codebuild/artifacts';
import { BuildspecError, loadBuildspec, parseBuildspec } from '../../../local/service/codebuild/buildspec';
import { BuildShell } from '../../../local/service/codebuild/build-shell';
import { runPhases } from '../../../local/service/codebuild/buildspec-run';
import { BuildspecBuild, readBuildspec } from '../../../local/service/codebuild/buildspec-build';
import type { Ctx } from '../../../local/service/core/context';

jest.setTimeout(60_000);

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'buildspec-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs `yaml` in a fresh build shell over `src`; returns the outcome and what the hooks saw. */
async function run(yaml: string, env: Record<string, string> = {}) {
  const src = path.join(work, 'src');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'buildspec.yml'), yaml);
  const spec = readBuildspec(src, work, undefined);
  const lines: string[] = [];
  const phases: { phase: string; status?: string; message?: string; code?: string }[] = [];
  // The environment a build gets (buildspec variables < the project's and StartBuild's < CodeBuild's own).
  const info = {
    id: 'p:1',
    arn: 'arn',
    buildNumber: 1,
    projectName: 'p',
    image: 'img',
    startTime: 0,
    logStream: 's',
    env,
  };
  const noop = { phase: () => undefined, endPhase: () => undefined, line: () => undefined };
  const ctx = { selfUrl: 'http://127.0.0.1:1' } as unknown as Ctx;
  const buildEnv = new BuildspecBuild(ctx, info, work, noop, async () => undefined).environment(spec, src);
  const shell = new BuildShell(path.join(work, 'shell'), src, buildEnv, spec.shell, (l) => lines.push(l));
  const outcome = await runPhases(spec, shell, {
    phase: (p) => phases.push({ phase: p }),
    endPhase: (status, message, code) => Object.assign(phases[phases.length - 1] as object, { status, message, code }),
    line: (l) => lines.push(l),
  });
  return { outcome, phases, lines, src };
}

describe('reading a buildspec', () => {
  test('version 0.2 with env, phases and artifacts is read with every scalar as written', () => {
    const spec = parseBuildspec({
      version: '0.2',
      env: { shell: 'bash', variables: { A: '1', ON: 'yes' }, 'exported-variables': ['OUT'] },
      phases: { build: { commands: ['echo hi'], finally: ['echo bye'], 'on-failure': 'CONTINUE' } },
      artifacts: { files: ['**/*'], 'discard-paths': 'yes', 'base-directory': 'dist' },
    });
    expect(spec.shell).toBe('bash');
    expect(spec.variables).toEqual({ A: '1', ON: 'yes' });
    expect(spec.exportedVariables).toEqual(['OUT']);
    expect(spec.phases.build).toEqual({ commands: ['echo hi'], finally: ['echo bye'], onFailure: 'CONTINUE' });
    expect(spec.artifacts).toEqual({ files: ['**/*'], discardPaths: true, baseDirectory: 'dist' });
  });

  test('the YAML file is parsed by the real loader: `version: 0.2` stays the string 0.2', () => {
    const file = path.join(work, 'b.yml');
    fs.writeFileSync(file, 'version: 0.2\nphases:\n  build:\n    commands:\n      - \'echo "a: b"\'\n');
    expect(loadBuildspec(file).phases.build?.commands).toEqual(['echo "a: b"']);
  });

  test("the project's container/buildspec.yml is a valid buildspec that exports the image's digest and URI", () => {
    const spec = loadBuildspec(path.join(__dirname, '../../../container/buildspec.yml'));
    expect(spec.exportedVariables).toEqual(['IMAGE_DIGEST', 'IMAGE_URI']);
    expect(spec.phases.build?.onFailure).toBe('ABORT');
    expect(spec.artifacts?.files).toContain('image.json');
  });

  test.each([
    [{ phases: {} }, /version is required/],
    [{ version: '0.1', phases: {} }, /version "0.1" is not served/],
    [{ version: '0.2', phases: { compile: { commands: ['x'] } } }, /unknown phase "compile"/],
    [{ version: '0.2', phases: { build: { commands: 'make' } } }, /phases\/build\/commands to be a list/],
    [{ version: '0.2', phases: { build: { commands: [['a']] } } }, /phases\/build\/commands\[0\] to be of string/],
    [{ version: '0.2', env: { variables: { CODEBUILD_X: '1' } } }, /CODEBUILD_ prefix is reserved/],
    [{ version: '0.2', artifacts: { name: 'x' } }, /artifacts\/files is required/],
  ])('a bad buildspec is a YAML_FILE_ERROR naming the key: %j', (doc, message) => {
    const err = (() => {
      try {
        parseBuildspec(doc);
      } catch (e) {
        return e as BuildspecError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(BuildspecError);
    expect(err.code).toBe('YAML_FILE_ERROR');
    expect(err.message).toMatch(message);
  });

  test('a missing buildspec file and invalid YAML say which file', () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    expect(() => readBuildspec(src, work, 'ci/buildspec.yml')).toThrow('stat ci/buildspec.yml: no such file');
    fs.writeFileSync(path.join(src, 'buildspec.yml'), 'version: 0.2\nphases: [a\n');
    expect(() => readBuildspec(src, work, undefined)).toThrow(/^Error parsing buildspec.yml: /);
    expect(() => readBuildspec(src, work, '../x.yml')).toThrow('outside the source directory');
  });

  test('an inline buildspec (the YAML itself in source.buildspec) is read as such', () => {
    const spec = readBuildspec(work, work, 'version: 0.2\nphases:\n  build:\n    commands: [echo inline]\n');
    expect(spec.phases.build?.commands).toEqual(['echo inline']);
  });
});

describe('running the phases', () => {
  test('phases run in order in one shell: variables, exports, the directory and `set -e` carry over', async () => {
    const { outcome, phases, lines } = await run(
      [
        'version: 0.2',
        'env:',
        '  variables:',
        '    GREETING: from-the-buildspec',
        '    FROM_PROJECT: overridden-by-the-project',
        '  exported-variables: [RESULT, NEVER_SET]',
        'phases:',
        '  post_build:',
        '    commands:',
        '      - echo "post $STEP $(pwd | xargs basename) build $CODEBUILD_BUILD_ID"',
        '      - RESULT="$STEP-$GREETING-$FROM_PROJECT"',
        '  install:',
        '    commands:',
        '      - set -eu',
        '      - STEP=installed',
        '  pre_build:',
        '    commands:',
        '      - mkdir -p sub && cd sub',
        '  build:',
        '    commands:',
        '      - echo "build $STEP in $(basename "$PWD") child sees $(sh -c \'echo $STEP\')"',
        '      - case $- in *e*) echo strict;; *) echo lax;; esac',
      ].join('\n'),
      { FROM_PROJECT: 'project' },
    );
    expect(phases.map((p) => [p.phase, p.status, p.message])).toEqual([
      ['INSTALL', 'SUCCEEDED', undefined],
      ['PRE_BUILD', 'SUCCEEDED', undefined],
      ['BUILD', 'SUCCEEDED', undefined],
      ['POST_BUILD', 'SUCCEEDED', undefined],
    ]);
    expect(lines).toContain('build installed in sub child sees installed');
    expect(lines).toContain('strict');
    expect(lines).toContain('post installed sub build p:1');
    expect(
      lines.some((l) => /^\[Container\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} Running command set -eu$/.test(l)),
    ).toBe(true);
    expect(outcome.failed).toBeUndefined();
    expect(outcome.uploadDue).toBe(true);
    expect(outcome.exported).toEqual([{ name: 'RESULT', value: 'installed-from-the-buildspec-project' }]);
  });

  test("a failing command fails its phase with CodeBuild's message; BUILD's failure still runs POST_BUILD", async () => {
    const { outcome, phases, lines } = await run(
      [
        'version: 0.2',
        'env:',
        '  exported-variables: [SEEN]',
        'phases:',
        '  build:',
        '    commands:',
        '      - echo before',
        '      - sh -c "exit 3"',
        '      - echo never',
        '    finally:',
        '      - echo cleanup',
        '  post_build:',
        '    commands:',
        '      - SEEN="succeeding=$CODEBUILD_BUILD_SUCCEEDING"',
      ].join('\n'),
    );
    expect(phases.map((p) => [p.phase, p.status])).toEqual([
      ['INSTALL', 'SUCCEEDED'],
      ['PRE_BUILD', 'SUCCEEDED'],
      ['BUILD', 'FAILED'],
      ['POST_BUILD', 'SUCCEEDED'],
    ]);
    const build = phases[2];
    expect(build?.code).toBe('COMMAND_EXECUTION_ERROR');
    expect(build?.message).toBe('Error while executing command: sh -c "exit 3". Reason: exit status 3');
    expect(lines).toContain('before');
    expect(lines).toContain('cleanup');
    expect(lines).not.toContain('never');
    expect(outcome.failed).toEqual({
      phase: 'BUILD',
      code: 'COMMAND_EXECUTION_ERROR',
      message: 'Error while executing command: sh -c "exit 3". Reason: exit status 3',
    });
    // Artifacts are still uploaded after a failed BUILD, as CodeBuild does.
    expect(outcome.uploadDue).toBe(true);
    expect(outcome.exported).toEqual([{ name: 'SEEN', value: 'succeeding=0' }]);
  });

  test('a failed PRE_BUILD ends the build: no BUILD, no POST_BUILD, no artifacts', async () => {
    const { outcome, phases } = await run(
      [
        'version: 0.2',
        'phases:',
        '  pre_build:',
        '    commands:',
        '      - set -e',
        '      - test -n "$REPOSITORY_URI"',
        '  build:',
        '    commands: [echo build]',
      ].join('\n'),
    );
    expect(phases.map((p) => [p.phase, p.status])).toEqual([
      ['INSTALL', 'SUCCEEDED'],
      ['PRE_BUILD', 'FAILED'],
    ]);
    expect(outcome.failed?.message).toBe(
      'Error while executing command: test -n "$REPOSITORY_URI". Reason: exit status 1',
    );
    expect(outcome.uploadDue).toBe(false);
  });

  test('on-failure: ABORT ends the build after BUILD; CONTINUE goes on and the build still fails', async () => {
    const abort = await run(
      'version: 0.2\nphases:\n  build:\n    on-failure: ABORT\n    commands: [false]\n  post_build:\n    commands: [echo push]\n',
    );
    expect(abort.phases.map((p) => p.phase)).toEqual(['INSTALL', 'PRE_BUILD', 'BUILD']);
    expect(abort.outcome.uploadDue).toBe(false);
    expect(abort.lines).not.toContain('push');
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work);
    const cont = await run(
      'version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands: [exit 4]\n  build:\n    commands: [echo built]\n',
    );
    expect(cont.phases.map((p) => [p.phase, p.status])).toEqual([
      ['INSTALL', 'FAILED'],
      ['PRE_BUILD', 'SUCCEEDED'],
      ['BUILD', 'SUCCEEDED'],
      ['POST_BUILD', 'SUCCEEDED'],
    ]);
    expect(cont.lines).toContain('built');
    expect(cont.outcome.failed?.message).toBe('Error while executing command: exit 4. Reason: exit status 4');
  });

  test('AWS_ variables are not exported, as in CodeBuild', async () => {
    const { outcome, lines } = await run(
      'version: 0.2\nenv:\n  exported-variables: [AWS_X, OK]\nphases:\n  build:\n    commands: [AWS_X=1 OK=2]\n',
    );
    expect(outcome.exported).toEqual([{ name: 'OK', value: '2' }]);
    expect(lines.some((l) => l.includes('Skipping export of AWS_X'))).toBe(true);
  });
});

/** Reads a ZIP from stdin with Python's zipfile (neither our code nor the library that wrote it). */
const UNZIP_LISTING =
  'import io, json, sys, zipfile; z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())); ' +
  'print(json.dumps({n: z.read(n).decode() for n in z.namelist()}))';

describe('artifacts', () => {
  test('patterns: ** any depth, * within a segment', () => {
    expect(patternRegExp('**/*').test('a/b/c.txt')).toBe(true);
    expect(patternRegExp('*.json').test('image.json')).toBe(true);
    expect(patternRegExp('*.json').test('a/image.json')).toBe(false);
    expect(patternRegExp('dist/**/*.whl').test('dist/x.whl')).toBe(true);
  });

  test('files under base-directory, with discard-paths, go to <path>/<build id>/<name>/ in the bucket', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'out', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(src, 'out', 'image.json'), '{}');
    fs.writeFileSync(path.join(src, 'out', 'deep', 'report.txt'), 'r');
    fs.writeFileSync(path.join(src, 'other.txt'), 'o');
    const spec = { files: ['**/*'], baseDirectory: 'out', discardPaths: true };
    expect(selectArtifactFiles(path.join(src, 'out'), spec).map((f) => f.rel)).toEqual(['report.txt', 'image.json']);
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    const location = await uploadArtifacts({
      project: { type: 'S3', location: 'arts', path: 'builds', namespaceType: 'BUILD_ID', name: 'img' },
      spec,
      srcDir: src,
      buildId: 'proj:1234',
      projectName: 'proj',
      s3: new S3Client({ region: 'us-east-1' }),
      line: () => undefined,
    });
    expect(location).toBe('arn:aws:s3:::arts/builds/1234/img');
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      'builds/1234/img/report.txt',
      'builds/1234/img/image.json',
    ]);
    s3.restore();
  });

  test('ZIP packaging uploads one archive of the selected files, with their names and bytes', async () => {
    const src = path.join(work, 'zipsrc');
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(src, 'image.json'), '{"uri":"x"}');
    fs.writeFileSync(path.join(src, 'bin', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    await uploadArtifacts({
      project: { type: 'S3', location: 'arts', name: 'bundle.zip', packaging: 'ZIP' },
      spec: { files: ['**/*'], discardPaths: false },
      srcDir: src,
      buildId: 'proj:1',
      projectName: 'proj',
      s3: new S3Client({ region: 'us-east-1' }),
      line: () => undefined,
    });
    const [put] = s3.commandCalls(PutObjectCommand);
    expect(put?.args[0].input.Key).toBe('bundle.zip');
    const listing = execFileSync('python3', ['-c', UNZIP_LISTING], { input: put?.args[0].input.Body as Buffer });
    expect(JSON.parse(listing.toString())).toEqual({ 'bin/run.sh': '#!/bin/sh\n', 'image.json': '{"uri":"x"}' });
    s3.restore();
  });

  test('no matching file is CLIENT_ERROR "no matching artifact paths found"; NO_ARTIFACTS uploads nothing', async () => {
    const spec = { files: ['missing.json'], discardPaths: false };
    const base = {
      spec,
      srcDir: work,
      buildId: 'p:1',
      projectName: 'p',
      s3: new S3Client({ region: 'us-east-1' }),
      line: () => undefined,
    };
    await expect(uploadArtifacts({ ...base, project: { type: 'S3', location: 'b' } })).rejects.toMatchObject({
      code: 'CLIENT_ERROR',
      message: 'no matching artifact paths found',
    });
    await expect(uploadArtifacts({ ...base, project: { type: 'NO_ARTIFACTS' } })).resolves.toBeUndefined();
  });
});
