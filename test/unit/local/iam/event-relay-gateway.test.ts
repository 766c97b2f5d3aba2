/**
 * The event relay's SQS calls in local mode go through the local service's IAM gateway, as the local stack's worker
 * sends them (local/stack/config.ts workerEnv): the worker's policy lets it receive and delete on the state-change
 * queue that infra/ deploys and nothing else, the documented ReceiveMessage ranges are refused before moto sees them
 * (sqs.receive-message-ranges), and a local job's state change reaches the step's workflow ID through the real relay.
 */
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { StateEventPublisher, parseEventFaults } from '../../../../local/service/core/state-events';
import type { LocalService } from '../../../../local/service/server';
import { ADMIN_CREDENTIALS, WORKER_CREDENTIALS } from '../../../../local/shared/credentials';
import { deployLocalInfra } from '../../../../local/stack/infra-deployment';
import type { JobStateChanged } from '../../../../contracts/job-events';
import { relayBatch } from '../../../../worker/event-relay';
import { type Moto, startMoto, startService, tmpDir } from '../helpers';

jest.setTimeout(90_000);

let moto: Moto;
let svc: LocalService;
let queueUrl: string;
const client = (credentials: SQSClientConfig['credentials']) =>
  new SQSClient({ endpoint: svc.url, region: 'us-east-1', credentials, maxAttempts: 1 });

beforeAll(async () => {
  moto = await startMoto();
  await deployLocalInfra({ motoEndpoint: moto.url });
  svc = await startService(moto.url, tmpDir('relay-gateway-'));
  // As workerEnv names it: on the gateway's host, so the SQS client sends every call there.
  queueUrl = `${svc.url}/123456789012/pipeline-state-changes`;
});
afterAll(async () => {
  await svc?.close();
  await moto?.stop();
});

async function failure(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  return call.then(
    () => ({ name: 'none', message: 'the call succeeded' }),
    (err: Error) => ({ name: err.name, message: err.message }),
  );
}

it("relays a local job's state change through the gateway, as the worker, and deletes the message", async () => {
  const publisher = new StateEventPublisher(
    moto.url,
    () => [{ Key: 'pipeline:workflow-id', Value: 'run-1/trainModel' }],
    () => undefined,
    parseEventFaults(''),
  );
  publisher.changed('training-jobs', 'run-1-train-0a1b2c3d', {
    TrainingJobName: 'run-1-train-0a1b2c3d',
    TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1-train-0a1b2c3d',
    TrainingJobStatus: 'Completed',
    SecondaryStatus: 'Completed',
  });
  const signals: { workflowId: string; change: JobStateChanged }[] = [];
  const sqs = client(WORKER_CREDENTIALS);
  const opts = {
    sqs,
    queueUrl,
    waitTimeSeconds: 2,
    signal: async (workflowId: string, change: JobStateChanged) => void signals.push({ workflowId, change }),
  };
  for (let i = 0; i < 10 && signals.length === 0; i++) await relayBatch(opts);
  publisher.close();
  expect(signals).toEqual([
    {
      workflowId: 'run-1/trainModel',
      change: expect.objectContaining({ resource: 'run-1-train-0a1b2c3d', status: 'Completed' }),
    },
  ]);
  // Deleted once signalled: nothing comes back, even after the queue's visibility timeout would have run out.
  const again = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
  );
  expect(again.Messages ?? []).toEqual([]);
});

it('refuses the worker any other queue, and any SQS call its policy does not grant', async () => {
  const admin = client(ADMIN_CREDENTIALS);
  const other = await admin.send(new CreateQueueCommand({ QueueName: 'someone-elses-queue' }));
  const otherUrl = `${svc.url}/123456789012/someone-elses-queue`;
  expect(other.QueueUrl).toMatch(/someone-elses-queue$/);
  const worker = client(WORKER_CREDENTIALS);
  const receive = await failure(worker.send(new ReceiveMessageCommand({ QueueUrl: otherUrl, WaitTimeSeconds: 0 })));
  expect(receive.name).toBe('AccessDenied');
  expect(receive.message).toMatch(/sqs:ReceiveMessage.*arn:aws:sqs:us-east-1:123456789012:someone-elses-queue/);
  // Its own queue, but an action the relay does not need: sending would let the worker forge events.
  const send = await failure(worker.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{}' })));
  expect(send.name).toBe('AccessDenied');
  expect(send.message).toMatch(/sqs:SendMessage/);
});

it('refuses ReceiveMessage outside its documented ranges, naming the parameter; the bounds themselves pass', async () => {
  const worker = client(WORKER_CREDENTIALS);
  const cases: [Partial<Record<'MaxNumberOfMessages' | 'WaitTimeSeconds' | 'VisibilityTimeout', number>>, RegExp][] = [
    [{ MaxNumberOfMessages: 11 }, /MaxNumberOfMessages/],
    [{ MaxNumberOfMessages: 0 }, /MaxNumberOfMessages/],
    [{ WaitTimeSeconds: 21 }, /WaitTimeSeconds/],
    // moto lets a negative visibility timeout through; SQS does not.
    [{ VisibilityTimeout: -1 }, /VisibilityTimeout/],
    [{ VisibilityTimeout: 43_201 }, /VisibilityTimeout/],
  ];
  for (const [input, member] of cases) {
    const err = await failure(worker.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, ...input })));
    expect({ input, name: err.name }).toEqual({ input, name: 'InvalidParameterValue' });
    expect(err.message).toMatch(member);
  }
  const ok = await worker.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 43_200,
    }),
  );
  expect(ok.Messages ?? []).toEqual([]);
});
