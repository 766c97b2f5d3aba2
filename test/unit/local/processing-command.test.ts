/**
 * How both executors run a Processing job's AppSpecification: podman with `--entrypoint` and the arguments after the
 * image (as SageMaker runs `docker run --entrypoint`), the process executor with the image venv's programs and
 * /opt/ml paths moved into the host's tree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostNames, podmanRunArgs } from '../../../local/service/executors/container';
import { processCommand } from '../../../local/service/executors/process';

const image = { ref: 'f00d', pull: false };
const base = { name: 'sm-abc-p_algo-1', stack: 'abc', entry: 'prepare' as const, baseDir: '/s/p/algo-1' };

test('podman: ContainerEntrypoint replaces the image entrypoint, ContainerArguments follow the image', () => {
  const args = podmanRunArgs({
    ...base,
    image,
    env: {},
    hosts: [],
    stopTimeoutS: 120,
    command: { entrypoint: ['prepare', '--source'], args: ['builtin'] },
  });
  expect(args.slice(-4)).toEqual(['--entrypoint', '["prepare","--source"]', 'f00d', 'builtin']);
  // Without an entrypoint the image's own runs, with the arguments as its command.
  const plain = podmanRunArgs({
    ...base,
    image,
    env: {},
    hosts: [],
    stopTimeoutS: 120,
    command: { args: ['prepare'] },
  });
  expect(plain.slice(-2)).toEqual(['f00d', 'prepare']);
  expect(plain).not.toContain('--entrypoint');
});

test('process: programs of the image venv run from it; /opt/ml paths point into the host tree', () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-'));
  for (const p of ['prepare', 'python3']) fs.writeFileSync(path.join(bin, p), '');
  expect(processCommand({ entrypoint: ['prepare'], args: ['--source', 'builtin'] }, bin, '/h')).toEqual({
    bin: path.join(bin, 'prepare'),
    args: ['--source', 'builtin'],
  });
  expect(
    processCommand({ entrypoint: ['python3', '/opt/ml/processing/input/code/run.py'], args: ['--x'] }, bin, '/h'),
  ).toEqual({ bin: path.join(bin, 'python3'), args: ['/h/processing/input/code/run.py', '--x'] });
  // No entrypoint: the image's entrypoint dispatches on the first argument (its CMD, `train`, when there is none).
  expect(processCommand({ args: ['prepare', '--max-bytes', '10'] }, bin, '/h')).toEqual({
    bin: path.join(bin, 'prepare'),
    args: ['--max-bytes', '10'],
  });
  expect(processCommand({}, bin, '/h').bin).toBe(path.join(bin, 'train'));
  // Anything else runs as given (found on PATH, or at its path).
  expect(processCommand({ entrypoint: ['/bin/sh', '-c', 'exit 3'] }, bin, '/h')).toEqual({
    bin: '/bin/sh',
    args: ['-c', 'exit 3'],
  });
});

test('hostNames reads a Processing host resourceconfig.json from /opt/ml/config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-'));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(
    path.join(dir, 'config', 'resourceconfig.json'),
    JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1', 'algo-2'] }),
  );
  expect(hostNames(dir)).toEqual(['algo-1', 'algo-2']);
});
