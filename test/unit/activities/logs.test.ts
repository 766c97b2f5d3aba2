import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { createLogsActivities } from '../../../activities/logs';
import { accessDenied, awsError, expectFailure, testDeps, throttled } from './helpers';

const logs = mockClient(CloudWatchLogsClient);
const { readJobLogTail } = createLogsActivities(testDeps());
const input = { logGroup: '/aws/sagemaker/TrainingJobs', streamPrefix: 'job-1/', lines: 3 };

beforeEach(() => logs.reset());

describe('readJobLogTail', () => {
  it('merges the host streams by time, prefixes each line with its host and keeps the last lines', async () => {
    logs
      .on(DescribeLogStreamsCommand)
      .resolvesOnce({ logStreams: [{ logStreamName: 'job-1/algo-1-1700000000' }], nextToken: 't' })
      .resolves({ logStreams: [{ logStreamName: 'job-1/algo-2-1700000000' }] });
    logs.on(GetLogEventsCommand, { logStreamName: 'job-1/algo-1-1700000000' }).resolves({
      events: [
        { timestamp: 1, message: 'step 1\n' },
        { timestamp: 4, message: 'Traceback: boom\n' },
      ],
    });
    logs.on(GetLogEventsCommand, { logStreamName: 'job-1/algo-2-1700000000' }).resolves({
      events: [
        { timestamp: 2, message: 'step 1' },
        { timestamp: 3, message: 'step 2' },
      ],
    });
    expect(await readJobLogTail(input)).toEqual({
      lines: ['[algo-2-1700000000] step 1', '[algo-2-1700000000] step 2', '[algo-1-1700000000] Traceback: boom'],
    });
    expect(logs).toHaveReceivedCommandWith(DescribeLogStreamsCommand, {
      logGroupName: input.logGroup,
      logStreamNamePrefix: 'job-1/',
      nextToken: 't',
    });
    expect(logs).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: input.logGroup,
      logStreamName: 'job-1/algo-1-1700000000',
      startFromHead: false,
      limit: 3,
    });
  });

  it('is empty when the logs do not exist yet', async () => {
    logs
      .on(DescribeLogStreamsCommand)
      .rejects(awsError('ResourceNotFoundException', 400, 'The specified log group does not exist.'));
    expect(await readJobLogTail(input)).toEqual({ lines: [] });
  });

  it('classifies failures', async () => {
    logs.on(DescribeLogStreamsCommand).rejects(throttled());
    await expectFailure(readJobLogTail(input), 'AwsTransient', false);
    logs.on(DescribeLogStreamsCommand).rejects(accessDenied());
    await expectFailure(readJobLogTail(input), 'AccessDenied', true);
  });
});
