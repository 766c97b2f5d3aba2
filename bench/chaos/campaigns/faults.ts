/**
 * Throttling and 5xx: the local service answers a share of SageMaker, SageMaker Runtime and CodeBuild calls with
 * ThrottlingException or HTTP 500 before doing anything (LOCAL_FAULTS). The full pipeline must still deploy, twice
 * (create, then blue/green update), with exactly one resource per step: a retried create re-attaches to what an
 * earlier attempt made, or makes it for the first time.
 */
import { writeResult } from '../../lib/results';
import { LocalHarness } from '../../../testing/local-harness';
import { runRetries, retriesCell } from '../lib/history-retries';
import { deployCell, followPhases, outcomeCell, outcomeOf, say, startPipeline } from '../lib/pipeline-watch';
import {
  callStats,
  diff,
  exactlyOnePerStep,
  faultsByOp,
  ledger,
  ledgerAfter,
  RESOURCE_COLUMNS,
  resourceCells,
} from '../lib/resource-ledger';
import { KillableWorker } from '../lib/worker-pool';
import type { Command } from 'commander';
import { nonNegativeNumber, positiveInt } from '../../../worker/command-line';

export const about =
  'inject ThrottlingException and HTTP 500 into 30% of local AWS calls; 2 full pipeline runs deploy with no duplicates';

/**
 * Splits a total fault share into LOCAL_FAULTS: half throttling, half 500s of the calls not throttled; plus lost
 * answers.
 */
export function faultSpec(share: number, lost = 0, seed?: number): string {
  const throttle = share / 2;
  const error500 = throttle / (1 - throttle);
  const lostPart = lost > 0 ? `,lost500:${lost}` : '';
  const seedPart = seed === undefined ? '' : `,seed:${seed}`;
  return `throttle:${throttle.toFixed(4)},error500:${error500.toFixed(4)}${lostPart}${seedPart}`;
}

/** The campaign's options. */
export function options(cmd: Command): Command {
  return cmd
    .option('--share <fraction>', 'share of calls that fail (throttling and 500s)', nonNegativeNumber, 0.3)
    .option('--runs <n>', 'pipeline runs', positiveInt, 2)
    .option('--lost <fraction>', 'share of calls done, then answered 500 ("lost answers")', nonNegativeNumber, 0)
    .option('--seed <n>', 'seed of the fault draws', positiveInt, 1);
}

export async function run(opts: { share: number; runs: number; lost: number; seed: number }): Promise<void> {
  const { share, runs, lost, seed } = opts;
  const tag = 'faults';
  const faults = faultSpec(share, lost, seed);
  const h = await LocalHarness.start({ prefix: 'chaos-faults', faults });
  let ok = false;
  try {
    const worker = await KillableWorker.start(h, `chaos-faults-${process.pid}`);
    const rows: (string | number)[][] = [];
    const failures: string[] = [];
    const perOp: Record<string, { calls: number; faults: number }> = {};
    for (let r = 1; r <= runs; r++) {
      const workflowId = `chaos-faults-r${r}-${Date.now().toString(36)}`;
      const spec = h.spec((s) => {
        s.registry.modelPackageGroup = `chaos-faults-r${r}`;
      });
      const before = ledger(h);
      const statsBefore = callStats(h);
      say(tag, `run ${r} (${workflowId}) with LOCAL_FAULTS=${faults}`);
      const handle = await startPipeline(h, worker.taskQueue, workflowId, spec);
      let finished = false;
      const outcome = outcomeOf(handle).finally(() => (finished = true));
      await followPhases(
        h,
        workflowId,
        () => finished,
        (p) => say(tag, `run ${r}: ${p}`),
      );
      const o = await outcome;
      const got = diff(before, await ledgerAfter(h));
      const byOp = faultsByOp(statsBefore, callStats(h));
      for (const [op, c] of Object.entries(byOp))
        perOp[op] = { calls: (perOp[op]?.calls ?? 0) + c.calls, faults: (perOp[op]?.faults ?? 0) + c.faults };
      const retries = await runRetries(h, workflowId);
      const okRun = exactlyOnePerStep(
        got,
        { outcome: o.summary?.outcome, endpointAction: o.summary?.endpoint?.action },
        r === 1,
      );
      // With lost answers, a retried create/update meets its own earlier success: count those the service saw.
      const lostCalls = Object.entries(callStats(h))
        .map(([op, c]) => [op, (c.lost ?? 0) - (statsBefore[op]?.lost ?? 0)] as const)
        .filter(([op, n]) => n > 0 && /\.(Create|Update|Start|Add|Put|Stop)/.test(op))
        .map(([op, n]) => `${op.split('.')[1]} x${n}`);
      if (!okRun) failures.push(`run ${r}: ${outcomeCell(o)}; resources ${JSON.stringify(got)}`);
      const faultsSeen = got.throttled + got.error500;
      rows.push([
        r,
        deployCell(o),
        ...resourceCells(got, r === 1),
        got.calls,
        `${got.throttled} + ${got.error500} (${((100 * faultsSeen) / Math.max(1, got.calls)).toFixed(0)}%)`,
        ...(lost > 0 ? [lostCalls.join(', ') || 'none'] : []),
        retries.retries,
        retriesCell(retries),
        Math.round(o.seconds),
        okRun ? 'ok' : 'MISSED',
      ]);
      say(
        tag,
        `run ${r}: ${outcomeCell(o)} in ${o.seconds.toFixed(0)} s; ${JSON.stringify(got)}; activity retries ` +
          `${retriesCell(retries)}`,
      );
    }
    const top = Object.entries(perOp)
      .sort((a, b) => b[1].faults - a[1].faults)
      .map(([op, c]) => `${op} ${c.faults}/${c.calls}`)
      .join(', ');
    writeResult({
      name: lost > 0 ? 'chaos-faults-lost' : 'chaos-faults',
      title:
        `Throttling and HTTP 500 on ${Math.round(share * 100)}% of local AWS ` +
        `calls${lost > 0 ? `, ${Math.round(lost * 100)}% of answers lost after the call took effect` : ''}: ` +
        `${rows.filter((row) => String(row[1]).startsWith('deployed')).length}/${runs} pipelines deployed`,
      command:
        `npm run chaos -- faults${share !== 0.3 ? ` --share ${share}` : ''}${runs !== 2 ? ` --runs ${runs}` : ''}` +
        `${lost > 0 ? ` --lost ${lost}` : ''} --seed ${seed}`,
      columns: [
        'run',
        'outcome',
        ...RESOURCE_COLUMNS,
        'calls to the local service',
        'injected throttles + 500s',
        ...(lost > 0 ? ['mutating calls done whose answer was lost'] : []),
        'activity retries',
        'retried activities',
        'run seconds',
        'check',
      ],
      rows,
      notes: [
        `LOCAL_FAULTS=${faults}: each SageMaker, SageMaker Runtime and CodeBuild call is answered ` +
          `ThrottlingException (HTTP 400) or InternalFailure (HTTP 500) with these shares, before the service does ` +
          `anything, so about ${Math.round(share * 100)}% of calls fail. moto (S3, ECR, CloudWatch, Logs, Auto ` +
          `Scaling) gets no faults.`,
        'Most faults are absorbed by the AWS SDK\'s own retries (3 attempts); "activity retries" are the ' +
          'attempts beyond the first in the Temporal histories of the pipeline and its steps, i.e. calls that ' +
          'failed 3 times in a row and were retried by Temporal with backoff (aws-errors.ts marks throttling and ' +
          '5xx retryable).',
        `Injected faults per operation (faults/calls, both runs): ${top || 'none'}.`,
        ...(lost > 0
          ? [
              `lost500:${lost}: that share of calls is carried out and then answered HTTP 500, so the worker ` +
                `retries a create, start or update that already happened; the pipeline must re-attach (the ` +
                `\`pipeline:workflow-id\` tag, CodeBuild's idempotency token, the update-requested tag on the ` +
                `endpoint) rather than fail or duplicate. Lost answers are not in the throttles + 500s column; the ` +
                `next column lists the mutating ones.`,
            ]
          : []),
        "Resources are counted from the local service's state and call counters before and after each run, as " +
          'in the worker-kills campaign: one training job, one tuning job (4 trials), one package version, one ' +
          'endpoint config and one successful CreateEndpoint (run 1) or UpdateEndpoint (run 2); the image is built ' +
          'once.',
      ],
    });
    if (failures.length) throw new Error(`faults missed its target:\n${failures.join('\n')}`);
    ok = true;
  } finally {
    await h.stop(!ok);
  }
}
