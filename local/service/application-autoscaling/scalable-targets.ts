/**
 * Application Auto Scaling (AWS JSON 1.1, `X-Amz-Target: AnyScaleFrontendService.<Operation>`) for SageMaker
 * endpoint variants: Register/DeregisterScalableTarget, Put/DeleteScalingPolicy and the three Describe calls. It
 * imitates the interplay AWS documents: registering brings the variant's capacity into [min, max] with a scaling
 * activity, which puts the endpoint in Updating (it calls UpdateEndpointWeightsAndCapacities); a target just created
 * is invisible for a while (eventual consistency: ObjectNotFoundException, left out of describes); an update while a
 * scaling activity is in progress fails with ConcurrentUpdateException; deleting an endpoint deregisters its targets.
 * Target-tracking policies are evaluated by target-tracking.ts. Only the SageMaker variant dimension is served.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ACCOUNT_ID, REGION } from '../../shared/account';
import type { Ctx } from '../core/context';
import { autoscalingInvalid, parseVariantResource, VARIANT_DIMENSION } from '../core/documented-rules/autoscaling';
import { AwsError, now } from '../core/protocol';
import { type Body, arr, oneOf, optInt, optObj, optStr, str } from '../core/request-fields';
import type { Endpoints } from '../sagemaker/endpoints';

/** The service-linked role Application Auto Scaling uses for SageMaker endpoints. */
export const SAGEMAKER_SCALING_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`;

export interface ScalableTargetRecord {
  ServiceNamespace: string;
  ResourceId: string;
  ScalableDimension: string;
  MinCapacity: number;
  MaxCapacity: number;
  RoleARN: string;
  CreationTime: number;
  ScalableTargetARN: string;
  SuspendedState: {
    DynamicScalingInSuspended: boolean;
    DynamicScalingOutSuspended: boolean;
    ScheduledScalingSuspended: boolean;
  };
  /** Epoch ms from which calls see the target (eventual consistency after its creation). */
  _visibleAt: number;
  /** Epoch ms the last scale-out / scale-in activity ended (cooldowns). */
  _lastScaleOut?: number;
  _lastScaleIn?: number;
}

export interface ScalingPolicyRecord {
  PolicyARN: string;
  PolicyName: string;
  ServiceNamespace: string;
  ResourceId: string;
  ScalableDimension: string;
  PolicyType: string;
  TargetTrackingScalingPolicyConfiguration?: Body;
  StepScalingPolicyConfiguration?: Body;
  CreationTime: number;
}

export interface ScalingActivityRecord {
  ActivityId: string;
  ServiceNamespace: string;
  ResourceId: string;
  ScalableDimension: string;
  Description: string;
  Cause: string;
  StartTime: number;
  EndTime?: number;
  StatusCode: 'InProgress' | 'Successful' | 'Failed';
  StatusMessage?: string;
}

type Key = Pick<ScalableTargetRecord, 'ServiceNamespace' | 'ResourceId' | 'ScalableDimension'>;

const keyOf = (k: Key): string => `${k.ServiceNamespace}|${k.ResourceId}|${k.ScalableDimension}`;

/** Application Auto Scaling's errors carry `Message` (its shapes' member). */
function aasError(code: string, message: string): AwsError {
  return new AwsError(code, message, 400, { Message: message });
}

function notRegistered(k: Key): AwsError {
  return aasError(
    'ObjectNotFoundException',
    `No scalable target registered for service namespace: ${k.ServiceNamespace}, resource ID: ${k.ResourceId}, scalable dimension: ${k.ScalableDimension}`,
  );
}

/** `n` within [min, max]. */
export function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

export class ScalableTargets {
  constructor(
    private readonly ctx: Ctx,
    private readonly endpoints: Endpoints,
  ) {
    endpoints.events.on('deleted', (name: string) => this.endpointDeleted(name));
  }

  get targets() {
    return this.ctx.store.kind<ScalableTargetRecord>('scalable-targets');
  }

  get policies() {
    return this.ctx.store.kind<ScalingPolicyRecord>('scaling-policies');
  }

  private get activities() {
    return this.ctx.store.kind<ScalingActivityRecord>('scaling-activities');
  }

  handlers(): Record<string, (b: Body) => unknown> {
    return {
      RegisterScalableTarget: (b) => this.register(b),
      DeregisterScalableTarget: (b) => this.deregister(this.key(b)),
      PutScalingPolicy: (b) => this.putPolicy(b),
      DeleteScalingPolicy: (b) => this.deletePolicy(b),
      DescribeScalableTargets: (b) => this.describeTargets(b),
      DescribeScalingPolicies: (b) => this.describePolicies(b),
      DescribeScalingActivities: (b) => this.describeActivities(b),
    };
  }

  /** A target calls can see: registered, and past its eventual-consistency delay. */
  visible(k: Key): ScalableTargetRecord | undefined {
    const t = this.targets.get(keyOf(k));
    return t && Date.now() >= t._visibleAt ? t : undefined;
  }

  /** Variant names of an endpoint that are registered (visible or not: SageMaker knows at once). */
  scalableVariants(endpointName: string): string[] {
    return this.targets
      .values()
      .map((target) => parseVariantResource(target.ResourceId))
      .filter((v) => v?.endpointName === endpointName)
      .map((v) => v?.variantName as string);
  }

  /** ConcurrentUpdateException while a scaling activity of the target is in progress. */
  assertNoPendingUpdate(k: Key): void {
    const busy = this.activities.values().some((a) => a.StatusCode === 'InProgress' && keyOf(a) === keyOf(k));
    if (busy)
      throw aasError('ConcurrentUpdateException', 'You already have a pending update to an Auto Scaling resource.');
  }

  private key(b: Body): Key {
    const ServiceNamespace = str(b, 'ServiceNamespace', { path: 'serviceNamespace' });
    const ScalableDimension = str(b, 'ScalableDimension', { path: 'scalableDimension' });
    if (ServiceNamespace !== 'sagemaker' || ScalableDimension !== VARIANT_DIMENSION)
      throw autoscalingInvalid(
        `The local Application Auto Scaling service scales SageMaker endpoint variants only (service namespace sagemaker, ${VARIANT_DIMENSION}); got ${ServiceNamespace} ${ScalableDimension}.`,
      );
    return {
      ServiceNamespace,
      ResourceId: str(b, 'ResourceId', { path: 'resourceId', min: 1, max: 1600 }),
      ScalableDimension,
    };
  }

  private register(b: Body): unknown {
    const k = this.key(b);
    // Variant exists, MinCapacity/MaxCapacity present and ordered: documented rule autoscaling.register-variant.
    this.assertNoPendingUpdate(k);
    const min = optInt(b, 'MinCapacity', { path: 'minCapacity', min: 0 });
    const max = optInt(b, 'MaxCapacity', { path: 'maxCapacity', min: 0 });
    const existing = this.targets.get(keyOf(k));
    const t = Date.now();
    const record: ScalableTargetRecord = existing
      ? { ...existing, MinCapacity: min ?? existing.MinCapacity, MaxCapacity: max ?? existing.MaxCapacity }
      : {
          ...k,
          MinCapacity: min as number,
          MaxCapacity: max as number,
          RoleARN: optStr(b, 'RoleARN') ?? SAGEMAKER_SCALING_ROLE,
          CreationTime: now(),
          ScalableTargetARN: `arn:aws:application-autoscaling:${REGION}:${ACCOUNT_ID}:scalable-target/${createHash('sha256').update(keyOf(k)).digest('hex').slice(0, 36)}`,
          SuspendedState: {
            DynamicScalingInSuspended: false,
            DynamicScalingOutSuspended: false,
            ScheduledScalingSuspended: false,
          },
          _visibleAt: t + this.ctx.autoscalingConsistencyMs,
        };
    const suspended = optObj(b.SuspendedState, 'suspendedState');
    if (suspended)
      record.SuspendedState = { ...record.SuspendedState, ...(suspended as ScalableTargetRecord['SuspendedState']) };
    this.targets.put(keyOf(k), record);
    this.bringIntoRange(record);
    return { ScalableTargetARN: record.ScalableTargetARN };
  }

  /** "…it changes the resource's current capacity to a value that is inside of this range" (when it is active). */
  private bringIntoRange(t: ScalableTargetRecord): void {
    const v = parseVariantResource(t.ResourceId);
    const e = v && this.endpoints.endpoints.get(v.endpointName);
    const cap = v && this.endpoints.variantCapacity(v.endpointName, v.variantName);
    if (!v || !cap || e?.EndpointStatus !== 'InService') return;
    const desired = clamp(cap.desired, t.MinCapacity, t.MaxCapacity);
    if (desired === cap.desired) return;
    const bound =
      desired > cap.desired
        ? `minimum capacity was set to ${t.MinCapacity}`
        : `maximum capacity was set to ${t.MaxCapacity}`;
    void this.scale(t, desired, `${bound} at ${new Date().toISOString()}`).catch(() => undefined);
  }

  /**
   * A scaling activity: UpdateEndpointWeightsAndCapacities on the variant (the endpoint is Updating meanwhile),
   * recorded for DescribeScalingActivities. Resolves when the endpoint is InService again.
   */
  async scale(t: ScalableTargetRecord, desired: number, cause: string): Promise<void> {
    const v = parseVariantResource(t.ResourceId);
    if (!v) return;
    const activity: ScalingActivityRecord = {
      ActivityId: randomUUID(),
      ServiceNamespace: t.ServiceNamespace,
      ResourceId: t.ResourceId,
      ScalableDimension: t.ScalableDimension,
      Description: `Setting desired instance count to ${desired}.`,
      Cause: cause,
      StartTime: now(),
      StatusCode: 'InProgress',
    };
    this.activities.put(activity.ActivityId, activity);
    const before = this.endpoints.variantCapacity(v.endpointName, v.variantName)?.desired ?? desired;
    this.ctx.log(`autoscaling ${t.ResourceId}: ${activity.Description} (${cause})`);
    try {
      await this.endpoints.setVariantCapacity(v.endpointName, v.variantName, desired);
      this.activities.update(activity.ActivityId, (a) => {
        a.StatusCode = 'Successful';
        a.StatusMessage = `Successfully set desired instance count to ${desired}. Change successfully fulfilled by sagemaker.`;
        a.EndTime = now();
      });
      this.targets.update(keyOf(t), (target) => {
        if (desired > before) target._lastScaleOut = Date.now();
        else target._lastScaleIn = Date.now();
      });
    } catch (err) {
      this.activities.update(activity.ActivityId, (a) => {
        a.StatusCode = 'Failed';
        a.StatusMessage = `Failed to set desired instance count to ${desired}. Reason: ${(err as Error).message}`;
        a.EndTime = now();
      });
      throw err;
    }
  }

  private deregister(k: Key): unknown {
    if (!this.visible(k)) throw notRegistered(k);
    this.assertNoPendingUpdate(k);
    this.targets.delete(keyOf(k));
    // Deregistering a scalable target deletes its scaling policies.
    for (const p of this.policies.values()) if (keyOf(p) === keyOf(k)) this.policies.delete(p.PolicyARN);
    return {};
  }

  private putPolicy(b: Body): unknown {
    const k = this.key(b);
    const PolicyName = str(b, 'PolicyName', { path: 'policyName', min: 1, max: 256 });
    if (!this.visible(k)) throw notRegistered(k);
    this.assertNoPendingUpdate(k);
    const PolicyType = (oneOf(b, 'PolicyType', ['TargetTrackingScaling', 'StepScaling', 'PredictiveScaling'] as const, {
      path: 'policyType',
      optional: true,
    }) ?? 'StepScaling') as string;
    const tt = optObj(b.TargetTrackingScalingPolicyConfiguration, 'targetTrackingScalingPolicyConfiguration');
    if (PolicyType === 'TargetTrackingScaling') {
      if (!tt)
        throw autoscalingInvalid(
          'TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.',
        );
      if (typeof tt.TargetValue !== 'number') throw autoscalingInvalid('TargetValue is required.');
      const predefined = optObj(tt.PredefinedMetricSpecification, 'predefinedMetricSpecification');
      if (!predefined && !tt.CustomizedMetricSpecification)
        throw autoscalingInvalid('Either PredefinedMetricSpecification or CustomizedMetricSpecification is required.');
    }
    const existing = this.policies
      .values()
      .find((policy) => policy.PolicyName === PolicyName && keyOf(policy) === keyOf(k));
    const PolicyARN =
      existing?.PolicyARN ??
      `arn:aws:autoscaling:${REGION}:${ACCOUNT_ID}:scalingPolicy:${randomUUID()}:resource/${k.ServiceNamespace}/${k.ResourceId}:policyName/${PolicyName}`;
    this.policies.put(PolicyARN, {
      PolicyARN,
      PolicyName,
      ...k,
      PolicyType,
      TargetTrackingScalingPolicyConfiguration: tt,
      StepScalingPolicyConfiguration: optObj(b.StepScalingPolicyConfiguration, 'stepScalingPolicyConfiguration'),
      CreationTime: existing?.CreationTime ?? now(),
    });
    return { PolicyARN };
  }

  private deletePolicy(b: Body): unknown {
    const k = this.key(b);
    const name = str(b, 'PolicyName', { path: 'policyName', min: 1, max: 256 });
    const p = this.policies.values().find((policy) => policy.PolicyName === name && keyOf(policy) === keyOf(k));
    if (!p)
      throw aasError(
        'ObjectNotFoundException',
        `No scaling policy found for service namespace: ${k.ServiceNamespace}, resource ID: ${k.ResourceId}, scalable dimension: ${k.ScalableDimension}, policy name: ${name}`,
      );
    this.assertNoPendingUpdate(k);
    this.policies.delete(p.PolicyARN);
    return {};
  }

  private page<T>(items: T[], b: Body): { page: T[]; NextToken?: string } {
    const max = optInt(b, 'MaxResults', { path: 'maxResults', min: 1, max: 50 }) ?? 50;
    const start = b.NextToken === undefined ? 0 : Number.parseInt(String(b.NextToken), 10);
    if (!Number.isInteger(start) || start < 0)
      throw aasError('InvalidNextTokenException', 'The next token supplied was invalid.');
    const page = items.slice(start, start + max);
    return start + max < items.length ? { page, NextToken: String(start + max) } : { page };
  }

  private describeTargets(b: Body): unknown {
    const ns = str(b, 'ServiceNamespace', { path: 'serviceNamespace' });
    const ids = arr(b, 'ResourceIds', { optional: true, path: 'resourceIds' }) as string[];
    const dim = optStr(b, 'ScalableDimension');
    const items = this.targets
      .values()
      .filter(
        (target) =>
          target.ServiceNamespace === ns &&
          (ids.length === 0 || ids.includes(target.ResourceId)) &&
          (!dim || target.ScalableDimension === dim) &&
          this.visible(target),
      );
    const { page, NextToken } = this.page(items, b);
    return { ScalableTargets: page.map(({ _visibleAt, _lastScaleIn, _lastScaleOut, ...t }) => t), NextToken };
  }

  private describePolicies(b: Body): unknown {
    const ns = str(b, 'ServiceNamespace', { path: 'serviceNamespace' });
    const id = optStr(b, 'ResourceId');
    const dim = optStr(b, 'ScalableDimension');
    const names = arr(b, 'PolicyNames', { optional: true, path: 'policyNames' }) as string[];
    const items = this.policies
      .values()
      .filter(
        (policy) =>
          policy.ServiceNamespace === ns &&
          (!id || policy.ResourceId === id) &&
          (!dim || policy.ScalableDimension === dim) &&
          (names.length === 0 || names.includes(policy.PolicyName)),
      );
    const { page, NextToken } = this.page(items, b);
    return { ScalingPolicies: page.map((policy) => ({ ...policy, Alarms: [] })), NextToken };
  }

  private describeActivities(b: Body): unknown {
    const ns = str(b, 'ServiceNamespace', { path: 'serviceNamespace' });
    const id = optStr(b, 'ResourceId');
    const dim = optStr(b, 'ScalableDimension');
    const items = this.activities
      .values()
      .filter((a) => a.ServiceNamespace === ns && (!id || a.ResourceId === id) && (!dim || a.ScalableDimension === dim))
      .sort((a, c) => c.StartTime - a.StartTime);
    const { page, NextToken } = this.page(items, b);
    return { ScalingActivities: page, NextToken };
  }

  /** "If you delete an endpoint, Application Auto Scaling ... deregisters" its variants' targets. */
  endpointDeleted(endpointName: string): void {
    for (const t of this.targets.values()) {
      if (parseVariantResource(t.ResourceId)?.endpointName !== endpointName) continue;
      this.targets.delete(keyOf(t));
      for (const p of this.policies.values()) if (keyOf(p) === keyOf(t)) this.policies.delete(p.PolicyARN);
    }
  }

  /** After a restart: an activity that was in progress did not finish. */
  resume(): void {
    for (const a of this.activities.values())
      if (a.StatusCode === 'InProgress')
        this.activities.update(a.ActivityId, (activity) => {
          activity.StatusCode = 'Failed';
          activity.StatusMessage = 'Interrupted by a restart of the local service.';
          activity.EndTime = now();
        });
  }
}
