/**
 * Local mode publishes AWS's state-change events (local/service/core/state-events.ts) through moto's EventBridge, and
 * the rules infra/ deploys route them to the queue the worker's relay reads: a local job's status change lands in the
 * queue as the documented event, which the relay maps to the step that created the job.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { StateEventPublisher, parseEventFaults } from '../../../local/service/core/state-events';
import { deployLocalInfra } from '../../../local/stack/infra-deployment';
import { ADMIN_CREDENTIALS } from '../../../local/shared/credentials';
import { mapEvent } from '../../../worker/event-map';
import { type Moto, startMoto } from './helpers';

let moto: Moto;
let sqs: SQSClient;
let queueUrl: string;
beforeAll(async () => {
  moto = await startMoto();
  await deployLocalInfra({ motoEndpoint: moto.url });
  sqs = new SQSClient({ endpoint: moto.url, region: 'us-east-1', credentials: ADMIN_CREDENTIALS });
  queueUrl = `${moto.url}/123456789012/pipeline-state-changes`;
});
afterAll(async () => moto?.stop());

const ARN = 'arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1-train-0a1b2c3d';
const job = (status: string, secondary: string) => ({
  TrainingJobName: 'run-1-train-0a1b2c3d',
  TrainingJobArn: ARN,
  TrainingJobStatus: status,
  SecondaryStatus: secondary,
  CreationTime: 1796500000,
});
const tags = () => [
  { Key: 'team', Value: 'lm' },
  { Key: 'pipeline:workflow-id', Value: 'run-1/trainModel' },
];

async function receiveAll(want: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 20 && out.length < want; i++) {
    const res = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of res.Messages ?? []) out.push(JSON.parse(m.Body ?? '{}') as Record<string, unknown>);
  }
  return out;
}

it("a training job's status changes reach the queue as AWS documents them, once per change", async () => {
  const publisher = new StateEventPublisher(moto.url, tags, () => undefined, parseEventFaults(''));
  publisher.changed('training-jobs', 'run-1-train-0a1b2c3d', job('InProgress', 'Starting'));
  publisher.changed('training-jobs', 'run-1-train-0a1b2c3d', job('InProgress', 'Starting')); // no change: no event
  publisher.changed('training-jobs', 'run-1-train-0a1b2c3d', job('Completed', 'Completed'));
  const events = await receiveAll(2);
  publisher.close();
  expect(events).toHaveLength(2);
  // A standard queue keeps no order (nor does EventBridge): the relay never relies on one.
  events.sort((a, b) => JSON.stringify(b.detail).localeCompare(JSON.stringify(a.detail)));
  // moto's envelope has no `account` (AWS's does); nothing here reads it.
  expect(events[0]).toMatchObject({
    version: '0',
    'detail-type': 'SageMaker Training Job State Change',
    source: 'aws.sagemaker',
    region: 'us-east-1',
    resources: [ARN],
    detail: {
      TrainingJobName: 'run-1-train-0a1b2c3d',
      TrainingJobStatus: 'InProgress',
      SecondaryStatus: 'Starting',
      Tags: { team: 'lm', 'pipeline:workflow-id': 'run-1/trainModel' },
    },
  });
  expect(typeof events[0]?.time).toBe('string');
  expect(mapEvent(JSON.stringify(events[1]))).toMatchObject({
    workflowId: 'run-1/trainModel',
    change: { status: 'Completed', resource: 'run-1-train-0a1b2c3d' },
  });
});

it("routes the pipelines' CodeBuild builds and leaves other projects' builds out", async () => {
  const publisher = new StateEventPublisher(
    moto.url,
    () => [],
    () => undefined,
    parseEventFaults(''),
  );
  const b = (project: string) => ({
    arn: `arn:aws:codebuild:us-east-1:123456789012:build/${project}:1`,
    buildStatus: 'SUCCEEDED',
    projectName: project,
    currentPhase: 'COMPLETED',
    startTime: 1796500000,
    environment: { environmentVariables: [{ name: 'PIPELINE_WORKFLOW_ID', value: 'run-1/buildImage' }] },
  });
  publisher.changed('codebuild-builds', 'other:1', b('someone-elses-project'));
  publisher.changed('codebuild-builds', 'lm:1', b('lm-image-build'));
  const events = await receiveAll(1);
  publisher.close();
  expect(events.map((e) => (e.detail as Record<string, unknown>)['project-name'])).toEqual(['lm-image-build']);
  expect(mapEvent(JSON.stringify(events[0]))).toMatchObject({ workflowId: 'run-1/buildImage' });
});

it('reads LOCAL_EVENT_FAULTS: delay=P holds only that share, a share above 1 is refused naming the entry', () => {
  expect(parseEventFaults('delayMs=90000')).toMatchObject({ delayMs: 90_000, delay: 1 });
  expect(parseEventFaults('drop=0.2,delay=0.2,delayMs=90000')).toMatchObject({
    drop: 0.2,
    delay: 0.2,
    delayMs: 90_000,
  });
  expect(() => parseEventFaults('drop=2')).toThrow(/"drop=2"/);
  expect(() => parseEventFaults('lose=0.1')).toThrow(/"lose=0.1"/);
});

it('logs each event it spoils, with the resource, its status and when (the chaos campaign times lost events by it)', async () => {
  const lines: string[] = [];
  const publisher = new StateEventPublisher(moto.url, tags, (m) => lines.push(m), parseEventFaults('drop=1'));
  publisher.changed('training-jobs', 'run-1-train-0a1b2c3d', job('InProgress', 'Downloading'));
  await new Promise((r) => setImmediate(r));
  publisher.close();
  expect(lines).toEqual([
    expect.stringMatching(
      /^state-change event dropped: training-jobs\/run-1-train-0a1b2c3d InProgress\/Downloading at \d+$/,
    ),
  ]);
  expect(publisher.published).toBe(0);
});
