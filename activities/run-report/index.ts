/**
 * The writeRunReport activity: gathers a run's report (its history through the worker's own Temporal client, its
 * jobs from SageMaker and CloudWatch Logs), renders the page and puts it in S3 beside the run's artefacts. It
 * overwrites the same key each time, so a retry or a second call is harmless.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { type RunReportRef, WriteRunReportInput } from '../../contracts/run-report';
import { aws } from '../aws-errors';
import type { ActivityDeps } from '../deps';
import { parseInput } from '../input';
import { gatherRunReport, type ReportClients, type RunReportData } from './gather';
import { readRunHistory } from './history';
import { renderReportHtml } from './render';

/** Gathers and renders the report of a run: the page and what it shows (the CLI's `report` and the activity). */
export async function buildRunReport(
  client: Client,
  clients: ReportClients,
  workflowId: string,
  options: { runId?: string; overspendFactor?: number; summary?: Record<string, unknown> } = {},
): Promise<{ html: string; data: RunReportData }> {
  const run = await readRunHistory(client, workflowId, options.runId);
  const data = await gatherRunReport(run, clients, options);
  return { html: await renderReportHtml(data), data };
}

/** The run report activity. */
export function createRunReportActivities(deps: ActivityDeps) {
  return {
    /** Writes the run's report page to S3; returns its address and the run's actual spend. */
    async writeRunReport(raw: WriteRunReportInput): Promise<RunReportRef> {
      const input = parseInput(WriteRunReportInput, raw, 'writeRunReport');
      const { html, data } = await buildRunReport(Context.current().client, deps.clients, input.workflowId, {
        runId: input.runId,
        overspendFactor: input.overspendFactor,
        summary: input.summary,
      });
      await aws(`PutObject s3://${input.bucket}/${input.key}`, () =>
        deps.clients.s3.send(
          new PutObjectCommand({
            Bucket: input.bucket,
            Key: input.key,
            Body: html,
            ContentType: 'text/html; charset=utf-8',
          }),
        ),
      );
      return {
        s3Uri: `s3://${input.bucket}/${input.key}`,
        actualSpendUsd: data.actualSpendUsd,
        estimatedMaxSpendUsd: data.estimatedMaxSpendUsd,
        overspendFactor: data.overspendFactor,
        overspent: data.overspent,
      };
    },
  };
}
