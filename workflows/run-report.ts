/**
 * The last thing a pipeline run does (v6, PATCH.runReport): write its report page to S3 beside its artefacts, and put
 * the page's address and the run's actual spend into its result, its memo (`cli list` reads it without a worker)
 * and the Temporal UI's current details. A report that cannot be written does not fail a run that did its work.
 */
import { isCancellation, log, patched, setCurrentDetails, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { PipelineSummary, RunRef } from '../contracts/pipeline-plan';
import type { PipelineSpec } from '../contracts/pipeline-spec';
import { REPORT_MEMO, runReportKey } from '../contracts/run-report';
import { quickActivities } from './activity-options';
import { PATCH } from './patches';

/** Writes the run's report and records it in `summary` (and the memo); runs recorded before v6 skip it. */
export async function attachRunReport(spec: PipelineSpec, summary: PipelineSummary, run: RunRef): Promise<void> {
  if (!patched(PATCH.runReport)) return;
  const { workflowId, runId } = workflowInfo();
  const key = runReportKey(spec.pipelineName, workflowId, typeof run === 'string' ? undefined : run.runKey);
  try {
    const report = await quickActivities().writeRunReport.executeWithOptions(
      {
        startToCloseTimeout: '10m',
        // A report that keeps failing is given up after a few tries: the run's work is done either way.
        retry: { initialInterval: '5s', maximumAttempts: 5 },
        summary: `Write the run report to s3://${spec.bucket}/${key}`,
      },
      [
        {
          workflowId,
          runId,
          bucket: spec.bucket,
          key,
          overspendFactor: spec.costGuard.overspendFactor,
          summary: summary as unknown as Record<string, unknown>,
        },
      ],
    );
    summary.report = report;
    upsertMemo({ [REPORT_MEMO]: report });
    setCurrentDetails(
      `Report: ${report.s3Uri}\n\nActual spend $${report.actualSpendUsd.toFixed(2)} of a worst case ` +
        `$${report.estimatedMaxSpendUsd.toFixed(2)}${report.overspent ? ` (OVERSPENT: above × ${report.overspendFactor})` : ''}.`,
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn(`The run report could not be written: ${(err as Error).message}`);
  }
}
