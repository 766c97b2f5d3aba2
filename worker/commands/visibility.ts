/** Turning a refused visibility query into an operator's error message. */
import { CommandFailure, USAGE_ERROR } from '../command-line';

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
