/**
 * Maps an EventBridge state-change event (as the rule delivers it to SQS: the whole event as the message body) to the
 * step workflow that waits on the resource, from what the pipeline stamps on it: SageMaker resources carry the
 * creating step's workflow ID in their `pipeline:workflow-id` tag (the event's detail.Tags), an endpoint being
 * updated also the updating step's in `pipeline:updated-by`, and a CodeBuild build its step's in the
 * PIPELINE_WORKFLOW_ID environment variable (detail.additional-information.environment.environment-variables).
 */
import { BUILD_ENV } from '../activities/codebuild';
import { type JobStateChanged, UPDATED_BY_TAG } from '../contracts/job-events';
import { WORKFLOW_ID_TAG } from '../contracts/task-queue';

/**
 * Where each SageMaker event keeps the resource's name, its status and (training jobs) its secondary status (AWS's
 * documented event details: the SageMaker developer guide's "Events that SageMaker sends to EventBridge" and the
 * EventBridge schema of "SageMaker Training Job State Change", which has TrainingJobStatus and SecondaryStatus).
 */
const SAGEMAKER_FIELDS: Record<string, { name: string; status: string; secondary?: string }> = {
  'SageMaker Training Job State Change': {
    name: 'TrainingJobName',
    status: 'TrainingJobStatus',
    secondary: 'SecondaryStatus',
  },
  'SageMaker HyperParameter Tuning Job State Change': {
    name: 'HyperParameterTuningJobName',
    status: 'HyperParameterTuningJobStatus',
  },
  'SageMaker Processing Job State Change': { name: 'ProcessingJobName', status: 'ProcessingJobStatus' },
  'SageMaker Transform Job State Change': { name: 'TransformJobName', status: 'TransformJobStatus' },
  'SageMaker Endpoint State Change': { name: 'EndpointName', status: 'EndpointStatus' },
  'SageMaker Model Package State Change': { name: 'ModelPackageName', status: 'ModelPackageStatus' },
};

/** An event the relay signals a step with, or why it is dropped (harmless: the polling net still runs). */
export type MappedEvent = { workflowId: string; change: JobStateChanged } | { skip: string };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * A tag's value from an event's Tags, which SageMaker's events carry either as a map ({"key": "value"}) or as
 * SageMaker's Tag list ([{"Key": ..., "Value": ...}]); both are read.
 */
export function tagValue(tags: unknown, key: string): string | null {
  if (Array.isArray(tags)) {
    for (const t of tags) if (isObject(t) && (t.Key ?? t.key) === key) return str(t.Value ?? t.value);
    return null;
  }
  return isObject(tags) ? str(tags[key]) : null;
}

/** Maps one SQS message body to the signal it stands for. */
export function mapEvent(body: string): MappedEvent {
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { skip: 'message body is not JSON' };
  }
  if (!isObject(event) || !isObject(event.detail)) return { skip: 'not an EventBridge event (no detail)' };
  const detailType = str(event['detail-type']) ?? '';
  const time = str(event.time) ?? '';
  const detail = event.detail;
  if (event.source === 'aws.sagemaker') {
    const fields = SAGEMAKER_FIELDS[detailType];
    if (!fields) return { skip: `unhandled SageMaker event "${detailType}"` };
    const resource = str(detail[fields.name]) ?? str(detail.ModelPackageArn) ?? '';
    const workflowId =
      (detailType === 'SageMaker Endpoint State Change' ? tagValue(detail.Tags, UPDATED_BY_TAG) : null) ??
      tagValue(detail.Tags, WORKFLOW_ID_TAG);
    if (!workflowId)
      return { skip: `${detailType} for ${resource || 'an unnamed resource'}: no ${WORKFLOW_ID_TAG} tag` };
    const status = str(detail[fields.status]);
    const change: JobStateChanged = fields.secondary
      ? { detailType, resource, status, secondaryStatus: str(detail[fields.secondary]), time }
      : { detailType, resource, status, time };
    return { workflowId, change };
  }
  if (event.source === 'aws.codebuild' && detailType === 'CodeBuild Build State Change') {
    const resource = str(detail['build-id']) ?? '';
    const info = isObject(detail['additional-information']) ? detail['additional-information'] : {};
    const env = isObject(info.environment) ? info.environment['environment-variables'] : undefined;
    const variable = Array.isArray(env)
      ? env.find((v): v is Json => isObject(v) && v.name === BUILD_ENV.workflowId)
      : undefined;
    const workflowId = variable ? str(variable.value) : null;
    if (!workflowId) return { skip: `build ${resource}: no ${BUILD_ENV.workflowId} variable` };
    return { workflowId, change: { detailType, resource, status: str(detail['build-status']), time } };
  }
  return { skip: `unhandled event ${String(event.source)} "${detailType}"` };
}
