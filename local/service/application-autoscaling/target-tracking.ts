/**
 * Target tracking on SageMakerVariantInvocationsPerInstance: once per metric period (SageMaker: one minute;
 * `autoscalingPeriodMs` in local mode) every target with such a policy gets a datapoint, the variant's invocations in
 * the period divided by its instances (from the fleet's own invocation log, as SageMaker's metric is computed).
 * Like the alarms Application Auto Scaling creates for a target-tracking policy, 3 datapoints in a row above the
 * target scale out and 15 in a row below 90% of it scale in (to the minimum when there is no traffic), each after its
 * cooldown (default 300 s), to ceil(instances × metric / target) within [min, max]. Nothing is evaluated while the
 * endpoint is not InService ("auto scaling is blocked while the update operation is in progress").
 */
import type { Ctx } from '../core/context';
import { parseVariantResource } from '../core/documented-rules/autoscaling';
import type { Endpoints } from '../sagemaker/endpoints';
import { clamp, type ScalableTargetRecord, type ScalableTargets } from './scalable-targets';

const SCALE_OUT_DATAPOINTS = 3;
const SCALE_IN_DATAPOINTS = 15;
const SCALE_IN_SHARE = 0.9;
const DEFAULT_COOLDOWN_S = 300;

export class TargetTracking {
  private timer: NodeJS.Timeout | undefined;
  /** Datapoints per target (newest last). */
  private readonly history = new Map<string, number[]>();

  constructor(
    private readonly ctx: Ctx,
    private readonly targets: ScalableTargets,
    private readonly endpoints: Endpoints,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.evaluate(), this.ctx.autoscalingPeriodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One metric period: a datapoint per tracked target, and the scaling activities they call for. */
  evaluate(nowMs = Date.now()): void {
    for (const policy of this.targets.policies.values()) {
      const cfg = policy.TargetTrackingScalingPolicyConfiguration;
      const metric = (cfg?.PredefinedMetricSpecification as { PredefinedMetricType?: string } | undefined)
        ?.PredefinedMetricType;
      if (policy.PolicyType !== 'TargetTrackingScaling' || metric !== 'SageMakerVariantInvocationsPerInstance')
        continue;
      const target = this.targets.visible(policy);
      const v = parseVariantResource(policy.ResourceId);
      if (!target || !v || typeof cfg?.TargetValue !== 'number') continue;
      if (this.endpoints.endpoints.get(v.endpointName)?.EndpointStatus !== 'InService') continue;
      const cap = this.endpoints.variantCapacity(v.endpointName, v.variantName);
      const log = this.endpoints.variantEvents(v.endpointName, v.variantName);
      if (!cap || !log || cap.current === 0) continue;
      const invocations = log.since(nowMs - this.ctx.autoscalingPeriodMs).filter((event) => event.t < nowMs).length;
      const points = [...(this.history.get(policy.PolicyARN) ?? []), invocations / cap.current].slice(
        -SCALE_IN_DATAPOINTS,
      );
      this.history.set(policy.PolicyARN, points);
      this.decide(policy.PolicyARN, target, cfg, points, cap.desired, nowMs);
    }
  }

  private decide(
    policyArn: string,
    t: ScalableTargetRecord,
    cfg: Record<string, unknown>,
    points: number[],
    current: number,
    nowMs: number,
  ): void {
    const targetValue = cfg.TargetValue as number;
    const desiredFor = (metric: number) =>
      clamp(Math.ceil((current * metric) / targetValue), t.MinCapacity, t.MaxCapacity);
    const cooled = (last: number | undefined, key: string) =>
      last === undefined || nowMs - last >= ((cfg[key] as number | undefined) ?? DEFAULT_COOLDOWN_S) * 1000;
    const recent = points.slice(-SCALE_OUT_DATAPOINTS);
    if (recent.length === SCALE_OUT_DATAPOINTS && recent.every((p) => p > targetValue)) {
      const desired = desiredFor(recent[recent.length - 1] as number);
      if (
        desired > current &&
        cooled(t._lastScaleOut, 'ScaleOutCooldown') &&
        !t.SuspendedState.DynamicScalingOutSuspended
      )
        this.run(
          policyArn,
          t,
          desired,
          `monitor alarm: ${SCALE_OUT_DATAPOINTS} datapoints of SageMakerVariantInvocationsPerInstance above ${targetValue}`,
        );
      return;
    }
    if (cfg.DisableScaleIn === true || t.SuspendedState.DynamicScalingInSuspended) return;
    if (points.length === SCALE_IN_DATAPOINTS && points.every((p) => p < targetValue * SCALE_IN_SHARE)) {
      const average = points.reduce((a, b) => a + b, 0) / points.length;
      const desired = desiredFor(average);
      if (desired < current && cooled(t._lastScaleIn, 'ScaleInCooldown'))
        this.run(
          policyArn,
          t,
          desired,
          `monitor alarm: ${SCALE_IN_DATAPOINTS} datapoints of SageMakerVariantInvocationsPerInstance below ${targetValue * SCALE_IN_SHARE}`,
        );
    }
  }

  private run(policyArn: string, t: ScalableTargetRecord, desired: number, cause: string): void {
    try {
      this.targets.assertNoPendingUpdate(t);
    } catch {
      return;
    }
    // The next decision waits for datapoints of the new fleet size.
    this.history.delete(policyArn);
    void this.targets
      .scale(t, desired, cause)
      .catch((err: Error) => this.ctx.log(`autoscaling ${t.ResourceId}: ${err.message}`));
  }
}
