/**
 * Activities that ask Temporal about runs (through the worker's own client, bound to its namespace): which earlier
 * executions share this run's workflow ID, so a re-run knows it must start fresh resources.
 */
import { Context } from '@temporalio/activity';
import {
  type EarlierRun,
  FindEarlierRunsInput,
  type FindEarlierRunsOutput,
  MAX_EARLIER_RUNS,
} from '../contracts/rerun';
import { parseInput } from './input';

/** A string literal for a visibility query. */
export function visibilityString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Activities about this run's own workflow executions. */
export function createWorkflowRunActivities() {
  return {
    /**
     * Closed executions with this workflow ID other than this run's own chain, newest first. Visibility may lag a
     * just-closed run by a second; a re-run is started by a person or CI long after the run it repeats failed.
     */
    async findEarlierRuns(raw: FindEarlierRunsInput): Promise<FindEarlierRunsOutput> {
      const input = parseInput(FindEarlierRunsInput, raw, 'findEarlierRuns');
      const own = new Set([input.runId, input.firstExecutionRunId]);
      const runs: EarlierRun[] = [];
      const listed = Context.current().client.workflow.list({
        query: `WorkflowId = ${visibilityString(input.workflowId)}`,
        pageSize: 50,
      });
      for await (const w of listed) {
        if (own.has(w.runId) || w.status.name === 'RUNNING') continue;
        runs.push({
          runId: w.runId,
          status: w.status.name,
          startTime: w.startTime.toISOString(),
          closeTime: w.closeTime?.toISOString() ?? null,
        });
      }
      runs.sort((a, b) => (a.startTime < b.startTime ? 1 : -1));
      return { runs: runs.slice(0, MAX_EARLIER_RUNS) };
    },
  };
}
