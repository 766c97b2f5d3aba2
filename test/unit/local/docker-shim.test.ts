/**
 * The local CodeBuild's `docker` (shims/docker) without podman: what `docker build` hands the image script (the
 * buildspec's tag, Dockerfile and build args, with local mode's CPU-only and no-pull substitutions said in the log),
 * `docker login` as docker stores it, and the refusals a buildspec's `docker push` meets before it reaches the service.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../../local/stack/config';

const DOCKER = path.join(REPO_ROOT, 'local', 'service', 'codebuild', 'shims', 'docker');
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

let work: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-shim-'));
  // A stand-in for container/scripts/build-image.sh: records its arguments and the variables the shim sets.
  const script = path.join(work, 'build-image.sh');
  fs.writeFileSync(
    script,
    'printf "%s\\n" "$@" > "$OUT/args"\nprintf "%s|%s|%s|%s\\n" "$JAX_VARIANT" "$BASE_IMAGE" "$DOCKERFILE" "$PIP_FIND_LINKS" > "$OUT/env"\n',
  );
  fs.writeFileSync(path.join(work, 'tools.sh'), 'echo "[local] tools checked"\n');
  const toolEnv = path.join(work, 'tool-env.json');
  fs.writeFileSync(toolEnv, JSON.stringify({ PIP_FIND_LINKS: '/machine/wheels' }));
  env = {
    PATH: '/usr/bin:/bin',
    HOME: work,
    OUT: work,
    LOCAL_CODEBUILD_PYTHON: path.join(REPO_ROOT, '.venv', 'bin', 'python'),
    LOCAL_CODEBUILD_IMAGE_SCRIPT: script,
    LOCAL_CODEBUILD_TOOL_ENV: toolEnv,
    LOCAL_CODEBUILD_TOOLS_SCRIPT: path.join(work, 'tools.sh'),
    LOCAL_CODEBUILD_AGENT_URL: 'http://127.0.0.1:9/unused',
    LOCAL_CODEBUILD_AGENT_TOKEN: 't',
  };
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function docker(args: string[], input?: string) {
  const r = spawnSync(DOCKER, args, { env, cwd: work, input, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test("docker build passes the buildspec's tag, Dockerfile and build args; CUDA and public bases become local CPU", () => {
  fs.mkdirSync(path.join(work, 'ctx'));
  const r = docker([
    'build',
    '--build-arg',
    'JAX_VARIANT=cuda12',
    '--build-arg',
    'INSTALL_EFA=no',
    '-f',
    'ctx/Dockerfile.gpu',
    '-t',
    `${ECR}/repo:abc`,
    '-t',
    `${ECR}/repo:latest`,
    'ctx',
  ]);
  expect(r.status).toBe(0);
  expect(r.out).toContain('[local] tools checked');
  expect(r.out).toContain('JAX_VARIANT=cuda12 requested; local builds are CPU-only, building JAX_VARIANT=cpu');
  expect(r.out).toContain("the Dockerfile's default BASE_IMAGE cannot be pulled here (no public registry)");
  const args = fs.readFileSync(path.join(work, 'args'), 'utf8').trim().split('\n');
  expect(args).toEqual([
    `${ECR}/repo:abc`,
    path.join(work, 'ctx'),
    '--',
    '--build-arg',
    'INSTALL_EFA=no',
    '-t',
    `${ECR}/repo:latest`,
  ]);
  expect(fs.readFileSync(path.join(work, 'env'), 'utf8').trim()).toBe(
    `cpu|localhost/debian-python:bookworm-tini|${path.join(work, 'ctx', 'Dockerfile.gpu')}|/machine/wheels`,
  );
});

test('a local base image is honoured; unknown flags and a missing context fail as docker does', () => {
  fs.mkdirSync(path.join(work, 'ctx'));
  expect(docker(['build', '--build-arg', 'BASE_IMAGE=localhost/mine:1', '-t', 'x', 'ctx']).status).toBe(0);
  expect(fs.readFileSync(path.join(work, 'env'), 'utf8')).toContain('|localhost/mine:1|');
  const bad = docker(['build', '--squash', 'ctx']);
  expect(bad.status).toBe(125);
  expect(bad.err).toMatch(/^unknown flag: --squash/);
  expect(docker(['build', '-t', 'x']).err).toContain('"docker build" requires exactly 1 argument.');
});

test('docker login stores the credentials as docker does; push needs a login and an ECR reference', () => {
  const noLogin = docker(['push', `${ECR}/repo:abc`]);
  expect(noLogin.status).toBe(1);
  expect(noLogin.err.trim()).toBe('no basic auth credentials');
  const login = docker(['login', '--username', 'AWS', '--password-stdin', ECR], 'secret\n');
  expect(login.status).toBe(0);
  expect(login.out).toContain('Login Succeeded');
  const cfg = JSON.parse(fs.readFileSync(path.join(work, '.docker', 'config.json'), 'utf8'));
  expect(Buffer.from(cfg.auths[ECR].auth, 'base64').toString()).toBe('AWS:secret');
  expect(docker(['login', '-u', 'AWS', ECR]).err).toContain(
    'Cannot perform an interactive login from a non TTY device',
  );
  const hub = docker(['push', 'docker.io/library/x:1']);
  expect(hub.status).toBe(1);
  expect(hub.err).toContain('the local CodeBuild pushes to Amazon ECR only');
  // Logged in: the push goes to the build's agent; here nothing answers, and the shim says so.
  const unreachable = docker(['push', `${ECR}/repo:abc`]);
  expect(unreachable.status).toBe(1);
  expect(unreachable.out).toContain(`The push refers to repository [${ECR}/repo]`);
  expect(unreachable.err).toContain('the local CodeBuild service cannot be reached for the push');
});

test('podman that cannot be set up fails the docker command, saying why', () => {
  fs.writeFileSync(path.join(work, 'tools.sh'), 'echo "podman is not installed and this is not root" >&2; exit 1\n');
  fs.mkdirSync(path.join(work, 'ctx'));
  const r = docker(['build', '-t', 'x', 'ctx']);
  expect(r.status).toBe(1);
  expect(r.err).toContain("the local CodeBuild's docker needs podman, which could not be set up: podman is not");
});

test('subcommands local mode does not serve are refused naming what is served', () => {
  const r = docker(['compose', 'up']);
  expect(r.status).toBe(1);
  expect(r.err).toContain('docker compose is not served');
  expect(r.err).toContain('login, build, tag, push, inspect');
});
