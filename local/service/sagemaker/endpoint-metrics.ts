/**
 * Endpoint invocation metrics: every fleet variant keeps its own event log (used to evaluate rollback alarms
 * against the new fleet only), and the service publishes per-variant aggregates to moto CloudWatch in namespace
 * AWS/SageMaker (Invocations, Invocation4XXErrors, Invocation5XXErrors, ModelLatency), as SageMaker does.
 */
import {
  type MetricAlarm,
  PutMetricDataCommand,
  type CloudWatchClient,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';

export interface InvocationEvent {
  t: number;
  status: number;
  latencyUs: number;
}

export class EventLog {
  readonly events: InvocationEvent[] = [];

  record(e: InvocationEvent): void {
    this.events.push(e);
    if (this.events.length > 100_000) this.events.splice(0, 50_000);
  }

  since(t: number): InvocationEvent[] {
    return this.events.filter((event) => event.t >= t);
  }
}

interface Pending {
  endpoint: string;
  variant: string;
  invocations: number;
  e4xx: number;
  e5xx: number;
  latencies: number[];
}

/** Aggregates invocations and ships them to CloudWatch on an interval. */
export class MetricPublisher {
  private pending = new Map<string, Pending>();

  constructor(
    private readonly cw: CloudWatchClient,
    private readonly onError: (msg: string) => void,
  ) {}

  record(endpoint: string, variant: string, e: InvocationEvent): void {
    const id = `${endpoint}\u0000${variant}`;
    let p = this.pending.get(id);
    if (!p) {
      p = { endpoint, variant, invocations: 0, e4xx: 0, e5xx: 0, latencies: [] };
      this.pending.set(id, p);
    }
    p.invocations++;
    if (e.status >= 400 && e.status < 500) p.e4xx++;
    if (e.status >= 500) p.e5xx++;
    p.latencies.push(e.latencyUs);
  }

  async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    for (const p of batch) {
      const Dimensions = [
        { Name: 'EndpointName', Value: p.endpoint },
        { Name: 'VariantName', Value: p.variant },
      ];
      const Timestamp = new Date();
      const data: MetricDatum[] = [
        { MetricName: 'Invocations', Dimensions, Timestamp, Unit: 'None', Value: p.invocations },
        { MetricName: 'Invocation4XXErrors', Dimensions, Timestamp, Unit: 'None', Value: p.e4xx },
        { MetricName: 'Invocation5XXErrors', Dimensions, Timestamp, Unit: 'None', Value: p.e5xx },
      ];
      if (p.latencies.length) {
        data.push({
          MetricName: 'ModelLatency',
          Dimensions,
          Timestamp,
          Unit: 'Microseconds',
          StatisticValues: {
            SampleCount: p.latencies.length,
            Sum: sum(p.latencies),
            Minimum: Math.min(...p.latencies),
            Maximum: Math.max(...p.latencies),
          },
        });
      }
      try {
        await this.cw.send(new PutMetricDataCommand({ Namespace: 'AWS/SageMaker', MetricData: data }));
      } catch (err) {
        this.onError(`PutMetricData for ${p.endpoint}/${p.variant} failed: ${(err as Error).message}`);
      }
    }
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * The value of one metric over events, for a CloudWatch statistic (Sum, Average, Maximum, Minimum, SampleCount, pNN).
 */
export function statistic(metric: string, stat: string, events: InvocationEvent[]): number | undefined {
  const values = events.map((event) => {
    switch (metric) {
      case 'Invocations':
        return 1;
      case 'Invocation4XXErrors':
        return event.status >= 400 && event.status < 500 ? 1 : 0;
      case 'Invocation5XXErrors':
        return event.status >= 500 ? 1 : 0;
      case 'ModelLatency':
      case 'OverheadLatency':
        return event.latencyUs;
      default:
        return undefined;
    }
  });
  if (values.some((v) => v === undefined)) return undefined;
  const xs = values as number[];
  if (xs.length === 0) return stat === 'Sum' || stat === 'SampleCount' ? 0 : undefined;
  if (stat === 'Sum') return sum(xs);
  if (stat === 'SampleCount') return xs.length;
  if (stat === 'Average') return sum(xs) / xs.length;
  if (stat === 'Maximum') return Math.max(...xs);
  if (stat === 'Minimum') return Math.min(...xs);
  const p = /^p(\d+(\.\d+)?)$/.exec(stat);
  if (p) {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((Number(p[1]) / 100) * sorted.length) - 1)];
  }
  return undefined;
}

export function breaches(value: number, op: string | undefined, threshold: number): boolean {
  switch (op) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      return false;
  }
}

/**
 * SageMaker publishes its endpoint metrics at a 1-minute frequency (developer guide, "Monitor SageMaker with
 * CloudWatch").
 */
export const SAGEMAKER_METRIC_RESOLUTION_MS = 60_000;

/**
 * Does an alarm fire against a fleet's own events? Its metric and statistic are computed over the alarm's
 * window (Period × EvaluationPeriods, but never before `since`, when the fleet took traffic). An alarm moto
 * already holds in ALARM state (SetAlarmState) fires too.
 *
 * A Period of 10, 20 or 30 s on SageMaker's one-minute metrics behaves as CloudWatch documents (PutMetricAlarm,
 * Period): the alarm still evaluates every period, but only a window that holds a minute boundary finds a datapoint
 * (the one stamped at that minute, aggregating the minute's events so far); every other evaluation has missing data,
 * which fires only when TreatMissingData is `breaching`.
 */
export function alarmFires(
  alarm: MetricAlarm,
  events: InvocationEvent[],
  since: number,
  nowMs = Date.now(),
): { fires: boolean; value?: number; missingData?: boolean } {
  if (alarm.StateValue === 'ALARM') return { fires: true };
  if (!alarm.MetricName || alarm.Threshold === undefined) return { fires: false };
  const periodMs = (alarm.Period ?? 60) * 1000;
  const windowMs = periodMs * (alarm.EvaluationPeriods ?? 1);
  let from = Math.max(since, nowMs - windowMs);
  const stat = alarm.Statistic ?? alarm.ExtendedStatistic ?? 'Average';
  if (periodMs < SAGEMAKER_METRIC_RESOLUTION_MS && (alarm.Namespace ?? 'AWS/SageMaker') === 'AWS/SageMaker') {
    const minute = Math.floor(nowMs / SAGEMAKER_METRIC_RESOLUTION_MS) * SAGEMAKER_METRIC_RESOLUTION_MS;
    if (minute < nowMs - windowMs) return { fires: alarm.TreatMissingData === 'breaching', missingData: true };
    from = Math.max(since, minute);
  }
  const value = statistic(
    alarm.MetricName,
    stat,
    events.filter((event) => event.t >= from && event.t <= nowMs),
  );
  if (value === undefined) return { fires: false };
  return { fires: breaches(value, alarm.ComparisonOperator, alarm.Threshold), value };
}
