/** What CreateTransformJob refuses that the model cannot express: the payload limits across fields. */
import { fail } from '../request-fields';
import type { RuleCheck } from './rule';

/** The most a transform job's payloads may add up to per instance, in MB (API_CreateTransformJob, MaxPayloadInMB). */
export const TRANSFORM_PAYLOAD_LIMIT_MB = 100;

/** MaxPayloadInMB at most 100, and MaxConcurrentTransforms × MaxPayloadInMB at most 100 when both are given. */
export const transformPayloadLimits: RuleCheck = ({ body }) => {
  const payload = body.MaxPayloadInMB;
  if (typeof payload !== 'number') return;
  if (payload > TRANSFORM_PAYLOAD_LIMIT_MB)
    fail('MaxPayloadInMB', payload, `Member must have value less than or equal to ${TRANSFORM_PAYLOAD_LIMIT_MB}`);
  const concurrent = body.MaxConcurrentTransforms;
  if (typeof concurrent === 'number' && concurrent > 0 && concurrent * payload > TRANSFORM_PAYLOAD_LIMIT_MB)
    fail(
      'MaxConcurrentTransforms',
      concurrent,
      `MaxConcurrentTransforms * MaxPayloadInMB (${concurrent} * ${payload}) must not exceed ${TRANSFORM_PAYLOAD_LIMIT_MB} MB`,
    );
};
