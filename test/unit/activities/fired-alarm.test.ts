/**
 * firedAlarm only names the alarm in a rollback's message (found by the chaos service-restart campaign: moto has no
 * DescribeAlarmHistory, and the wait for the endpoint retried that lookup forever, so a rolled-back deployment never
 * reported its rollback). An unreadable history skips that alarm; a readable one still names it.
 */
import { CloudWatchClient, DescribeAlarmHistoryCommand, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { firedAlarm } from '../../../activities/alarms';

const cw = mockClient(CloudWatchClient);
beforeEach(() => cw.reset());

describe('firedAlarm', () => {
  it('returns null instead of failing when the alarm history cannot be read', async () => {
    cw.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'a-5xx', StateValue: 'OK' }] });
    cw.on(DescribeAlarmHistoryCommand).rejects(
      new SyntaxError('Unexpected token \'<\', "<!doctype "... is not valid JSON'),
    );
    await expect(
      firedAlarm(new CloudWatchClient({ region: 'us-east-1' }), ['a-5xx'], '2026-01-01T00:00:00Z'),
    ).resolves.toBeNull();
  });

  it(
    'still names an alarm whose readable history shows a ' + 'transition to ALARM, after one that could not be read',
    async () => {
      cw.on(DescribeAlarmsCommand).resolves({
        MetricAlarms: [
          { AlarmName: 'a-5xx', StateValue: 'OK' },
          { AlarmName: 'a-latency', StateValue: 'OK' },
        ],
      });
      cw.on(DescribeAlarmHistoryCommand, { AlarmName: 'a-5xx' }).rejects(new Error('InternalFailure'));
      cw.on(DescribeAlarmHistoryCommand, { AlarmName: 'a-latency' }).resolves({
        AlarmHistoryItems: [{ HistorySummary: 'Alarm updated from OK to ALARM' }],
      });
      await expect(firedAlarm(new CloudWatchClient({ region: 'us-east-1' }), ['a-5xx', 'a-latency'])).resolves.toBe(
        'a-latency',
      );
    },
  );
});
