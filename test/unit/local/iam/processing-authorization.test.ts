/**
 * The authorizations AWS performs for the Processing operations the local service serves: the job's ARN (name in
 * lower case, as SageMaker writes ARNs), iam:PassRole for its execution role, sagemaker:AddTags for tag-on-create.
 */
import { checksFor } from '../../../../local/service/iam/request-checks';

const ACCT = '123456789012';
const job = `arn:aws:sagemaker:us-east-1:${ACCT}:processing-job/prepare-1`;

test('CreateProcessingJob: the job ARN with the request tags, PassRole for its role, AddTags for its tags', async () => {
  const checks = await checksFor({
    prefix: 'sagemaker',
    operation: 'CreateProcessingJob',
    body: {
      ProcessingJobName: 'Prepare-1',
      RoleArn: `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`,
      Tags: [{ Key: 'pipeline:workflow-id', Value: 'wf' }],
    },
  });
  const tags = { 'aws:TagKeys': ['pipeline:workflow-id'], 'aws:RequestTag/pipeline:workflow-id': 'wf' };
  expect(checks).toEqual([
    { action: 'sagemaker:CreateProcessingJob', resource: job, context: tags },
    {
      action: 'iam:PassRole',
      resource: `arn:aws:iam::${ACCT}:role/SageMakerExecutionRole`,
      context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
    },
    {
      action: 'sagemaker:AddTags',
      resource: job,
      context: { ...tags, 'sagemaker:TaggingAction': 'CreateProcessingJob' },
    },
  ]);
});

test.each(['DescribeProcessingJob', 'StopProcessingJob'])('%s is authorized on the job ARN', async (operation) => {
  const checks = await checksFor({ prefix: 'sagemaker', operation, body: { ProcessingJobName: 'prepare-1' } });
  expect(checks).toEqual([{ action: `sagemaker:${operation}`, resource: job, context: {} }]);
});

test('ListProcessingJobs is authorized on every resource', async () => {
  const checks = await checksFor({ prefix: 'sagemaker', operation: 'ListProcessingJobs', body: {} });
  expect(checks).toEqual([{ action: 'sagemaker:ListProcessingJobs', resource: '*', context: {} }]);
});
