/**
 * `npm run bench -- p4de-model [--gemm-efficiency 0.75] [--nodes 1,2,4] [--grad-accum 1,4] [--out FILE]`: predicted
 * step time and MFU of the 6.45 B recipe on 1, 2 and 4 x ml.p4de.24xlarge, before and after issue 22's trainer
 * changes. bench/container/p4de_model.py compiles the trainer's step for 8, 16 and 32 simulated CPU devices and
 * turns the compiled program's matmul FLOPs and collective bytes (per mesh axis) into a step time with published
 * A100, NVLink and EFA figures; it writes bench/results/p4de-model.md. No GPU needed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { REPO_ROOT } from '../../local/stack/config';
import { positiveNumber } from '../../worker/command-line';

export const about =
  'p4de step-time and MFU model (1, 2, 4 nodes) from the compiled train step on simulated CPU devices, before/after';

const PYTHON = path.join(REPO_ROOT, 'container/.venv/bin/python');
const SCRIPT = path.join(REPO_ROOT, 'bench/container/p4de_model.py');

/** The bench's options, passed on to bench/container/p4de_model.py. */
export function options(cmd: Command): Command {
  return cmd
    .option('--gemm-efficiency <share>', 'share of the bf16 peak the matmuls sustain (an assumption)', positiveNumber)
    .option('--nodes <list>', 'node counts, comma-separated', '1,2,4')
    .option('--grad-accum <list>', 'grad_accum values, comma-separated', '1,4')
    .option('--out <file>', 'results table', path.join(REPO_ROOT, 'bench/results/p4de-model.md'));
}

/** Options as p4de_model.py takes them. */
interface ModelOptions {
  gemmEfficiency?: number;
  nodes: string;
  gradAccum: string;
  out: string;
}

export async function run(opts: ModelOptions): Promise<void> {
  if (!fs.existsSync(PYTHON))
    throw new Error(`${PYTHON} missing: run \`bash container/setup.sh\` (it creates container/.venv)`);
  const passed = ['--nodes', opts.nodes, '--grad-accum', opts.gradAccum, '--out', path.resolve(REPO_ROOT, opts.out)];
  if (opts.gemmEfficiency !== undefined) passed.push('--gemm-efficiency', String(opts.gemmEfficiency));
  const res = spawnSync(PYTHON, [SCRIPT, ...passed], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`p4de_model.py exited with ${res.status ?? res.signal}`);
}
