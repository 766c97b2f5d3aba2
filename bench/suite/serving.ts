/**
 * `npm run bench -- serving [--rates 0.5,1,2,4] [--seconds 30] [--slo-p99-s S] [--device cpu|gpu] [--slots N]
 * [--mms-workers N] [--out FILE]`: jaxsm `serve` (continuous batching, streaming) vs AWS's sagemaker-inference toolkit
 * on Multi Model Server, same handler and model, under open-loop Poisson load. The measuring is done by
 * bench/container/serving_bench.py (it writes bench/results/serving.md and serving.json); this wrapper sets up its
 * anchor's venv once (bench/container/setup_mms.sh), passes the arguments through, and appends the verdict against
 * the bars.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../local/stack/config';
import type { Command } from 'commander';
import { positiveInt, positiveNumber } from '../../worker/command-line';

export const about =
  'jaxsm serve vs sagemaker-inference on Multi Model Server (same handler and model): open-loop rate sweep, ' +
  'throughput at a p99 SLO, streaming TTFT';

const PYTHON = path.join(REPO_ROOT, 'container/.venv/bin/python');
const SCRIPT = path.join(REPO_ROOT, 'bench/container/serving_bench.py');
const SETUP = path.join(REPO_ROOT, 'bench/container/setup_mms.sh');
const MMS_VENV = path.join(REPO_ROOT, 'bench/.venvs/mms');
/** The setup script and the pins it reads: when either changes, the venv is set up again. */
const STAMP = path.join(MMS_VENV, '.setup-hash');
const THROUGHPUT_BAR = 3;
const TTFT_BAR = 2;
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
      'Multi Model Server (the anchor) needs a Java runtime on PATH (Java 17 works: apt-get install ' +
        'openjdk-17-jre-headless); jaxsm itself does not',
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
    `setting up ${path.relative(REPO_ROOT, MMS_VENV)} (multi-model-server, sagemaker-inference, the JAX stack ` +
      `from PyPI; once, a few minutes)`,
  );
  execFileSync('bash', [SETUP], { stdio: 'inherit' });
  fs.writeFileSync(STAMP, `${hash}\n`);
}

interface ServerSummary {
  capacity_rate: number | null;
  capacity_rps: number | null;
  capacity_p99_s: number | null;
  capacity_ttft_p99_s: number | null;
  idle_ttft_s: number;
}

/** What serving_bench.py wrote beside the table (serving.json). */
interface BenchSummary {
  slo_p99_s: number;
  load_start: string;
  load_end: string;
  servers: Record<string, ServerSummary>;
  throughput_ratio?: number;
  ttft_ratio?: number;
}

/** The bar verdict from serving_bench.py's summary. */
export function verdict(s: BenchSummary): string {
  const ours = s.servers.jaxsm;
  const mms = s.servers.mms;
  const slo = `p99 <= ${s.slo_p99_s.toFixed(2)} s`;
  const tput =
    s.throughput_ratio === undefined
      ? `throughput at the SLO (${slo}): not comparable (capacity jaxsm ${ours?.capacity_rate ?? 'none'}/s, ` +
        `MMS ${mms?.capacity_rate ?? 'none'}/s)`
      : `throughput at the SLO (${slo}): ${s.throughput_ratio.toFixed(1)}x MMS (${ours?.capacity_rps?.toFixed(2)} ` +
        `vs ${mms?.capacity_rps?.toFixed(2)} req/s) → the ${THROUGHPUT_BAR}x bar is ` +
        `${s.throughput_ratio >= THROUGHPUT_BAR ? 'met' : 'NOT met'}`;
  const ttft =
    s.ttft_ratio === undefined
      ? 'streaming TTFT: no jaxsm rate met the SLO'
      : `streaming TTFT p99 at capacity ${s.ttft_ratio.toFixed(1)}x one unbatched prefill → the ${TTFT_BAR}x bar is ` +
        `${s.ttft_ratio <= TTFT_BAR ? 'met' : 'NOT met'}`;
  return (
    `**Bars** (appended by \`npm run bench -- serving\`; load average ${s.load_start} → ${s.load_end}): ` +
    `${tput}; ${ttft}.`
  );
}

/** The bench's options, passed on to bench/container/serving_bench.py. */
export function options(cmd: Command): Command {
  return cmd
    .option('--rates <list>', 'request rates per second (Poisson arrivals), ascending, comma-separated')
    .option('--seconds <s>', 'arrival window per rate', positiveNumber)
    .option('--slo-p99-s <s>', "p99 latency SLO (default 3 x MMS's idle median)", positiveNumber)
    .option('--device <cpu|gpu>', 'where the servers run', 'cpu')
    .option('--slots <n>', "JAXSM_SLOTS for jaxsm (default: the server's own)", positiveInt)
    .option('--mms-workers <n>', 'MMS workers (default: one per CPU, as MMS does)', positiveInt)
    .option('--servers <list>', 'which servers to run (both for the bars)')
    .option('--out <file>', 'results table', path.join(REPO_ROOT, 'bench/results/serving.md'));
}

/** Options as serving_bench.py takes them. */
interface ServingOptions {
  rates?: string;
  seconds?: number;
  sloP99S?: number;
  device: string;
  slots?: number;
  mmsWorkers?: number;
  servers?: string;
  out: string;
}

export async function run(opts: ServingOptions): Promise<void> {
  if (!fs.existsSync(PYTHON))
    throw new Error(`${PYTHON} missing: run \`bash scripts/bootstrap.sh\` (it creates container/.venv)`);
  ensureMms();
  const out = path.resolve(REPO_ROOT, opts.out);
  const passed = ['--device', opts.device, '--out', out];
  const optional: [string, string | number | undefined][] = [
    ['--rates', opts.rates],
    ['--seconds', opts.seconds],
    ['--slo-p99-s', opts.sloP99S],
    ['--slots', opts.slots],
    ['--mms-workers', opts.mmsWorkers],
    ['--servers', opts.servers],
  ];
  for (const [flag, value] of optional) if (value !== undefined) passed.push(flag, String(value));
  const res = spawnSync(PYTHON, [SCRIPT, ...passed], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`serving_bench.py exited with ${res.status ?? res.signal}`);
  const md = fs.readFileSync(out, 'utf8');
  const summary = (JSON.parse(fs.readFileSync(out.replace(/\.md$/, '.json'), 'utf8')) as { summary: BenchSummary })
    .summary;
  const line = verdict(summary);
  fs.writeFileSync(out, `${md.replace(/\n+$/, '')}\n\n${line}\n`);
  say(line);
}
