import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { createAlarmActivities } from '../../../activities/alarms';
import { expectFailure, invalid, testDeps, throttled } from './helpers';

const cw = mockClient(CloudWatchClient);
const acts = createAlarmActivities(testDeps());
const input = {
  endpointName: 'jax-lm',
  endpointConfigName: 'run-2-epc-22222222',
  max5xxErrors: 0,
  maxModelLatencyMs: 5000,
  periodSeconds: 60,
  tags: { team: 'lm' },
};
const dimensions = [
  { Name: 'EndpointName', Value: 'jax-lm' },
  { Name: 'VariantName', Value: 'AllTraffic' },
  { Name: 'EndpointConfigName', Value: 'run-2-epc-22222222' },
];

beforeEach(() => cw.reset());

describe('ensureRollbackAlarms', () => {
  it('raises a sub-minute period (a run started before periods had to be whole minutes) to 60 s', async () => {
    cw.on(PutMetricAlarmCommand).resolves({});
    await acts.ensureRollbackAlarms({ ...input, periodSeconds: 10 });
    for (const call of cw.commandCalls(PutMetricAlarmCommand)) expect(call.args[0].input.Period).toBe(60);
  });

  it('puts a 5xx alarm and a model latency alarm (µs) on the new fleet', async () => {
    cw.on(PutMetricAlarmCommand).resolves({});
    await expect(acts.ensureRollbackAlarms(input)).resolves.toEqual({
      alarmNames: ['run-2-epc-22222222-rollback-5xx', 'run-2-epc-22222222-rollback-model-latency'],
    });
    expect(cw).toHaveReceivedCommandWith(PutMetricAlarmCommand, {
      AlarmName: 'run-2-epc-22222222-rollback-5xx',
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocation5XXErrors',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Tags: [{ Key: 'team', Value: 'lm' }],
    });
    expect(cw).toHaveReceivedCommandWith(PutMetricAlarmCommand, {
      AlarmName: 'run-2-epc-22222222-rollback-model-latency',
      MetricName: 'ModelLatency',
      Statistic: 'Average',
      Threshold: 5_000_000,
      Dimensions: dimensions,
    });
  });

  it('is an upsert, so a retry sends the same requests; throttling retries, validation does not', async () => {
    cw.on(PutMetricAlarmCommand).rejectsOnce(throttled()).rejectsOnce(invalid()).resolves({});
    await expectFailure(acts.ensureRollbackAlarms(input), 'AwsTransient', false);
    await expectFailure(
      acts.ensureRollbackAlarms(input),
      'AwsValidation',
      true,
      /PutMetricAlarm run-2-epc-22222222-rollback-5xx/,
    );
    await acts.ensureRollbackAlarms(input);
    expect(cw).toHaveReceivedCommandTimes(PutMetricAlarmCommand, 4);
  });
});
