/**
 * CloudWatch alarms that guard a blue/green endpoint update: one on 5xx errors and one on model latency of the
 * new fleet, named after the new endpoint config. SageMaker rolls the update back when any of them is in ALARM.
 */
import {
  type CloudWatchClient,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import {
  EnsureRollbackAlarmsInput,
  type EnsureRollbackAlarmsOutput,
  rollbackAlarmNames,
} from '../contracts/deploy-model';
import { aws } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';
import { warnIfActivity } from './polling';

/**
 * The PutMetricAlarm requests. The dimensions EndpointName + VariantName + EndpointConfigName select the new fleet
 * only, as SageMaker's "Auto-Rollback Configuration and Monitoring" examples do for new-fleet alarms. ModelLatency is
 * reported in microseconds. Missing data (no traffic yet) is not breaching.
 */
export function rollbackAlarmRequests(raw: EnsureRollbackAlarmsInput): PutMetricAlarmCommandInput[] {
  const input = parseInput(EnsureRollbackAlarmsInput, raw, 'ensureRollbackAlarms input');
  const names = rollbackAlarmNames(input.endpointConfigName);
  // SageMaker publishes endpoint metrics once a minute: a sub-minute period (a run started before specs had to use
  // whole minutes) would see no data in most periods and rarely roll back, so it becomes the next whole minute.
  const period = Math.max(60, Math.ceil(input.periodSeconds / 60) * 60);
  if (period !== input.periodSeconds)
    warnIfActivity(
      `rollback alarms of ${input.endpointConfigName}: period ${input.periodSeconds} s raised to ${period} s`,
    );
  const common = {
    Namespace: 'AWS/SageMaker',
    Dimensions: [
      { Name: 'EndpointName', Value: input.endpointName },
      { Name: 'VariantName', Value: input.variantName },
      { Name: 'EndpointConfigName', Value: input.endpointConfigName },
    ],
    Period: period,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    ComparisonOperator: 'GreaterThanThreshold' as const,
    TreatMissingData: 'notBreaching',
    Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
  };
  return [
    {
      ...common,
      AlarmName: names.errors5xx,
      AlarmDescription:
        `Rolls back the update of ${input.endpointName} to ${input.endpointConfigName} on more than ` +
        `${input.max5xxErrors} 5xx errors per ${period} s`,
      MetricName: 'Invocation5XXErrors',
      Statistic: 'Sum',
      Threshold: input.max5xxErrors,
    },
    {
      ...common,
      AlarmName: names.modelLatency,
      AlarmDescription:
        `Rolls back the update of ${input.endpointName} to ${input.endpointConfigName} when average model latency ` +
        `exceeds ${input.maxModelLatencyMs} ms`,
      MetricName: 'ModelLatency',
      Statistic: 'Average',
      Threshold: input.maxModelLatencyMs * 1000,
    },
  ];
}

/**
 * The alarm that made SageMaker roll back: one of `alarmNames` now in ALARM, else the first whose history shows a
 * transition to ALARM since `since`; null when none did (e.g. the new fleet failed its health checks) or no history
 * could be read.
 */
export async function firedAlarm(
  cloudwatch: CloudWatchClient,
  alarmNames: readonly string[],
  since?: string,
): Promise<string | null> {
  if (alarmNames.length === 0) return null;
  const now = await aws(`DescribeAlarms ${alarmNames.join(',')}`, () =>
    cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...alarmNames] })),
  );
  const inAlarm = (now.MetricAlarms ?? []).find((a) => a.StateValue === 'ALARM')?.AlarmName;
  if (inAlarm) return inAlarm;
  for (const name of alarmNames) {
    let history;
    try {
      history = await aws(`DescribeAlarmHistory ${name}`, () =>
        cloudwatch.send(
          new DescribeAlarmHistoryCommand({
            AlarmName: name,
            HistoryItemType: 'StateUpdate',
            StartDate: since ? new Date(since) : undefined,
            MaxRecords: 50,
          }),
        ),
      );
    } catch {
      // The history only names the alarm in the rollback's message: an unreadable one (moto does not implement
      // DescribeAlarmHistory) must not keep the rollback from being reported, which retrying it forever did.
      continue;
    }
    if ((history.AlarmHistoryItems ?? []).some((h) => /to ALARM/i.test(h.HistorySummary ?? ''))) return name;
  }
  return null;
}

/** Creates the alarm activities. */
export function createAlarmActivities(deps: ActivityDeps) {
  return {
    /** PutMetricAlarm for the new fleet's 5xx and latency alarms (an upsert, so a retry changes nothing). */
    async ensureRollbackAlarms(raw: EnsureRollbackAlarmsInput): Promise<EnsureRollbackAlarmsOutput> {
      const requests = rollbackAlarmRequests(raw);
      for (const req of requests) {
        await aws(`PutMetricAlarm ${req.AlarmName}`, () =>
          deps.clients.cloudwatch.send(new PutMetricAlarmCommand(req)),
        );
      }
      return { alarmNames: requests.map((r) => r.AlarmName ?? '') };
    },
  };
}
