/**
 * The event relay (docs/events.md): long-polls the state-change queue, maps each event to the step workflow waiting on
 * the resource (worker/event-map.ts) and signals it `jobStateChanged`. A message is deleted only once the signal is
 * accepted, or when it cannot matter (an event for no step of ours, a step that is gone or closed); any other failure
 * leaves it on the queue, to come back after its visibility timeout and go to the dead-letter queue after a few
 * tries. Nothing is kept per pipeline: the relay holds one batch of at most 10 messages at a time.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { JobStateChanged } from '../contracts/job-events';
import { mapEvent } from './event-map';

/** What the relay needs: the queue, and how to signal a step (the worker's Temporal client). */
export interface EventRelayOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Signals `jobStateChanged` to a workflow; rejects with WorkflowNotFoundError when it is gone or closed. */
  signal(workflowId: string, change: JobStateChanged): Promise<void>;
  /** Long-poll wait of one ReceiveMessage (SQS allows up to 20 s). */
  waitTimeSeconds?: number;
  /** Pause after a failed receive before the next (the queue unreachable, throttled). */
  retryDelayMs?: number;
  log?: (message: string) => void;
}

/** What one batch did. */
export interface RelayCounts {
  received: number;
  signalled: number;
  /** Deleted without a signal: not ours, or the step is gone. */
  dropped: number;
  /** Left on the queue after a failed signal, to be received again. */
  kept: number;
}

/** Long-poll wait of a ReceiveMessage: SQS's longest (ReceiveMessage: WaitTimeSeconds 0 to 20). */
const LONG_POLL_S = 20;
/** SQS returns at most 10 messages per ReceiveMessage. */
const BATCH = 10;

/** True for Temporal's answer to a signal to a workflow that does not exist or has closed. */
function isGone(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (err as { name?: string }).name === 'WorkflowNotFoundError';
}

async function remove(o: EventRelayOptions, m: Message): Promise<void> {
  await o.sqs.send(new DeleteMessageCommand({ QueueUrl: o.queueUrl, ReceiptHandle: m.ReceiptHandle }));
}

/** Receives one batch (long poll) and relays each message in it. */
export async function relayBatch(o: EventRelayOptions, abortSignal?: AbortSignal): Promise<RelayCounts> {
  const res = await o.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: o.queueUrl,
      MaxNumberOfMessages: BATCH,
      WaitTimeSeconds: o.waitTimeSeconds ?? LONG_POLL_S,
    }),
    { abortSignal },
  );
  const counts: RelayCounts = { received: 0, signalled: 0, dropped: 0, kept: 0 };
  for (const m of res.Messages ?? []) {
    counts.received++;
    const mapped = mapEvent(m.Body ?? '');
    if ('skip' in mapped) {
      o.log?.(`event relay: dropped: ${mapped.skip}`);
      counts.dropped++;
      await remove(o, m);
      continue;
    }
    try {
      await o.signal(mapped.workflowId, mapped.change);
      counts.signalled++;
    } catch (err) {
      if (!isGone(err)) {
        // Temporal unreachable or refusing: keep the message; it is received again after its visibility timeout.
        o.log?.(`event relay: signal to ${mapped.workflowId} failed, kept for a retry: ${(err as Error).message}`);
        counts.kept++;
        continue;
      }
      counts.dropped++;
    }
    await remove(o, m);
  }
  return counts;
}

/** A running relay; stop() ends the long poll in flight and resolves once the loop has ended. */
export interface EventRelay {
  stop(): Promise<void>;
}

/** Starts relaying until stopped; a failed receive or delete is logged and retried after a pause. */
export function startEventRelay(o: EventRelayOptions): EventRelay {
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        await relayBatch(o, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) break;
        o.log?.(`event relay: ${(err as Error).message}; retrying (the polling net covers the gap)`);
        await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 5000));
      }
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
