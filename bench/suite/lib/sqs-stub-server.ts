/**
 * The in-process queue (memory-queue.ts) over HTTP, speaking SQS's AWS JSON 1.0 protocol (POST /,
 * `X-Amz-Target: AmazonSQS.<Operation>`) for ReceiveMessage and DeleteMessage: so a worker in another process runs
 * the real relay with the real SQS client against it (AWS_ENDPOINT_URL_SQS), as the capacity bench's worker does.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { MemoryQueue } from './memory-queue';

/** The running stub: its endpoint, a queue URL on it, and the queue behind it. */
export interface SqsStub {
  endpoint: string;
  queueUrl: string;
  queue: MemoryQueue;
  close(): Promise<void>;
}

const JSON_10 = 'application/x-amz-json-1.0';

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': JSON_10, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the stub on 127.0.0.1 (a free port). */
export async function startSqsStub(): Promise<SqsStub> {
  const queue = new MemoryQueue();
  const client = queue.client();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      // Both operations' inputs carry QueueUrl; ReceiveMessage's also its batch size and long-poll wait.
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        QueueUrl: string;
        ReceiptHandle: string;
        MaxNumberOfMessages?: number;
        WaitTimeSeconds?: number;
      };
      const answer = async (): Promise<unknown> => {
        if (op === 'ReceiveMessage') {
          const out = (await client.send(new ReceiveMessageCommand(input))) as {
            Messages: { MessageId: string; ReceiptHandle: string; Body: string }[];
          };
          // The SDK checks each body against its MD5 (as SQS sends it).
          return {
            Messages: out.Messages.map((m) => ({ ...m, MD5OfBody: createHash('md5').update(m.Body).digest('hex') })),
          };
        }
        if (op === 'DeleteMessage') return client.send(new DeleteMessageCommand(input));
        throw new Error(`the SQS stub does not implement ${op || '(no X-Amz-Target)'}`);
      };
      answer().then(
        (body) => reply(res, 200, body),
        (err: unknown) =>
          reply(res, 400, { __type: 'com.amazonaws.sqs#InvalidAction', message: (err as Error).message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    endpoint,
    queueUrl: `${endpoint}/123456789012/pipeline-state-changes`,
    queue,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
