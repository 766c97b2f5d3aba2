/** The pure parts of the container executor and the podman builder: image-URI mapping, podman arguments, settings. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needsPodman, stackConfig } from '../../../local/stack/config';
import { ContainerExecutor, hostNames, podmanRunArgs } from '../../../local/service/executors/container';
import { type ImageIndex, parseImageUri, resolveLocalImage } from '../../../local/service/executors/image-ref';
import { containerName, stackId } from '../../../local/service/executors/podman';
import { waitUntil } from '../../../local/shared/procs';
import { registryConfig } from '../../../local/stack/launcher';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageUri', () => {
  test.each([
    [`${ECR}/jax-lm@${DIGEST}`, { registry: ECR, repository: 'jax-lm', tag: undefined, digest: DIGEST }],
    [`${ECR}/team/jax-lm:abc123`, { registry: ECR, repository: 'team/jax-lm', tag: 'abc123', digest: undefined }],
    ['127.0.0.1:5000/jax-lm:v1', { registry: '127.0.0.1:5000', repository: 'jax-lm', tag: 'v1', digest: undefined }],
    ['localhost/jaxsm:cpu', { registry: 'localhost', repository: 'jaxsm', tag: 'cpu', digest: undefined }],
    ['jax:latest', { registry: undefined, repository: 'jax', tag: 'latest', digest: undefined }],
    ['library/jax', { registry: undefined, repository: 'library/jax', tag: undefined, digest: undefined }],
  ])('%s', (uri, want) => expect(parseImageUri(uri)).toEqual(want));
});

describe('resolveLocalImage', () => {
  const rec = { imageId: 'f00d', registryRef: `127.0.0.1:5056/jax-lm@${DIGEST}` };
  const index: ImageIndex = {
    byDigest: (d) => (d === DIGEST ? rec : undefined),
    digestOfTag: (r, t) => (r === 'jax-lm' && (t === 'src1' || t === 'latest') ? DIGEST : undefined),
  };
  const has =
    (...refs: string[]) =>
    (ref: string) =>
      refs.includes(ref);

  test('an ECR URI by digest runs the image the podman builder pushed under that digest', () => {
    expect(resolveLocalImage(`${ECR}/jax-lm@${DIGEST}`, index, has('f00d'))).toEqual({ ref: 'f00d', pull: false });
  });
  test('by tag, through the tag the build pushed; a bare repository means :latest', () => {
    expect(resolveLocalImage(`${ECR}/jax-lm:src1`, index, has('f00d'))).toEqual({ ref: 'f00d', pull: false });
    expect(resolveLocalImage(`${ECR}/jax-lm`, index, has('f00d'))).toEqual({ ref: 'f00d', pull: false });
  });
  test('an image removed from podman storage is pulled back from the local registry by digest', () => {
    expect(resolveLocalImage(`${ECR}/jax-lm@${DIGEST}`, index, has())).toEqual({ ref: rec.registryRef, pull: true });
  });
  test('an image podman already has is used as named', () => {
    expect(resolveLocalImage('localhost/jaxsm:cpu', index, has('localhost/jaxsm:cpu'))).toEqual({
      ref: 'localhost/jaxsm:cpu',
      pull: false,
    });
  });
  test('an unknown image is an error naming it', () => {
    expect(() => resolveLocalImage(`${ECR}/jax-lm:nope`, index, has())).toThrow(
      `image ${ECR}/jax-lm:nope is unknown to the local stack`,
    );
    expect(() => resolveLocalImage(`${ECR}/other@sha256:${'b'.repeat(64)}`, index, has())).toThrow(
      /other@sha256:b+ is unknown/,
    );
    expect(() => resolveLocalImage(undefined, index, has())).toThrow(/names no image/);
  });
});

describe('podmanRunArgs', () => {
  const base = {
    name: 'sm-abc-job_algo-1',
    stack: 'abc',
    entry: 'train' as const,
    baseDir: '/state/jobs/job/algo-1',
    stopTimeoutS: 120,
  };

  test(
    'runs the entry of the image with runc, host network, ' + '/opt/ml mounted, env, host names and the stack label',
    () => {
      const args = podmanRunArgs({
        ...base,
        image: { ref: 'f00d', pull: false },
        env: { B: '2', A: 'x=y' },
        hosts: ['algo-1', 'algo-2'],
      });
      expect(args).toEqual([
        'run',
        '--rm',
        '--replace',
        '--name',
        'sm-abc-job_algo-1',
        '--label',
        'jaxsm.local.stack=abc',
        '--runtime',
        'runc',
        '--network',
        'host',
        '--stop-timeout',
        '120',
        '--add-host',
        'algo-1:127.0.0.1',
        '--add-host',
        'algo-2:127.0.0.1',
        '-v',
        '/state/jobs/job/algo-1:/opt/ml',
        '-e',
        'A=x=y',
        '-e',
        'B=2',
        'f00d',
        'train',
      ]);
    },
  );
  test('an image to pull comes from the local (plain HTTP) registry', () => {
    const args = podmanRunArgs({
      ...base,
      entry: 'serve',
      image: { ref: '127.0.0.1:5056/r@sha256:x', pull: true },
      env: {},
      hosts: [],
    });
    expect(args.join(' ')).toContain('--pull missing --tls-verify=false');
    expect(args.slice(-2)).toEqual(['127.0.0.1:5056/r@sha256:x', 'serve']);
  });
});

test('hostNames reads the training hosts from resourceconfig.json; none for an endpoint', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hosts-'));
  expect(hostNames(dir)).toEqual([]);
  fs.mkdirSync(path.join(dir, 'input/config'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'input/config/resourceconfig.json'),
    JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1', 'algo-2', 'bad host;'] }),
  );
  expect(hostNames(dir)).toEqual(['algo-1', 'algo-2']);
});

test('container names are valid for podman, readable and differ between stacks', () => {
  expect(containerName('abc', 'my-ep/ep-1/AllTraffic/1')).toBe('sm-abc-my-ep_ep-1_AllTraffic_1');
  expect(stackId('/tmp/a/sagemaker')).not.toBe(stackId('/tmp/b/sagemaker'));
  expect(stackId('/tmp/a/sagemaker')).toMatch(/^[0-9a-f]{10}$/);
});

describe('stack config for containers', () => {
  test('the podman builder is the default exactly for the container executor; both can be overridden', () => {
    expect(stackConfig({}).builder).toBe('process');
    expect(stackConfig({ LOCAL_EXECUTOR: 'container' }).builder).toBe('podman');
    expect(stackConfig({ LOCAL_EXECUTOR: 'container', LOCAL_CODEBUILD_BUILDER: 'process' }).builder).toBe('process');
    expect(stackConfig({ LOCAL_CODEBUILD_BUILDER: 'podman' }).builder).toBe('podman');
    expect(() => stackConfig({ LOCAL_CODEBUILD_BUILDER: 'docker' })).toThrow(
      'LOCAL_CODEBUILD_BUILDER must be podman or process, got docker',
    );
    expect(() => stackConfig({ LOCAL_REGISTRY_PORT: 'x' })).toThrow('LOCAL_REGISTRY_PORT must be a port number');
  });
  test('only a stack with containers or podman builds needs podman and the registry', () => {
    expect(needsPodman(stackConfig({}))).toBe(false);
    expect(needsPodman(stackConfig({ LOCAL_EXECUTOR: 'container' }))).toBe(true);
    expect(needsPodman(stackConfig({ LOCAL_CODEBUILD_BUILDER: 'podman' }))).toBe(true);
  });
  test('the registry listens on 127.0.0.1 only and keeps its data in the state dir', () => {
    const yml = registryConfig({ ...stackConfig({}), stateDir: '/s', registryPort: 6001 });
    expect(yml).toContain('addr: 127.0.0.1:6001');
    expect(yml).toContain('rootdirectory: "/s/registry/data"');
  });
});

describe('ContainerExecutor (with a fake podman on PATH)', () => {
  const oldPath = process.env.PATH;
  let dir: string;
  let lines: string[];
  const calls = (): string[] => fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n');
  const start = () =>
    new ContainerExecutor(path.join(dir, 'pids'), 'stk', () => ({ ref: 'img-id', pull: false }), 30).start({
      entry: 'serve',
      baseDir: path.join(dir, 'base'),
      env: { SAGEMAKER_BIND_TO_PORT: '8080' },
      image: 'repo:tag',
      label: 'ep/1',
      onLine: (l) => lines.push(l),
    });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-podman-'));
    lines = [];
    process.env.PATH = `${path.resolve(__dirname, '../../fixtures/fake-podman')}:${oldPath ?? ''}`;
    process.env.FAKE_PODMAN_DIR = dir;
  });
  afterEach(() => {
    process.env.PATH = oldPath;
    delete process.env.FAKE_PODMAN_DIR;
    delete process.env.FAKE_PODMAN_EXIT;
  });

  test(
    'streams stdout and stderr, keeps a pid file while it ' + 'runs, and SIGTERM is `podman stop` (a drain: exit 0)',
    async () => {
      const h = start();
      await waitUntil(
        () => lines.includes('to stderr') && lines.includes('container started: serve'),
        10_000,
        'container output',
      );
      expect(fs.readFileSync(path.join(dir, 'pids', 'ep_1.pid'), 'utf8').trim()).toBe(String(h.pid));
      h.kill('SIGTERM');
      expect(await h.exited).toEqual({ code: 0, signal: null });
      expect(calls()).toContain('stop --time 30 sm-stk-ep_1');
      expect(calls()[0]).toMatch(
        /^run --rm --replace --name sm-stk-ep_1 .* -e SAGEMAKER_BIND_TO_PORT=8080 img-id serve$/,
      );
      expect(fs.existsSync(path.join(dir, 'pids', 'ep_1.pid'))).toBe(false);
    },
  );

  test("SIGKILL is `podman kill --signal KILL`, and the exit code is the container's", async () => {
    const h = start();
    await waitUntil(() => lines.includes('container started: serve'), 10_000, 'container output');
    h.kill('SIGKILL');
    expect(await h.exited).toEqual({ code: 137, signal: null });
    expect(calls()).toContain('kill --signal KILL sm-stk-ep_1');
  });

  test(
    'a container that fails reports its own exit code (the ' + 'failure-file contract stays with the caller)',
    async () => {
      process.env.FAKE_PODMAN_EXIT = '3';
      expect(await start().exited).toEqual({ code: 3, signal: null });
    },
  );
});
