/**
 * Ships host log lines to moto's CloudWatch Logs, batched, into `/aws/sagemaker/TrainingJobs` streams named like
 * SageMaker's (`<job>/algo-<i>-<epoch>`), so the orchestrator reads failure log tails the same way as on AWS.
 * A stream is written as the job's role when one is given (its policy must allow the log calls, as on AWS).
 * Shipping is best effort: a moto hiccup or a refusal never fails a job, it is logged once per stream.
 */
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type CloudWatchLogsClient,
} from '@aws-sdk/client-cloudwatch-logs';

interface StreamBuffer {
  group: string;
  stream: string;
  roleArn?: string;
  events: { timestamp: number; message: string }[];
  created: boolean;
  failed: boolean;
}

export class LogShipper {
  private readonly buffers = new Map<string, StreamBuffer>();
  private readonly groups = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly clientFor: (roleArn?: string) => CloudWatchLogsClient,
    private readonly onError: (msg: string) => void,
    private readonly intervalMs = 1000,
  ) {}

  /** Buffers a line for `group`/`stream`, written as `roleArn` (else as the service). */
  add(group: string, stream: string, message: string, roleArn?: string): void {
    const id = `${group}\u0000${stream}`;
    let b = this.buffers.get(id);
    if (!b) {
      b = { group, stream, roleArn, events: [], created: false, failed: false };
      this.buffers.set(id, b);
    }
    b.events.push({ timestamp: Date.now(), message });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  /** Sends everything buffered so far; resolves once it is in moto (or failed). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    for (const b of this.buffers.values()) {
      if (b.events.length === 0 || b.failed) continue;
      const events = b.events.splice(0, b.events.length);
      const logs = this.clientFor(b.roleArn);
      try {
        if (!this.groups.has(b.group)) {
          await logs.send(new CreateLogGroupCommand({ logGroupName: b.group })).catch((err: Error) => {
            if (err.name !== 'ResourceAlreadyExistsException') throw err;
          });
          this.groups.add(b.group);
        }
        if (!b.created) {
          await logs
            .send(new CreateLogStreamCommand({ logGroupName: b.group, logStreamName: b.stream }))
            .catch((err: Error) => {
              if (err.name !== 'ResourceAlreadyExistsException') throw err;
            });
          b.created = true;
        }
        for (let i = 0; i < events.length; i += 1000) {
          await logs.send(
            new PutLogEventsCommand({
              logGroupName: b.group,
              logStreamName: b.stream,
              logEvents: events.slice(i, i + 1000),
            }),
          );
        }
      } catch (err) {
        b.failed = true;
        this.onError(`CloudWatch Logs shipping to ${b.group}/${b.stream} failed: ${(err as Error).message}`);
      }
    }
  }

  close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.flush();
  }
}
