/**
 * An in-process stand-in for the SQS queue the state-change rule delivers to, for the detection bench: the real relay
 * (worker/event-relay.ts) receives from it with ReceiveMessage (long poll) and deletes with DeleteMessage. A received
 * message is in flight until deleted; the bench never fails a signal, so nothing comes back after a visibility timeout.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export class MemoryQueue {
  private readonly waiting: { id: string; body: string }[] = [];
  private readonly inFlight = new Map<string, string>();
  private next = 0;
  private wake: (() => void) | undefined;
  /** Messages deleted (relayed). */
  deleted = 0;

  enqueue(body: string): void {
    this.waiting.push({ id: String(this.next++), body });
    this.wake?.();
  }

  /** The subset of SQSClient the relay uses. */
  client(): SQSClient {
    return {
      send: async (cmd: unknown) => {
        if (cmd instanceof ReceiveMessageCommand) {
          if (this.waiting.length === 0)
            await new Promise<void>((r) => {
              const t = setTimeout(r, (cmd.input.WaitTimeSeconds ?? 0) * 1000);
              this.wake = () => {
                clearTimeout(t);
                r();
              };
            });
          this.wake = undefined;
          const batch = this.waiting.splice(0, cmd.input.MaxNumberOfMessages ?? 1);
          for (const m of batch) this.inFlight.set(m.id, m.body);
          return { Messages: batch.map((m) => ({ MessageId: m.id, ReceiptHandle: m.id, Body: m.body })) };
        }
        if (cmd instanceof DeleteMessageCommand) {
          if (this.inFlight.delete(cmd.input.ReceiptHandle ?? '')) this.deleted++;
          return {};
        }
        throw new Error(`MemoryQueue: ${String((cmd as object).constructor.name)} is not imitated`);
      },
    } as unknown as SQSClient;
  }
}
