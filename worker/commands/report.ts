/**
 * `npm run cli -- report <run>`: writes the run's report page (trial curves, the tuning sweep, the evaluation against
 * the previous champion, the step timeline, spend actual against estimate) to a local file. It reads the run's
 * history and its jobs, so it works for open and closed runs with no worker running.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { buildRunReport } from '../../activities/run-report';
import type { ReportClients } from '../../activities/run-report/gather';
import { CommandFailure } from '../command-line';

/** Options of `report`. */
export interface ReportOptions {
  /** Where the page goes (default: run-report-<run>.html in the working directory). */
  out?: string;
  /** Flag the run above estimate × this (default: the spec's costGuard.overspendFactor). */
  overspendFactor?: number;
  runId?: string;
}

/** The default file name of a run's report: the workflow ID with path separators replaced. */
export function defaultReportFile(workflowId: string): string {
  return `run-report-${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.html`;
}

/** Writes the report; returns the lines to print (the file's path first). */
export async function reportCommand(
  client: Client,
  aws: ReportClients,
  workflowId: string,
  o: ReportOptions = {},
): Promise<string[]> {
  let built;
  try {
    built = await buildRunReport(client, aws, workflowId, o);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CommandFailure(`report: no run ${workflowId} in namespace ${client.options.namespace}`);
    throw err;
  }
  const file = resolve(o.out ?? defaultReportFile(workflowId));
  writeFileSync(file, built.html);
  const d = built.data;
  const lines = [
    `report of ${workflowId}: ${file}`,
    `  ${d.trials.length} training job(s), ${new Set(d.curves.map((c) => c.trial)).size} with curves; ` +
      `actual spend $${d.actualSpendUsd.toFixed(2)} of a worst case $${d.estimatedMaxSpendUsd.toFixed(2)}` +
      (d.overspent ? ` (OVERSPENT: above the estimate × ${d.overspendFactor})` : ''),
  ];
  for (const n of d.notes) lines.push(`  not shown: ${n}`);
  return lines;
}
