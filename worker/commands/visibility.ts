/** Listing runs by a visibility query for the operator commands, and turning a refused query into their error. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { CommandFailure, USAGE_ERROR } from '../command-line';

/** Up to `limit` runs matching `query`, and whether more matched; a refused query fails as `command`'s error. */
export async function listExecutions(
  client: Client,
  command: string,
  query: string,
  limit: number,
): Promise<{ runs: WorkflowExecutionInfo[]; more: boolean }> {
  const runs: WorkflowExecutionInfo[] = [];
  try {
    for await (const w of client.workflow.list({ query, pageSize: Math.min(limit + 1, 1000) })) {
      if (runs.length === limit) return { runs, more: true };
      runs.push(w);
    }
  } catch (err) {
    throw visibilityFailure(command, query, err);
  }
  return { runs, more: false };
}

/** A visibility error as a CommandFailure: a refused query (INVALID_ARGUMENT) is a usage error naming the query. */
export function visibilityFailure(command: string, query: string, err: unknown): CommandFailure {
  const e = err as { code?: number; message?: string; cause?: { code?: number; details?: string } };
  const code = e.code ?? e.cause?.code;
  const detail = e.cause?.details ?? e.message ?? String(err);
  // gRPC status 3: INVALID_ARGUMENT, what the server answers to a query it cannot parse or a field it does not know.
  if (code === 3 || /invalid|syntax|unknown|not defined/i.test(detail))
    return new CommandFailure(
      `${command}: the visibility query was refused: ${detail}\n  query: ${query}`,
      USAGE_ERROR,
    );
  return new CommandFailure(`${command}: listing runs failed: ${detail}\n  query: ${query}`);
}
