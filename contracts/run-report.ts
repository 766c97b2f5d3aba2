/**
 * The run report (one self-contained HTML page per run, beside the run's artefacts in S3) and the actual spend it
 * computes: the writeRunReport activity's input and output, where the page goes, and when a run counts as overspent.
 */
import { z } from 'zod';

/** Actual spend above estimate × this factor flags a run when neither the spec nor the CLI names another factor. */
export const DEFAULT_OVERSPEND_FACTOR = 1;

/** Input of the writeRunReport activity: which run, where its page goes, and the overspend factor. */
export const WriteRunReportInput = z.strictObject({
  workflowId: z.string().min(1),
  /** The run to report; the activity reads its history (each step's completion result) and its jobs. */
  runId: z.string().min(1),
  bucket: z.string().min(3),
  key: z.string().min(1).max(1024),
  overspendFactor: z.number().positive().default(DEFAULT_OVERSPEND_FACTOR),
  /** The summary the pipeline is about to return: the report of a run still open reads it instead of its result. */
  summary: z.record(z.string(), z.unknown()).optional(),
});
/** Input of the writeRunReport activity. */
export type WriteRunReportInput = z.input<typeof WriteRunReportInput>;

/** What the pipeline's result and memo carry about the report: its address and the run's actual spend. */
export const RunReportRef = z.strictObject({
  s3Uri: z.string(),
  actualSpendUsd: z.number(),
  estimatedMaxSpendUsd: z.number(),
  overspendFactor: z.number(),
  /** True when the actual spend passed the estimate × overspendFactor. */
  overspent: z.boolean(),
});
/** Output of the writeRunReport activity. */
export type RunReportRef = z.infer<typeof RunReportRef>;

/** The memo key under which a finished run keeps its RunReportRef (read by `cli list` without a worker). */
export const REPORT_MEMO = 'report';

/** The report's S3 key: under the pipeline's prefix, one folder per run (a re-run's key differs by its run key). */
export function runReportKey(pipelineName: string, workflowId: string, runKey?: string): string {
  return `pipelines/${pipelineName}/reports/${workflowId}${runKey ? `-${runKey}` : ''}/report.html`;
}

/** True when `actualUsd` passes `estimateUsd` × `factor`. */
export function isOverspent(actualUsd: number, estimateUsd: number, factor: number): boolean {
  return actualUsd > estimateUsd * factor;
}

/** USD for `seconds` of `instances` instances at `usdPerHour`, to 1/100 cent (a short job costs under a cent). */
export function billedUsd(seconds: number, instances: number, usdPerHour: number): number {
  return Math.round(((seconds * instances * usdPerHour) / 3600) * 10000) / 10000;
}
