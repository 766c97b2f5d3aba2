/**
 * Worker kills: the full local pipeline (migrationPipeline with the harness's tiny spec: image build, publish, data
 * sync, 4-host training, 4-trial tuning, auto-approved registration, deploy) while the worker is SIGKILLed at seeded
 * random moments in every step and restarted. Each run must create exactly one training job, one tuning job, one
 * package version and one endpoint create/update; the first run builds the image once, later runs reuse it.
 */
import { PIPELINE_STEPS, type PipelineStepName } from '../../../contracts/pipeline-plan';
import { sleep } from '../../../local/shared/procs';
import { LocalHarness } from '../../../testing/local-harness';
import { writeResult } from '../../lib/results';
import { runRetries, retriesCell } from '../lib/history-retries';
import {
  currentPhase,
  deployCell,
  outcomeCell,
  outcomeOf,
  type Phase,
  say,
  startPipeline,
} from '../lib/pipeline-watch';
import {
  diff,
  exactlyOnePerStep,
  ledger,
  ledgerAfter,
  type Ledger,
  RESOURCE_COLUMNS,
  resourceCells,
} from '../lib/resource-ledger';
import { KillableWorker } from '../lib/worker-pool';
import type { Command } from 'commander';
import { positiveInt } from '../../../worker/command-line';
import { mulberry32 } from '../../../local/shared/random';

export const about =
  'SIGKILL the worker at 20 seeded moments spread over every step of 2 (or more, until all 20 land) full ' +
  'pipeline runs (create, then blue/green updates); one AWS resource per step per run';

/** Upper bound of the seeded delay after a step starts before the kill (ms): roughly the step's length on 2 cores. */
const MAX_DELAY_MS: Record<PipelineStepName, number> = {
  buildImage: 3_000,
  publishImage: 200,
  syncData: 300,
  prepareData: 5_000,
  trainModel: 10_000,
  tuneModel: 20_000,
  evaluateModel: 8_000,
  registerModel: 200,
  deployModel: 15_000,
};

/** Runs beyond --runs allowed for kills that did not land before their run ended. */
const EXTRA_RUNS = 2;

/** Steps long enough to take a second kill in one run. */
const LONG_STEPS: PipelineStepName[] = ['trainModel', 'tuneModel', 'deployModel'];

interface Kill {
  run: number;
  target: PipelineStepName;
  /** The phase the status query showed just before the kill ('unknown' while no worker answered). */
  hit: Phase;
}

/** The campaign's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'seed of the kill moments', positiveInt, 1)
    .option('--kills <n>', 'worker kills in all', positiveInt, 20)
    .option('--runs <n>', 'runs the kills are spread over (more while kills are left)', positiveInt, 2)
    .option('--no-anchor', 'skip the run without kills');
}

export async function run(opts: { seed: number; kills: number; runs: number; anchor: boolean }): Promise<void> {
  const seed = opts.seed;
  const totalKills = opts.kills;
  const maxRuns = opts.runs;
  const anchor = opts.anchor;
  const random = mulberry32(seed);
  const tag = 'worker-kills';
  const h = await LocalHarness.start({ prefix: 'chaos-kills' });
  let ok = false;
  try {
    const worker = await KillableWorker.start(h, `chaos-kills-${process.pid}`);
    const kills: Kill[] = [];
    const rows: (string | number)[][] = [];
    const failures: string[] = [];
    /** One full pipeline run with `want` kills spread over its steps (0: the anchor run), adding its row. */
    const runOnce = async (r: number, want: number): Promise<void> => {
      const targets = want > 0 ? [...PIPELINE_STEPS] : [];
      while (targets.length > want) targets.splice(Math.floor(random() * targets.length), 1);
      while (targets.length < want)
        targets.push(LONG_STEPS[Math.floor(random() * LONG_STEPS.length)] as PipelineStepName);
      targets.sort((a, b) => PIPELINE_STEPS.indexOf(a) - PIPELINE_STEPS.indexOf(b));
      const delays = targets.map((t) => Math.round(random() * MAX_DELAY_MS[t]));

      const workflowId = `chaos-kills-s${seed}-r${r}-${Date.now().toString(36)}`;
      // A package group per run: auto approval approves its first version, so every run deploys (create, then updates).
      const spec = h.spec((s) => {
        s.registry.modelPackageGroup = `chaos-kills-r${r}`;
      });
      const before: Ledger = ledger(h);
      const started = Date.now();
      say(
        tag,
        `run ${r} (${workflowId}): kills planned in ` +
          `${targets.map((t, i) => `${t}+${(delays[i] as number) / 1000}s`).join(', ') || 'none'}`,
      );
      const handle = await startPipeline(h, worker.taskQueue, workflowId, spec);
      let finished = false;
      const outcome = outcomeOf(handle, started).finally(() => (finished = true));
      const runKills: Kill[] = [];
      let lastPhase: Phase = 'starting';
      for (const [i, target] of targets.entries()) {
        // Wait for the target step (or a later one: the target was too short to catch).
        for (;;) {
          if (finished) break;
          const p = await currentPhase(h, workflowId);
          if (p !== 'unknown' && p !== lastPhase) {
            say(tag, `run ${r}: ${p}`);
            lastPhase = p;
          }
          const at = PIPELINE_STEPS.indexOf(p as PipelineStepName);
          if (at >= PIPELINE_STEPS.indexOf(target) || p === 'done') break;
          await sleep(150);
        }
        if (finished) break;
        await sleep(delays[i] as number);
        if (finished) break;
        const hit = await currentPhase(h, workflowId);
        await worker.killAndRestart();
        const k: Kill = { run: r, target, hit };
        kills.push(k);
        runKills.push(k);
        say(tag, `run ${r}: kill ${kills.length}/${totalKills} (aimed at ${target}, hit ${hit}); worker restarted`);
      }
      const o = await outcome;
      const got = diff(before, await ledgerAfter(h));
      const retries = await runRetries(h, workflowId);
      const okRun = exactlyOnePerStep(
        got,
        { outcome: o.summary?.outcome, endpointAction: o.summary?.endpoint?.action },
        r === 1,
      );
      if (!okRun) failures.push(`run ${r}: ${outcomeCell(o)}; resources ${JSON.stringify(got)}`);
      const byStep = PIPELINE_STEPS.map((s) => runKills.filter((k) => k.hit === s).length);
      const other = runKills.filter((k) => !(PIPELINE_STEPS as readonly string[]).includes(k.hit)).length;
      rows.push([
        want > 0 ? r : `${r} (anchor: no kills)`,
        runKills.length,
        `${byStep.join('/')}${other ? ` (+${other} between steps)` : ''}`,
        deployCell(o),
        ...resourceCells(got, r === 1),
        `${retries.retries}: ${retriesCell(retries)}`,
        Math.round(o.seconds),
        okRun ? 'ok' : 'MISSED',
      ]);
      say(
        tag,
        `run ${r}: ${outcomeCell(o)} in ${o.seconds.toFixed(0)} s; ${JSON.stringify(got)}; retries ` +
          `${retriesCell(retries)}`,
      );
    };

    // A kill planned late in a run is lost when the run ends first (recovery got quicker than the seeded delay), so
    // up to EXTRA_RUNS more runs take what is left.
    for (let r = 1; r <= maxRuns + EXTRA_RUNS; r++) {
      // Spread what is left over the runs left; each run kills in step order, a seeded step left out when short.
      await runOnce(r, Math.ceil((totalKills - kills.length) / Math.max(1, maxRuns - r + 1)));
      if (kills.length >= totalKills && r >= maxRuns) break;
    }
    const killRuns = rows.length;
    // The anchor: one more blue/green run, same stack and worker, without kills.
    if (anchor) await runOnce(killRuns + 1, 0);
    if (kills.length < totalKills)
      failures.push(`only ${kills.length} of ${totalKills} kills landed in ${maxRuns + EXTRA_RUNS} runs`);
    const completed = rows.filter((row) => String(row[3]).startsWith('deployed')).length;
    const perStep = PIPELINE_STEPS.map((s) => `${s} ${kills.filter((k) => k.hit === s).length}`).join(', ');
    rows.push([
      'all',
      kills.length,
      perStep,
      `${completed}/${rows.length} deployed`,
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      failures.length ? 'MISSED' : 'ok',
    ]);
    writeResult({
      name: 'chaos-worker-kills',
      title:
        `Worker SIGKILLed ${kills.length} times over ${killRuns} full pipeline runs (seed ${seed}` +
        `)${anchor ? ', and one run without kills as the anchor' : ''}`,
      command:
        `npm run chaos -- worker-kills --seed ${seed}${totalKills !== 20 ? ` --kills ${totalKills}` : ''}` +
        `${maxRuns !== 2 ? ` --runs ${maxRuns}` : ''}${anchor ? '' : ' --no-anchor'}`,
      columns: [
        'run',
        'kills',
        `kills per step (${PIPELINE_STEPS.join('/')})`,
        'outcome',
        ...RESOURCE_COLUMNS,
        'activity retries',
        'run seconds',
        'check',
      ],
      rows,
      notes: [
        'Each kill SIGKILLs the worker process group at a seeded random delay after the target step shows in ' +
          'the pipeline\'s `status` query, then starts a new worker 1 s later on the same task queue. "kills per ' +
          'step" counts the step the status query showed just before the kill (a short step may be over before the ' +
          'delay ends; such kills land in a later step).',
        "Resources are counted from the local service's persisted state (`<stateDir>/sagemaker/state`) before " +
          'and after each run, and CreateEndpoint / UpdateEndpoint from its call counters (`GET /_local/stats`, ' +
          'successful calls). Target per run: 1 training job, 1 tuning job (4 trials), 1 package version, 1 ' +
          'endpoint config and exactly one successful CreateEndpoint (run 1) or UpdateEndpoint (later runs, ' +
          'blue/green); the image is built once (run 1) and reused after.',
        'Activity retries are attempts beyond the first, summed over the histories of the pipeline and its step ' +
          'workflows: mostly the attempt a kill interrupted, which the server retries only once it times out ' +
          '(heartbeat timeout 30 s for the waiting activities; the 20 s liveness heartbeat timeout for quick AWS ' +
          'calls such as ensureModelPackageGroup or allowSageMakerPull (contracts/liveness.ts; before it, their 2 ' +
          'min start-to-close); 2 min heartbeat for the context hash/upload and the data sync). The run time ' +
          'therefore grows with where the kills land, not with a fixed cost per kill; the anchor row is a ' +
          'blue/green run on the same stack and worker without kills (`--no-anchor` skips it).',
        `Each run uses its own model package group so auto-approval approves its first version and every run deploys.`,
      ],
    });
    if (failures.length) throw new Error(`worker-kills missed its target:\n${failures.join('\n')}`);
    ok = true;
  } finally {
    await h.stop(!ok);
  }
}
