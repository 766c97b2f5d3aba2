/**
 * Application Auto Scaling rules for SageMaker endpoint variants: the variant must be deployed (an existing
 * endpoint's production variant), a new scalable target needs both MinCapacity and MaxCapacity, the minimum is at
 * least 1 instance and the maximum at least the minimum.
 */
import { AwsError } from '../protocol';
import type { RuleCheck } from './rule';

/** The scalable dimension of a SageMaker variant's instance count. */
export const VARIANT_DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
const VARIANT_RESOURCE = /^endpoint\/([^/]+)\/variant\/([^/]+)$/;

/** Application Auto Scaling answers its own ValidationException (the `Message` member, AWS JSON 1.1). */
export function autoscalingInvalid(message: string): AwsError {
  return new AwsError('ValidationException', message, 400);
}

/** Endpoint and variant names of a variant's resource ID, or undefined for another resource type. */
export function parseVariantResource(resourceId: string): { endpointName: string; variantName: string } | undefined {
  const m = VARIANT_RESOURCE.exec(resourceId);
  return m ? { endpointName: m[1] as string, variantName: m[2] as string } : undefined;
}

/** RegisterScalableTarget of a SageMaker variant: it must be deployed, and its capacity range must make sense. */
export const registerVariantTarget: RuleCheck = ({ body }, state) => {
  if (body.ServiceNamespace !== 'sagemaker' || body.ScalableDimension !== VARIANT_DIMENSION) return;
  const resourceId = String(body.ResourceId ?? '');
  const variant = parseVariantResource(resourceId);
  if (!variant)
    throw autoscalingInvalid(
      `Unsupported resource ID ${resourceId} for scalable dimension ${VARIANT_DIMENSION}: use endpoint/<endpoint-name>/variant/<variant-name>.`,
    );
  const endpoint = state.endpoint(variant.endpointName);
  const variants = endpoint ? (state.endpointConfigVariants(endpoint.configName) ?? []) : [];
  if (!endpoint || !variants.some((v) => v.VariantName === variant.variantName))
    throw autoscalingInvalid(
      `The production variant ${variant.variantName} of endpoint ${variant.endpointName} does not exist: deploy the model before registering it as a scalable target.`,
    );
  const existing = state.scalableTarget('sagemaker', resourceId, VARIANT_DIMENSION);
  const min = typeof body.MinCapacity === 'number' ? body.MinCapacity : existing?.MinCapacity;
  const max = typeof body.MaxCapacity === 'number' ? body.MaxCapacity : existing?.MaxCapacity;
  if (min === undefined || max === undefined)
    throw autoscalingInvalid('MinCapacity and MaxCapacity are required when registering a new scalable target.');
  if (min < 1) throw autoscalingInvalid(`MinCapacity of a SageMaker variant must be at least 1 instance, got ${min}.`);
  if (max < min)
    throw autoscalingInvalid(`MaxCapacity (${max}) must be greater than or equal to MinCapacity (${min}).`);
};
