/** State-change events of stub training jobs, for the benches that drive the event relay. */

/** The documented "SageMaker Training Job State Change" event of a stub job, as EventBridge delivers it to SQS. */
export function trainingEvent(name: string, workflowId: string, status: string, secondaryStatus: string): string {
  return JSON.stringify({
    version: '0',
    id: `${name}-${status}-${secondaryStatus}`,
    'detail-type': 'SageMaker Training Job State Change',
    source: 'aws.sagemaker',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}`],
    detail: {
      TrainingJobName: name,
      TrainingJobStatus: status,
      SecondaryStatus: secondaryStatus,
      Tags: { 'pipeline:workflow-id': workflowId },
    },
  });
}
