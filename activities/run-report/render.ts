/**
 * The run report as one self-contained HTML page: Vega-Lite specs compiled and rendered to static SVG in Node (vega
 * and vega-lite, BSD-3-Clause), inlined with small tables, no script and no external resource, so the page opens
 * offline, in a mail attachment or from S3 alike.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { RunReportData } from './gather';

/** The charts of a report, each a Vega-Lite spec (kept so tests and the page can name them). */
export type ChartName = 'curves' | 'sweep' | 'evaluation' | 'timeline' | 'spend';

const WIDTH = 560;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Renders a Vega-Lite spec to an SVG document string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One line per trial of the objective's curve (or, without it, the first metric the logs carry), per metric. */
export function curvesSpec(data: RunReportData): TopLevelSpec | null {
  if (data.curves.length === 0) return null;
  const metrics = [...new Set(data.curves.map((c) => c.metric))];
  const wanted = ['train_loss', data.objective?.metric].filter((m): m is string => !!m && metrics.includes(m));
  const shown = wanted.length ? [...new Set(wanted)] : metrics.slice(0, 1);
  return {
    $schema: SCHEMA,
    data: { values: data.curves.filter((c) => shown.includes(c.metric)) },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: Math.floor(WIDTH / shown.length),
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
        color: {
          field: 'trial',
          type: 'nominal',
          title: 'trial',
          legend: { orient: 'bottom', columns: 1, labelLimit: 600 },
        },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Objective against each tuned hyperparameter, one panel each; the best trial drawn as a larger red diamond. */
export function sweepSpec(data: RunReportData): TopLevelSpec | null {
  const trials = data.trials.filter((t) => t.source === 'tuning' && t.objective !== null);
  if (trials.length === 0 || data.tunedParameters.length === 0) return null;
  const metric = data.objective?.metric ?? 'objective';
  const panels = data.tunedParameters.map((p) => {
    const values = trials.map((t) => ({
      trial: t.name,
      value: p.kind === 'categorical' ? (t.tuned[p.name] ?? '') : Number(t.tuned[p.name]),
      objective: t.objective,
      best: t.name === data.bestTrial ? 'best trial' : 'trial',
    }));
    return {
      width: Math.max(180, Math.floor(WIDTH / data.tunedParameters.length)),
      height: 220,
      data: { values },
      mark: { type: 'point', filled: true, size: 90 },
      encoding: {
        x: {
          field: 'value',
          type: p.kind === 'categorical' ? 'nominal' : 'quantitative',
          title: p.name,
          ...(p.kind !== 'categorical' ? { scale: p.scale === 'Logarithmic' ? { type: 'log' } : { zero: false } } : {}),
        },
        y: { field: 'objective', type: 'quantitative', title: metric, scale: { zero: false } },
        color: {
          field: 'best',
          type: 'nominal',
          title: null,
          scale: { domain: ['trial', 'best trial'], range: ['#4c78a8', '#e45756'] },
        },
        shape: {
          field: 'best',
          type: 'nominal',
          scale: { domain: ['trial', 'best trial'], range: ['circle', 'diamond'] },
        },
        size: { condition: { test: "datum.best === 'best trial'", value: 260 }, value: 80 },
        tooltip: [{ field: 'trial' }, { field: 'objective' }],
      },
    };
  });
  return { $schema: SCHEMA, hconcat: panels } as TopLevelSpec;
}

/** The champion's objective beside the previously approved version's (and the evaluation's eval_nll). */
export function evaluationSpec(data: RunReportData): TopLevelSpec | null {
  const e = data.evaluation;
  const bars: { model: string; measure: string; value: number }[] = [];
  const metric = data.objective?.metric ?? 'objective';
  if (e.championObjective !== null)
    bars.push({ model: 'this run’s champion', measure: metric, value: e.championObjective });
  if (e.previousObjective !== null)
    bars.push({ model: 'previous champion', measure: metric, value: e.previousObjective });
  if (e.evalNll !== null)
    bars.push({ model: 'this run’s champion', measure: 'eval_nll (Batch Transform)', value: e.evalNll });
  if (bars.length === 0) return null;
  return {
    $schema: SCHEMA,
    data: { values: bars },
    width: WIDTH - 160,
    mark: 'bar',
    encoding: {
      y: { field: 'model', type: 'nominal', title: null },
      x: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'model', type: 'nominal', legend: null },
      row: { field: 'measure', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** The steps on a time axis, from the history's start and close events. */
export function timelineSpec(data: RunReportData): TopLevelSpec | null {
  if (data.steps.length === 0) return null;
  const end = data.closedAt ?? new Date().toISOString();
  return {
    $schema: SCHEMA,
    data: { values: data.steps.map((s) => ({ ...s, closedAt: s.closedAt ?? end })) },
    width: WIDTH,
    mark: 'bar',
    encoding: {
      y: { field: 'step', type: 'nominal', sort: null, title: null },
      x: { field: 'startedAt', type: 'temporal', title: null, axis: { format: '%H:%M:%S' } },
      x2: { field: 'closedAt' },
      color: { field: 'state', type: 'nominal', title: 'state' },
    },
  } as TopLevelSpec;
}

/**
 * Spend per item: the jobs' actual beside the cost guard's worst-case estimate, as points on a log axis (they differ
 * by orders of magnitude, and a bar has no base on a log scale).
 */
export function spendSpec(data: RunReportData): TopLevelSpec | null {
  const values = data.spend.flatMap((s) => [
    ...(s.actualUsd !== null ? [{ item: s.item, kind: 'actual', usd: Math.max(s.actualUsd, 0.0001) }] : []),
    { item: s.item, kind: 'estimate (worst case)', usd: Math.max(s.estimateUsd, 0.0001) },
  ]);
  if (values.length === 0) return null;
  return {
    $schema: SCHEMA,
    data: { values },
    width: WIDTH - 120,
    height: { step: 28 },
    mark: { type: 'point', filled: true, size: 140 },
    encoding: {
      y: { field: 'item', type: 'nominal', title: null },
      x: { field: 'usd', type: 'quantitative', title: 'USD (log scale)', scale: { type: 'log' } },
      color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
      shape: { field: 'kind', type: 'nominal', title: null },
      tooltip: [{ field: 'item' }, { field: 'kind' }, { field: 'usd' }],
    },
  } as TopLevelSpec;
}

const escape = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Dollars to the cent, and to 1/100 cent below a dollar (a short local or test job costs less than a cent). */
const usd = (n: number | null): string => (n === null ? '-' : `$${n.toFixed(Math.abs(n) < 1 && n !== 0 ? 4 : 2)}`);

function table(head: string[], rows: (string | number | null)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escape(c ?? '-')}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

async function section(
  id: ChartName,
  title: string,
  spec: TopLevelSpec | null,
  empty: string,
  extra = '',
): Promise<string> {
  const chart = spec
    ? `<div class="chart" data-chart="${id}">${await renderSvg(spec)}</div>`
    : `<p class="empty">${escape(empty)}</p>`;
  return `<section id="${id}"><h2>${escape(title)}</h2>${chart}${extra}</section>`;
}

/** The whole page. */
export async function renderReportHtml(data: RunReportData): Promise<string> {
  const trialsOfCurves = new Set(data.curves.map((c) => c.trial));
  const flag = data.overspent
    ? `<p class="flag" data-overspent="true">Actual spend ${usd(data.actualSpendUsd)} passed the estimate ${usd(
        data.estimatedMaxSpendUsd,
      )} × ${data.overspendFactor}.</p>`
    : '';
  const sections = [
    await section(
      'curves',
      `Training curves (${trialsOfCurves.size} jobs)`,
      curvesSpec(data),
      'No metric lines were found in the jobs’ logs.',
    ),
    await section(
      'sweep',
      `Tuning sweep: ${data.objective ? `${data.objective.metric} (${data.objective.type})` : 'objective'} against each tuned hyperparameter`,
      sweepSpec(data),
      'No tuning trials with an objective.',
      data.bestTrial ? `<p>Best trial: <b>${escape(data.bestTrial)}</b></p>` : '',
    ),
    await section(
      'evaluation',
      'Evaluation against the previous champion',
      evaluationSpec(data),
      'No champion was registered.',
      `<p>Champion ${escape(data.evaluation.champion ?? '-')}; previous approved version ${escape(
        data.evaluation.previousChampion ?? 'none',
      )}; approval ${escape(data.evaluation.approvalStatus ?? '-')}.</p>`,
    ),
    await section('timeline', 'Step timeline', timelineSpec(data), 'No step has started.'),
    await section(
      'spend',
      `Spend: actual ${usd(data.actualSpendUsd)} against the cost guard’s worst case ${usd(data.estimatedMaxSpendUsd)}`,
      spendSpec(data),
      'No spend estimate (the spec did not validate).',
      table(
        ['item', 'actual', 'estimate (worst case)', 'estimate basis'],
        data.spend.map((s) => [
          s.item,
          s.actualUsd === null ? 'not counted (runs on after the run)' : usd(s.actualUsd),
          usd(s.estimateUsd),
          s.basis,
        ]),
      ) +
        table(
          [
            'training job',
            'source',
            'status',
            'instances',
            'billable s',
            'actual',
            data.objective?.metric ?? 'objective',
          ],
          data.trials.map((t) => [
            t.name,
            t.source,
            t.status,
            `${t.instanceCount} × ${t.instanceType}`,
            t.billableSeconds,
            usd(t.actualUsd),
            t.objective,
          ]),
        ) +
        `<p class="note">Actual: BillableTimeInSeconds × InstanceCount × the on-demand price (contracts/cost.ts, table of ${escape(
          data.priceTableDate,
        )}); Processing and Batch Transform jobs by their run time. Managed spot savings are already in BillableTimeInSeconds.</p>`,
    ),
  ];
  const notes = data.notes.length
    ? `<section id="notes"><h2>Not shown</h2><ul>${data.notes.map((n) => `<li>${escape(n)}</li>`).join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Run ${escape(data.workflowId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.flag{background:#fde2e1;border:1px solid #e45756;padding:8px;font-weight:bold}.note,.empty{color:#666}
</style></head><body>
<h1>Run ${escape(data.workflowId)}</h1>
<p>${escape(data.workflowType)} run ${escape(data.runId)}; started ${escape(data.startedAt)}${
    data.closedAt ? `, closed ${escape(data.closedAt)}` : ', still open'
  }${data.outcome ? `; outcome <b>${escape(data.outcome)}</b>` : ''}.</p>
${data.message ? `<p>${escape(data.message)}</p>` : ''}
<p>Actual spend <b data-actual-spend="${data.actualSpendUsd}">${usd(data.actualSpendUsd)}</b>; the cost guard's worst case ${usd(
    data.estimatedMaxSpendUsd,
  )}.</p>
${flag}
${sections.join('\n')}
${notes}
</body></html>
`;
}
