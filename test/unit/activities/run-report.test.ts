import { parseMetricLines, type RunReportData } from '../../../activities/run-report/gather';
import { renderReportHtml } from '../../../activities/run-report/render';
import { spendCell } from '../../../worker/commands/list';

const DEFINITIONS = [
  { Name: 'step', Regex: 'step=([0-9]+) train_loss=' },
  { Name: 'train_loss', Regex: 'train_loss=([-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?)' },
  { Name: 'val_loss', Regex: 'val_loss=([-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?)' },
];

function report(trials: number, overrides: Partial<RunReportData> = {}): RunReportData {
  const names = Array.from({ length: trials }, (_, i) => `job-${i + 1}`);
  return {
    workflowId: 'wf',
    runId: 'r',
    workflowType: 'migrationPipeline',
    startedAt: '2026-12-07T10:00:00.000Z',
    closedAt: '2026-12-07T10:05:00.000Z',
    outcome: 'deployed',
    objective: { metric: 'val_loss', type: 'Minimize' },
    steps: [
      {
        step: 'trainModel',
        state: 'Completed',
        startedAt: '2026-12-07T10:00:00.000Z',
        closedAt: '2026-12-07T10:02:00.000Z',
      },
      {
        step: 'tuneModel',
        state: 'Completed',
        startedAt: '2026-12-07T10:02:00.000Z',
        closedAt: '2026-12-07T10:04:00.000Z',
      },
    ],
    trials: names.map((name, i) => ({
      name,
      source: 'tuning',
      status: 'Completed',
      tuned: { learning_rate: String(0.001 * (i + 1)) },
      objective: 3 - i * 0.1,
      billableSeconds: 60,
      instanceType: 'ml.m5.xlarge',
      instanceCount: 1,
      actualUsd: 0.01,
    })),
    curves: names.flatMap((trial, i) =>
      [10, 20, 30].map((step) => ({ trial, metric: 'val_loss', step, value: 4 - step / 100 - i / 10 })),
    ),
    tunedParameters: [{ name: 'learning_rate', kind: 'continuous', scale: 'Logarithmic' }],
    bestTrial: names.at(-1) ?? null,
    evaluation: {
      champion: names.at(-1) ?? null,
      championObjective: 2.7,
      previousChampion: null,
      previousObjective: null,
      evalNll: null,
      approvalStatus: 'Approved',
    },
    spend: [{ item: 'tuning', actualUsd: 0.04, estimateUsd: 3, basis: '4 trials' }],
    actualSpendUsd: 0.04,
    estimatedMaxSpendUsd: 3,
    overspendFactor: 1,
    overspent: false,
    priceTableDate: '2025-06-01',
    notes: [],
    ...overrides,
  };
}

/** The SVG of one chart of the page. */
function chart(html: string, name: string): string {
  const start = html.indexOf(`data-chart="${name}"`);
  expect(start).toBeGreaterThan(0);
  return html.slice(start, html.indexOf('</svg>', start));
}

describe('run report', () => {
  it('reads metric curves from log lines with the MetricDefinitions, on the step axis', () => {
    const points = parseMetricLines(
      'job-1',
      [
        'starting',
        'step=10 train_loss=3.5 val_loss=3.6 tokens_per_sec=100',
        'step=20 train_loss=3.1 val_loss=nan',
        'final val_loss=3.0',
      ],
      DEFINITIONS,
    );
    expect(points).toEqual([
      { trial: 'job-1', metric: 'train_loss', step: 10, value: 3.5 },
      { trial: 'job-1', metric: 'val_loss', step: 10, value: 3.6 },
      { trial: 'job-1', metric: 'train_loss', step: 20, value: 3.1 },
      // A line with no step is placed by its ordinal among the metric lines.
      { trial: 'job-1', metric: 'val_loss', step: 3, value: 3.0 },
    ]);
  });

  it('draws one curve per trial and the sweep with the best trial marked', async () => {
    const html = await renderReportHtml(report(4));
    expect(chart(html, 'curves').match(/aria-roledescription="line mark"/g)).toHaveLength(4);
    const sweep = chart(html, 'sweep');
    expect(sweep.match(/aria-roledescription="point"/g)).toHaveLength(4);
    expect(sweep).toContain('best trial');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('flags a run whose actual spend passed its estimate × the factor, in the page and in `list`', async () => {
    const over = report(1, { actualSpendUsd: 5, overspent: true, overspendFactor: 1.5 });
    expect(await renderReportHtml(over)).toMatch(
      /data-overspent="true">Actual spend \$5\.00 passed the estimate \$3\.00 × 1\.5/,
    );
    expect(await renderReportHtml(report(1))).not.toMatch(/data-overspent/);
    expect(
      spendCell({ s3Uri: 's3://b/k', actualSpendUsd: 5, estimatedMaxSpendUsd: 3, overspendFactor: 1, overspent: true }),
    ).toBe('$5.00 of $3.00 OVERSPENT');
    expect(spendCell(undefined)).toBe('-');
  });
});
