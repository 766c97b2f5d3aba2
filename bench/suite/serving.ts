/**
 * `npm run bench -- serving [--seconds 10] [--levels 1,8,32,128] [--mms-workers N] [--out FILE]`: jaxsm `serve` vs
 * AWS's sagemaker-inference toolkit on Multi Model Server, same handler and model. The measuring is done by
 * bench/container/serving_bench.py (it writes bench/results/serving.md); this wrapper sets up its anchor's venv once
 * (bench/container/setup_mms.sh), passes the arguments through, and appends the verdict against the bars.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../local/stack/config';
import type { Command } from 'commander';
import { positiveInt, positiveNumber } from '../../worker/command-line';

export const about =
  'jaxsm serve vs sagemaker-inference on Multi Model Server (same handler and model): req/s and p99 per concurrency, /ping ready';

const PYTHON = path.join(REPO_ROOT, 'container/.venv/bin/python');
const SCRIPT = path.join(REPO_ROOT, 'bench/container/serving_bench.py');
const SETUP = path.join(REPO_ROOT, 'bench/container/setup_mms.sh');
const MMS_VENV = path.join(REPO_ROOT, 'bench/.venvs/mms');
/** The setup script and the pins it reads: when either changes, the venv is set up again. */
const STAMP = path.join(MMS_VENV, '.setup-hash');
const READY_BAR_S = 15;
const THROUGHPUT_BAR = 3;
const say = (m: string) => console.log(`[serving] ${m}`);

function setupHash(): string {
  const h = createHash('sha256');
  for (const f of [SETUP, path.join(REPO_ROOT, 'container/requirements.lock')]) h.update(fs.readFileSync(f));
  return h.digest('hex');
}

/** Runs setup_mms.sh unless the venv was set up by the same script and pins; says what is missing when it cannot. */
function ensureMms(): void {
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      'Multi Model Server (the anchor) needs a Java runtime on PATH (Java 17 works: apt-get install openjdk-17-jre-headless); jaxsm itself does not',
    );
  }
  const hash = setupHash();
  if (
    fs.existsSync(path.join(MMS_VENV, 'bin/multi-model-server')) &&
    fs.existsSync(STAMP) &&
    fs.readFileSync(STAMP, 'utf8').trim() === hash
  )
    return;
  say(
    `setting up ${path.relative(REPO_ROOT, MMS_VENV)} (multi-model-server, sagemaker-inference, the JAX stack from PyPI; once, a few minutes)`,
  );
  execFileSync('bash', [SETUP], { stdio: 'inherit' });
  fs.writeFileSync(STAMP, `${hash}\n`);
}

/** The bar verdict from the table serving_bench.py wrote. */
function verdict(md: string): string {
  const ready = /Ready: jaxsm ([\d.]+) s, MMS ([\d.]+) s/.exec(md);
  const rows = md
    .split('\n')
    .filter((l) => /^\| \d+ \|/.test(l))
    .map((l) =>
      l
        .split('|')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .map((c) => ({
      clients: Number(c[0]),
      rps: Number(c[1]),
      p99: Number(c[3]),
      mmsRps: Number(c[4]),
      mmsP99: Number(c[6]),
      errors: c[8] ?? '?',
    }));
  // "At the same p99": only levels where jaxsm's p99 is no worse than MMS's count toward the throughput bar.
  const fair = rows.filter((r) => r.p99 <= r.mmsP99 && r.mmsRps > 0);
  const best = fair.reduce<(typeof rows)[number] | undefined>(
    (a, r) => (!a || r.rps / r.mmsRps > a.rps / a.mmsRps ? r : a),
    undefined,
  );
  const met = fair.filter((r) => r.rps / r.mmsRps >= THROUGHPUT_BAR).map((r) => r.clients);
  const readyText = ready
    ? `/ping ready (first successful invocation) ${ready[1]} s → ${Number(ready[1]) <= READY_BAR_S ? 'within' : 'over'} the ${READY_BAR_S} s bar`
    : 'ready time not found in the table';
  const tputText = best
    ? `throughput ratio at a p99 no worse than MMS's: best ${(best.rps / best.mmsRps).toFixed(1)}x at ${best.clients} clients (non-200 responses jaxsm/MMS there: ${best.errors}); the ${THROUGHPUT_BAR}x bar is ${met.length ? `met at ${met.join(', ')} clients` : 'not met at any level'} (levels compared: ${fair.map((r) => r.clients).join(', ')})`
    : 'no level where jaxsm p99 <= MMS p99';
  return `**Bars** (appended by \`npm run bench -- serving\`): ${readyText}; ${tputText}.`;
}

/** The bench's options, passed on to bench/container/serving_bench.py. */
export function options(cmd: Command): Command {
  return cmd
    .option('--seconds <s>', 'seconds per load level', positiveNumber, 10)
    .option('--levels <list>', 'concurrent clients per level, comma-separated', '1,8,32,128')
    .option('--mms-workers <n>', 'MMS workers (default: one per CPU, as MMS does)', positiveInt)
    .option('--out <file>', 'results table', path.join(REPO_ROOT, 'bench/results/serving.md'));
}

export async function run(opts: { seconds: number; levels: string; mmsWorkers?: number; out: string }): Promise<void> {
  if (!fs.existsSync(PYTHON))
    throw new Error(`${PYTHON} missing: run \`bash scripts/bootstrap.sh\` (it creates container/.venv)`);
  ensureMms();
  const out = path.resolve(REPO_ROOT, opts.out);
  const passed = ['--seconds', String(opts.seconds), '--levels', opts.levels, '--out', out];
  if (opts.mmsWorkers !== undefined) passed.push('--mms-workers', String(opts.mmsWorkers));
  const res = spawnSync(PYTHON, [SCRIPT, ...passed], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`serving_bench.py exited with ${res.status ?? res.signal}`);
  const md = fs.readFileSync(out, 'utf8');
  const line = verdict(md);
  fs.writeFileSync(out, `${md.replace(/\n+$/, '')}\n\n${line}\n`);
  say(line);
}
