/**
 * `npm run cli -- approve|reject <run> --reviewer <name> --reason <text>`: the reviewer's decision on a waiting run.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { CommandFailure } from '../command-line';
import { approve, registerModelId, reject } from '../pipeline-client';

/** The two decisions, as the command names them and as the result line says them. */
export const DECISIONS = {
  approve: { past: 'approved', send: approve },
  reject: { past: 'rejected', send: reject },
} as const;

/** Sends the decision to the run's registerModel step; returns the line to print. */
export async function decide(
  client: Client,
  decision: keyof typeof DECISIONS,
  run: string,
  who: { reviewer: string; reason: string },
): Promise<string> {
  const target = registerModelId(run);
  try {
    const written = await DECISIONS[decision].send(client, run, who);
    return `${DECISIONS[decision].past} ${written.modelPackageArn} (${target}) as ${who.reviewer}: now ${written.approvalStatus}`;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CommandFailure(
        `${decision}: no workflow ${target}: is ${run} a pipeline run that reached registerModel?`,
      );
    if (err instanceof WorkflowUpdateFailedError)
      throw new CommandFailure(`${decision}: ${target} refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
}
