/**
 * UpdateEndpoint with a blue/green deployment: start the green fleet, wait for /ping, shift traffic
 * (ALL_AT_ONCE, CANARY or LINEAR, with the policy's wait interval after each shift), watch the
 * AutoRollbackConfiguration alarms (read from moto CloudWatch, evaluated against the green fleet's own
 * invocations), then retire blue after the termination wait, or roll back: RollingBack → InService on the old
 * config with the reason in FailureReason.
 */
import { DescribeAlarmsCommand, SetAlarmStateCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { sleep } from '../../shared/procs';
import type { Ctx } from '../core/context';
import { alarmFires } from './endpoint-metrics';
import type { Endpoints } from './endpoints';
import type { Fleet } from './fleet';

export interface CapacitySize {
  Type: 'INSTANCE_COUNT' | 'CAPACITY_PERCENT';
  Value: number;
}

export interface DeploymentConfig {
  BlueGreenUpdatePolicy?: {
    TrafficRoutingConfiguration?: {
      Type?: 'ALL_AT_ONCE' | 'CANARY' | 'LINEAR';
      WaitIntervalInSeconds?: number;
      CanarySize?: CapacitySize;
      LinearStepSize?: CapacitySize;
    };
    TerminationWaitInSeconds?: number;
    MaximumExecutionTimeoutInSeconds?: number;
  };
  AutoRollbackConfiguration?: { Alarms?: { AlarmName: string }[] };
  RollingUpdatePolicy?: unknown;
}

function fraction(size: CapacitySize | undefined, instances: number, fallback: number): number {
  if (!size) return fallback;
  const f = size.Type === 'INSTANCE_COUNT' ? size.Value / Math.max(1, instances) : size.Value / 100;
  return Math.min(1, Math.max(0.01, f));
}

/** The traffic shares of the green fleet, step by step. */
export function trafficSteps(deployment: DeploymentConfig | undefined, greenInstances: number): number[] {
  const t = deployment?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration;
  if (!t || !t.Type || t.Type === 'ALL_AT_ONCE') return [1];
  if (t.Type === 'CANARY') return [fraction(t.CanarySize, greenInstances, 0.1), 1];
  const step = fraction(t.LinearStepSize, greenInstances, 0.2);
  const steps: number[] = [];
  for (let s = step; s < 1 - 1e-9; s += step) steps.push(Math.round(s * 1000) / 1000);
  steps.push(1);
  return steps;
}

class RolledBack extends Error {}

const ROLLBACK_DWELL_MS = 2_000;

export async function runBlueGreen(
  ctx: Ctx,
  eps: Endpoints,
  endpointName: string,
  configName: string,
  deployment: DeploymentConfig | undefined,
  alarmNames: string[],
): Promise<void> {
  const route = eps.routes.get(endpointName);
  if (!route?.blue) return;
  const blue = route.blue;
  const policy = deployment?.BlueGreenUpdatePolicy;
  const waitS = policy?.TrafficRoutingConfiguration?.WaitIntervalInSeconds ?? 0;
  const terminationS = policy?.TerminationWaitInSeconds ?? 0;
  const deadline = Date.now() + (policy?.MaximumExecutionTimeoutInSeconds ?? 28_800) * 1000;
  const green = eps.newFleet(endpointName, configName);
  const config = eps.models.config(configName);
  // The role SageMaker acts as for the new config: its (first) model's execution role.
  const roleArn = config.ProductionVariants.map(
    (variant) => eps.models.model(variant.ModelName)?.ExecutionRoleArn,
  ).find(Boolean);
  const rollback = async (reason: string, status: 'RollingBack' | 'Updating' = 'RollingBack'): Promise<void> => {
    ctx.log(`endpoint ${endpointName}: rolling back (${reason})`);
    if (status === 'RollingBack') eps.setStatus(endpointName, 'RollingBack', undefined);
    route.greenShare = 0;
    route.green = undefined;
    // Blue takes all traffic again at once; the status stays RollingBack a little while (on AWS it lasts minutes),
    // so pollers can observe it.
    await Promise.all([green.stop(5_000), status === 'RollingBack' ? sleep(ROLLBACK_DWELL_MS) : undefined]);
    if (route.abort) return;
    eps.setStatus(endpointName, 'InService', reason, (endpoint) => {
      delete endpoint._pendingConfig;
      delete endpoint._pendingSince;
    });
  };

  try {
    await green.start(config.ProductionVariants, (m) => eps.models.model(m));
  } catch (err) {
    // A green fleet that never became healthy is not a traffic rollback: blue never lost traffic.
    await rollback(`Failed to update endpoint: ${(err as Error).message}`, 'Updating');
    return;
  }
  if (route.abort) return void (await green.stop());
  route.green = green;
  let since = 0;
  const watch = async (seconds: number): Promise<void> => {
    const until = Date.now() + seconds * 1000;
    do {
      if (route.abort) throw new RolledBack('endpoint deleted');
      if (Date.now() > deadline)
        throw new RolledBack(
          `the blue/green update exceeded MaximumExecutionTimeoutInSeconds ` +
            `(${policy?.MaximumExecutionTimeoutInSeconds} s)`,
        );
      const fired = await firedAlarms(ctx, alarmNames, green, since, roleArn);
      if (fired.length)
        throw new RolledBack(
          `Automatic rollback: CloudWatch alarm(s) ${fired.join(', ')} went into ALARM state during the ` +
            `deployment of endpoint config ${configName}.`,
        );
      await sleep(Math.min(eps.alarmPollMs, Math.max(0, until - Date.now())));
    } while (Date.now() < until);
  };
  try {
    const instances = green.variants.reduce((s, v) => s + v.instances.length, 0);
    for (const share of trafficSteps(deployment, instances)) {
      route.greenShare = share;
      since ||= Date.now();
      ctx.log(`endpoint ${endpointName}: ${Math.round(share * 100)}% of traffic on ${configName}`);
      await watch(waitS);
    }
    await watch(terminationS);
  } catch (err) {
    if (route.abort) return void (await green.stop());
    await rollback(err instanceof RolledBack ? err.message : `Failed to update endpoint: ${(err as Error).message}`);
    return;
  }
  // Success: green becomes the endpoint, blue is retired.
  route.blue = green;
  route.green = undefined;
  route.greenShare = 0;
  eps.setStatus(endpointName, 'InService', undefined, (endpoint) => {
    endpoint.EndpointConfigName = configName;
    endpoint.LastDeploymentConfig = deployment;
    delete endpoint._pendingConfig;
    delete endpoint._pendingSince;
  });
  await blue.stop();
}

async function firedAlarms(
  ctx: Ctx,
  names: string[],
  green: Fleet,
  since: number,
  roleArn: string | undefined,
): Promise<string[]> {
  if (names.length === 0 || since === 0) return [];
  let alarms: MetricAlarm[];
  try {
    // SageMaker reads the rollback alarms with the execution role ("Ensure that your IAM execution role has
    // permission to perform the cloudwatch:DescribeAlarms action on the auto-rollback alarms you specify",
    // https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
    const found = await ctx.roleClients(roleArn).cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names }));
    alarms = found.MetricAlarms ?? [];
  } catch (err) {
    const e = err as Error;
    // Without the permission the deployment cannot be guarded: it fails and blue keeps serving.
    if (e.name === 'AccessDenied' || e.name === 'AccessDeniedException')
      throw new Error(`cannot read the auto-rollback alarms: ${e.message}`);
    ctx.log(`DescribeAlarms failed (alarms not evaluated this round): ${e.message}`);
    return [];
  }
  const fired: string[] = [];
  for (const a of alarms) {
    // An alarm left in ALARM before this deployment's traffic shift is stale (CloudWatch would re-evaluate it);
    // one set to ALARM since then (SetAlarmState, e.g. a pipeline stopping its update) counts.
    const stale = a.StateValue === 'ALARM' && (a.StateUpdatedTimestamp?.getTime() ?? 0) < since;
    const variantDim = a.Dimensions?.find((dimension) => dimension.Name === 'VariantName')?.Value;
    const variants = green.variants.filter((variant) => !variantDim || variant.spec.VariantName === variantDim);
    const events = (variants.length ? variants : green.variants).flatMap((variant) => variant.metrics.events);
    const r = alarmFires(stale ? { ...a, StateValue: 'OK' } : a, events, since);
    if (!r.fires) continue;
    fired.push(a.AlarmName ?? '?');
    if (a.StateValue !== 'ALARM' || stale) {
      // What CloudWatch's own evaluation would do: the alarm's state and history show the breach.
      const reason = r.missingData
        ? `Threshold Crossed: no datapoint for ${a.MetricName} in the last ${a.Period} s (SageMaker publishes it ` +
          `once a minute) and TreatMissingData is breaching.`
        : `Threshold Crossed: the new fleet's ${a.MetricName} ${a.Statistic ?? a.ExtendedStatistic} was ${r.value} ` +
          `(${a.ComparisonOperator} ${a.Threshold}).`;
      await ctx.moto.cloudwatch
        .send(new SetAlarmStateCommand({ AlarmName: a.AlarmName, StateValue: 'ALARM', StateReason: reason }))
        .catch((err: Error) => ctx.log(`SetAlarmState ${a.AlarmName}: ${err.message}`));
    }
  }
  return fired;
}
