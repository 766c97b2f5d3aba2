import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { WorkflowNotFoundError } from '@temporalio/client';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { JobStateChanged } from '../../../contracts/job-events';
import { mapEvent } from '../../../worker/event-map';
import { relayBatch } from '../../../worker/event-relay';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/pipeline-state-changes';
const sqs = mockClient(SQSClient);
beforeEach(() => sqs.reset());

/** Events in the shapes AWS documents (EventBridge as delivered to SQS: the whole event is the message body). */
const envelope = (source: string, detailType: string, resource: string, detail: object) => ({
  version: '0',
  id: 'a7b2c1d0-0000-4000-8000-000000000001',
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: '2026-12-07T20:00:00Z',
  region: 'us-east-1',
  resources: [resource],
  detail,
});
const training = (tags: unknown) =>
  envelope(
    'aws.sagemaker',
    'SageMaker Training Job State Change',
    'arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1-train-0a1b2c3d',
    {
      TrainingJobName: 'run-1-train-0a1b2c3d',
      TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1-train-0a1b2c3d',
      TrainingJobStatus: 'InProgress',
      SecondaryStatus: 'Training',
      CreationTime: 1796500000000,
      Tags: tags,
    },
  );
const build = (vars: { name: string; value: string; type: string }[]) =>
  envelope(
    'aws.codebuild',
    'CodeBuild Build State Change',
    'arn:aws:codebuild:us-east-1:123456789012:build/lm-image-build:8745a7a9',
    {
      'build-status': 'SUCCEEDED',
      'project-name': 'lm-image-build',
      'build-id': 'arn:aws:codebuild:us-east-1:123456789012:build/lm-image-build:8745a7a9',
      'additional-information': {
        environment: { image: 'aws/codebuild/standard:7.0', type: 'LINUX_CONTAINER', 'environment-variables': vars },
        'build-complete': true,
      },
      'current-phase': 'COMPLETED',
      'current-phase-context': '[]',
      version: '1',
    },
  );

describe('mapEvent', () => {
  it('maps a training job event to the step named by its pipeline:workflow-id tag (map or Tag list)', () => {
    const want = {
      workflowId: 'run-1/trainModel',
      change: {
        detailType: 'SageMaker Training Job State Change',
        resource: 'run-1-train-0a1b2c3d',
        status: 'InProgress',
        secondaryStatus: 'Training',
        time: '2026-12-07T20:00:00Z',
      },
    };
    expect(mapEvent(JSON.stringify(training({ 'pipeline:workflow-id': 'run-1/trainModel', team: 'lm' })))).toEqual(
      want,
    );
    expect(mapEvent(JSON.stringify(training([{ Key: 'pipeline:workflow-id', Value: 'run-1/trainModel' }])))).toEqual(
      want,
    );
  });

  it('maps an endpoint update to the updating step before the creating one', () => {
    const event = envelope(
      'aws.sagemaker',
      'SageMaker Endpoint State Change',
      'arn:aws:sagemaker:us-east-1:123456789012:endpoint/jax-lm',
      {
        EndpointName: 'jax-lm',
        EndpointStatus: 'Updating',
        Tags: { 'pipeline:workflow-id': 'run-1/deployModel', 'pipeline:updated-by': 'run-2/deployModel' },
      },
    );
    expect(mapEvent(JSON.stringify(event))).toMatchObject({ workflowId: 'run-2/deployModel' });
  });

  it('maps a CodeBuild build to the step in its PIPELINE_WORKFLOW_ID variable', () => {
    const mapped = mapEvent(
      JSON.stringify(build([{ name: 'PIPELINE_WORKFLOW_ID', value: 'run-1/buildImage', type: 'PLAINTEXT' }])),
    );
    expect(mapped).toMatchObject({ workflowId: 'run-1/buildImage', change: { status: 'SUCCEEDED' } });
  });

  it('skips, with the reason, what names no step of ours', () => {
    expect(mapEvent(JSON.stringify(training({ team: 'lm' })))).toEqual({
      skip: expect.stringContaining('no pipeline:workflow-id tag'),
    });
    expect(mapEvent(JSON.stringify(build([])))).toEqual({ skip: expect.stringContaining('PIPELINE_WORKFLOW_ID') });
    expect(mapEvent('not json')).toEqual({ skip: 'message body is not JSON' });
    expect(mapEvent(JSON.stringify(envelope('aws.ec2', 'EC2 Instance State-change Notification', 'i-1', {})))).toEqual({
      skip: expect.stringContaining('unhandled event'),
    });
  });
});

describe('relayBatch', () => {
  const ours = JSON.stringify(training({ 'pipeline:workflow-id': 'run-1/trainModel' }));
  const message = (id: string, body: string) => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: body });

  it('signals the step and deletes the message only after the signal is accepted', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message('1', ours)] });
    sqs.on(DeleteMessageCommand).resolves({});
    const order: string[] = [];
    const signal = jest.fn(async (workflowId: string, _change: JobStateChanged) => {
      expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
      order.push(workflowId);
    });
    const counts = await relayBatch({ sqs: sqs as unknown as SQSClient, queueUrl: QUEUE, signal });
    expect(order).toEqual(['run-1/trainModel']);
    expect(counts).toEqual({ received: 1, signalled: 1, dropped: 0, kept: 0 });
    expect(sqs).toHaveReceivedCommandWith(ReceiveMessageCommand, {
      QueueUrl: QUEUE,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
    });
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { QueueUrl: QUEUE, ReceiptHandle: 'rh-1' });
  });

  it('keeps the message when the signal fails (Temporal unreachable), for a later delivery', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message('1', ours)] });
    const signal = jest.fn().mockRejectedValue(new Error('14 UNAVAILABLE: connection refused'));
    const counts = await relayBatch({ sqs: sqs as unknown as SQSClient, queueUrl: QUEUE, signal });
    expect(counts.kept).toBe(1);
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
  });

  it('deletes, without failing, events for closed or unknown steps and events for no step of ours', async () => {
    const foreign = JSON.stringify(training({ team: 'other' }));
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message('1', ours), message('2', foreign)] });
    sqs.on(DeleteMessageCommand).resolves({});
    const signal = jest.fn().mockRejectedValue(new WorkflowNotFoundError('closed', 'run-1/trainModel', undefined));
    const counts = await relayBatch({ sqs: sqs as unknown as SQSClient, queueUrl: QUEUE, signal });
    expect(counts).toEqual({ received: 2, signalled: 0, dropped: 2, kept: 0 });
    expect(signal).toHaveBeenCalledTimes(1);
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { ReceiptHandle: 'rh-1' });
    expect(sqs).toHaveReceivedCommandWith(DeleteMessageCommand, { ReceiptHandle: 'rh-2' });
  });

  it('signals a duplicate again (the step treats it as a hint) and deletes both copies', async () => {
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message('1', ours), message('2', ours)] });
    sqs.on(DeleteMessageCommand).resolves({});
    const signal = jest.fn().mockResolvedValue(undefined);
    const counts = await relayBatch({ sqs: sqs as unknown as SQSClient, queueUrl: QUEUE, signal });
    expect(counts.signalled).toBe(2);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(2);
  });
});
