/**
 * The endpoint's CloudWatch dashboard: traffic, latency, errors, the rollback alarms' metrics against their
 * thresholds, and the fleet. PutDashboard replaces a dashboard whole, so creating it again on every deployment is an
 * upsert (safe to retry); DeleteDashboards removes it with the endpoint. Body syntax:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
 */
import { type CloudWatchClient, DeleteDashboardsCommand, PutDashboardCommand } from '@aws-sdk/client-cloudwatch';
import {
  endpointDashboardName,
  EnsureEndpointDashboardInput,
  type EnsureEndpointDashboardOutput,
  rollbackAlarmNames,
} from '../contracts/deploy-model';
import { aws, toFailure } from './aws-errors';
import type { ActivityDeps } from './deps';
import { parseInput } from './input';

/** SageMaker's endpoint invocation metrics (AWS/SageMaker, one-minute data). */
const NAMESPACE = 'AWS/SageMaker';

type Widget = Record<string, unknown>;

/**
 * The dashboard body of an endpoint. Endpoint-wide widgets use EndpointName + VariantName (every config the endpoint
 * has run); the rollback widgets add EndpointConfigName, the dimensions of the rollback alarms (alarms.ts), so they
 * plot exactly what the alarms watch, with each alarm's threshold as a line.
 */
export function endpointDashboardBody(raw: EnsureEndpointDashboardInput, region: string): Record<string, unknown> {
  const input = parseInput(EnsureEndpointDashboardInput, raw, 'ensureEndpointDashboard input');
  const endpoint = ['EndpointName', input.endpointName, 'VariantName', input.variantName];
  const fleet = [...endpoint, 'EndpointConfigName', input.endpointConfigName];
  const period = 60;
  const graph = (
    x: number,
    y: number,
    title: string,
    metrics: unknown[][],
    extra: Record<string, unknown> = {},
  ): Widget => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, view: 'timeSeries', period, metrics, ...extra },
  });
  const alarms = rollbackAlarmNames(input.endpointConfigName);
  const scaling = input.autoscaling.enabled
    ? `autoscaling ${input.autoscaling.minCapacity}-${input.autoscaling.maxCapacity} instances at ` +
      `${input.autoscaling.targetInvocationsPerInstance} invocations per instance per minute`
    : 'no autoscaling';
  const widgets: Widget[] = [
    graph(0, 0, 'Invocations (per minute)', [
      [NAMESPACE, 'Invocations', ...endpoint, { stat: 'Sum', label: 'Invocations' }],
      [NAMESPACE, 'InvocationsPerInstance', ...endpoint, { stat: 'Sum', label: 'Per instance' }],
    ]),
    graph(12, 0, 'Model latency (microseconds)', [
      [NAMESPACE, 'ModelLatency', ...endpoint, { stat: 'Average', label: 'Average' }],
      [NAMESPACE, 'ModelLatency', ...endpoint, { stat: 'p99', label: 'p99' }],
    ]),
    graph(0, 6, 'Errors (per minute)', [
      [NAMESPACE, 'Invocation4XXErrors', ...endpoint, { stat: 'Sum', label: '4xx' }],
      [NAMESPACE, 'Invocation5XXErrors', ...endpoint, { stat: 'Sum', label: '5xx' }],
    ]),
    graph(
      12,
      6,
      `Rollback alarm ${alarms.errors5xx}`,
      [[NAMESPACE, 'Invocation5XXErrors', ...fleet, { stat: 'Sum', label: `5xx of ${input.endpointConfigName}` }]],
      {
        period: input.rollback.periodSeconds,
        annotations: { horizontal: [{ label: 'rollback above', value: input.rollback.max5xxErrors }] },
      },
    ),
    graph(
      0,
      12,
      `Rollback alarm ${alarms.modelLatency}`,
      [
        [
          NAMESPACE,
          'ModelLatency',
          ...fleet,
          { stat: 'Average', label: `average model latency of ${input.endpointConfigName}` },
        ],
      ],
      {
        period: input.rollback.periodSeconds,
        // ModelLatency is in microseconds, as the alarm's threshold is.
        annotations: { horizontal: [{ label: 'rollback above', value: input.rollback.maxModelLatencyMs * 1000 }] },
      },
    ),
    {
      // SageMaker publishes no instance-count metric for a variant: the fleet as deployed, rewritten by every deploy.
      type: 'text',
      x: 12,
      y: 12,
      width: 12,
      height: 6,
      properties: {
        markdown:
          `## ${input.endpointName}\n\n` +
          `Config **${input.endpointConfigName}**, variant ${input.variantName}: ` +
          `${input.instanceCount} x ${input.instanceType} at deployment, ${scaling}.\n\n` +
          `Rollback alarms: ${alarms.errors5xx} (5xx > ${input.rollback.max5xxErrors} per ` +
          `${input.rollback.periodSeconds} s), ${alarms.modelLatency} (average > ${input.rollback.maxModelLatencyMs} ms)` +
          (input.rollback.extraAlarmNames.length ? `, and ${input.rollback.extraAlarmNames.join(', ')}` : '') +
          '.',
      },
    },
  ];
  return { widgets };
}

/** DeleteDashboards of the endpoint's dashboard; true when one was deleted, false when there was none. */
export async function deleteEndpointDashboard(cloudwatch: CloudWatchClient, endpointName: string): Promise<boolean> {
  const name = endpointDashboardName(endpointName);
  try {
    await cloudwatch.send(new DeleteDashboardsCommand({ DashboardNames: [name] }));
    return true;
  } catch (err) {
    // Gone already (a retried cleanup, or an endpoint deployed before dashboards existed): nothing to remove.
    // CloudWatch answers DashboardNotFoundError, whose code is ResourceNotFound (botocore's model).
    const code = (err as { name?: string } | undefined)?.name;
    if (code === 'ResourceNotFound' || code === 'DashboardNotFoundError') return false;
    throw toFailure(err, `DeleteDashboards ${name}`);
  }
}

/** Creates the dashboard activities. */
export function createDashboardActivities(deps: ActivityDeps) {
  const cloudwatch = deps.clients.cloudwatch;
  return {
    /** PutDashboard of the endpoint's dashboard (replaces the previous deployment's). */
    async ensureEndpointDashboard(raw: EnsureEndpointDashboardInput): Promise<EnsureEndpointDashboardOutput> {
      const body = endpointDashboardBody(raw, await cloudwatch.config.region());
      const dashboardName = endpointDashboardName(raw.endpointName);
      await aws(`PutDashboard ${dashboardName}`, () =>
        cloudwatch.send(new PutDashboardCommand({ DashboardName: dashboardName, DashboardBody: JSON.stringify(body) })),
      );
      return { dashboardName };
    },
  };
}
