/**
 * UpdateEndpoint's blue/green traffic routing sizes, which the model cannot express: a canary is at most 50% of the
 * variant's instances, a linear step 10-50% of them (CapacitySize as an instance count or a percentage).
 */
import { invalid } from '../protocol';
import type { Body } from '../request-fields';
import type { RuleCheck } from './rule';

function obj(v: unknown): Body {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : {};
}

/** The size as a share of `instances` (a percentage or an instance count), or undefined when it is not given. */
function share(size: Body, instances: number): number | undefined {
  if (typeof size.Value !== 'number') return undefined;
  return size.Type === 'CAPACITY_PERCENT' ? size.Value / 100 : size.Value / Math.max(1, instances);
}

/** CANARY: CanarySize <= 50% of each variant's instances; LINEAR: LinearStepSize 10-50% of them. */
export const blueGreenStepSize: RuleCheck = ({ body }, state) => {
  const routing = obj(obj(obj(body.DeploymentConfig).BlueGreenUpdatePolicy).TrafficRoutingConfiguration);
  const type = routing.Type;
  if (type !== 'CANARY' && type !== 'LINEAR') return;
  const field = type === 'CANARY' ? 'CanarySize' : 'LinearStepSize';
  const size = obj(routing[field]);
  const [lo, hi] = type === 'CANARY' ? [0, 0.5] : [0.1, 0.5];
  const variants =
    typeof body.EndpointConfigName === 'string' ? (state.endpointConfigVariants(body.EndpointConfigName) ?? []) : [];
  const counts = size.Type === 'CAPACITY_PERCENT' ? [100] : variants.map((v) => v.InitialInstanceCount ?? 1);
  for (const instances of counts) {
    const s = share(size, instances);
    if (s !== undefined && (s < lo - 1e-9 || s > hi + 1e-9))
      throw invalid(
        type === 'CANARY'
          ? `CanarySize (${String(size.Value)} ${String(size.Type)}) must be less than or equal to 50% of the variant's total instance count (${instances}).`
          : `LinearStepSize (${String(size.Value)} ${String(size.Type)}) must be 10-50% of the variant's total instance count (${instances}).`,
      );
  }
};
