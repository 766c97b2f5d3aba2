/**
 * Event delivery (docs/events.md): EventBridge rules for the state-change events of what the pipeline creates
 * (SageMaker training, tuning, processing and transform jobs, endpoints and model packages; the pipelines' CodeBuild
 * builds), delivering to an SQS queue that the worker's event relay reads (iam/worker-policy.json grants it
 * ReceiveMessage and DeleteMessage on this queue by name). A message the relay fails on a few times, and an event
 * EventBridge cannot deliver, go to the dead-letter queue. Events are hints: the polling net catches what is lost.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { JOB_EVENT_TYPES } from '../../contracts/job-events';
import { EVENTS_QUEUE_NAME } from '../resource-ids';

/** Receives before a message goes to the dead-letter queue (a step gone missing, a relay bug). */
const MAX_RECEIVES = 5;

/** The queue the rules deliver to, its dead-letter queue and the rules. */
export function stateChangeEvents(scope: Construct): { queue: sqs.Queue; deadLetters: sqs.Queue } {
  const deadLetters = new sqs.Queue(scope, 'StateChangeDeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, 'StateChangeQueue', {
    queueName: EVENTS_QUEUE_NAME,
    // SSE-SQS: EventBridge can send to it without a key policy (a customer managed key would need one).
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // A state change older than the polling net's interval is news the net has already read.
    retentionPeriod: Duration.days(1),
    visibilityTimeout: Duration.seconds(60),
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: MAX_RECEIVES },
  });
  const target = new targets.SqsQueue(queue, { deadLetterQueue: deadLetters, retryAttempts: 10 });
  // Every SageMaker state change of these kinds in the account and region: the relay drops what carries no
  // pipeline:workflow-id tag (the tags' shape in an event is not a documented match key for a pattern).
  new events.Rule(scope, 'SageMakerStateChangeRule', {
    description: 'SageMaker job, endpoint and model package state changes, for the pipeline worker',
    eventPattern: { source: ['aws.sagemaker'], detailType: [...JOB_EVENT_TYPES['aws.sagemaker']] },
    targets: [target],
  });
  // Only the pipelines' own build projects (contracts/names.ts codeBuildProjectName: <pipeline>-image-build).
  new events.Rule(scope, 'CodeBuildStateChangeRule', {
    description: "State changes of the pipelines' image builds, for the pipeline worker",
    eventPattern: {
      source: ['aws.codebuild'],
      detailType: [...JOB_EVENT_TYPES['aws.codebuild']],
      detail: { 'project-name': events.Match.suffix('-image-build') },
    },
    targets: [target],
  });
  return { queue, deadLetters };
}
