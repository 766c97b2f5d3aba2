// Node 24 sizes each young-generation semi-space at up to 64 MiB (Node 20: 16 MiB); a busy worker keeps it all
// committed, which took the 1,000-pipeline worker past 1 GiB RSS (bench/results/worker-capacity.md). Both ways a
// production worker starts (the image's ENTRYPOINT and `npm run worker`) must start node with worker/node-flags.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WORKER_NODE_FLAGS } from '../../../worker/node-flags';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MiB = 2 ** 20;

/** The node options of the worker image's ENTRYPOINT: the arguments between `node` and the script. */
function entrypointNodeFlags(): string[] {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'deploy/worker.Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  if (!line?.[1]) throw new Error('deploy/worker.Dockerfile has no ENTRYPOINT in exec form');
  const argv = JSON.parse(line[1]) as string[];
  return argv.slice(argv.indexOf('node') + 1, argv.indexOf('worker/main.ts'));
}

/** What `npm run worker` passes to tsx (which hands node options on to node) before the script. */
function npmWorkerFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const argv = (pkg.scripts.worker ?? '').split(/\s+/);
  return argv.slice(argv.indexOf('tsx') + 1, argv.indexOf('worker/main.ts'));
}

/** The young generation (MiB) of a node started with `flags`: the heap limit beyond a fixed old generation. */
function youngGenerationMiB(flags: string[]): number {
  const oldMiB = 1024;
  const out = execFileSync(
    process.execPath,
    [
      ...flags,
      `--max-old-space-size=${oldMiB}`,
      '-e',
      'console.log(require("v8").getHeapStatistics().heap_size_limit)',
    ],
    { encoding: 'utf8' },
  );
  return Number(out.trim()) / MiB - oldMiB;
}

describe("the worker process's node flags", () => {
  it('are passed by the worker image and by npm run worker', () => {
    expect(entrypointNodeFlags()).toEqual(expect.arrayContaining([...WORKER_NODE_FLAGS]));
    expect(npmWorkerFlags()).toEqual(expect.arrayContaining([...WORKER_NODE_FLAGS]));
  });

  it("cap the image worker's young generation at Node 20's size (two 16 MiB semi-spaces and a new large-object space)", () => {
    const flags = entrypointNodeFlags().filter((f) => f !== '--import' && f !== 'tsx');
    expect(youngGenerationMiB(flags)).toBeLessThanOrEqual(3 * 16);
  });
});
