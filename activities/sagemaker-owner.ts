/**
 * Re-attach support for SageMaker creates: recognise "already exists" answers, tag what we create with the
 * workflow ID, and check that an existing resource carries our tag before attaching to it.
 */
import { ListTagsCommand, type Tag } from '@aws-sdk/client-sagemaker';
import { ErrorType } from '../contracts/errors';
import { WORKFLOW_ID_TAG } from '../contracts/task-queue';
import { aws, failure } from './aws-errors';
import type { ActivityDeps } from './deps';

interface ErrorLike {
  name?: string;
  message?: string;
  cause?: unknown;
}

/**
 * True for SageMaker's "this name is taken" answers: ResourceInUse, or a ValidationException saying
 * "Cannot create already existing …" (CreateModel, CreateEndpointConfig, CreateEndpoint answer that way).
 * Looks through an ApplicationFailure made by `aws(...)` to the SDK error it wraps.
 */
export function isAlreadyExists(err: unknown): boolean {
  for (let e = err as ErrorLike | undefined, depth = 0; e && depth < 3; e = e.cause as ErrorLike | undefined, depth++) {
    if (e.name === 'ResourceInUse') return true;
    if (e.name === 'ValidationException' && /already exist/i.test(e.message ?? '')) return true;
  }
  return false;
}

/** True when SageMaker says the resource does not exist (ResourceNotFound, or "Could not find …"). */
export function isNotFound(err: unknown): boolean {
  for (let e = err as ErrorLike | undefined, depth = 0; e && depth < 3; e = e.cause as ErrorLike | undefined, depth++) {
    if (e.name === 'ResourceNotFound' || e.name === 'ResourceNotFoundException') return true;
    if (e.name === 'ValidationException' && /could not find|does not exist|not found/i.test(e.message ?? ''))
      return true;
  }
  return false;
}

/**
 * The spec's tags plus the workflow ID tag, as SageMaker's Tag list. The workflow ID tag is ours to set (it proves
 * ownership): a tag of the same key among `tags` is dropped, so the key is never sent twice (SageMaker refuses a
 * duplicate key) and never names another owner.
 */
export function sageMakerTags(workflowId: string, tags: Record<string, string> = {}): Tag[] {
  return [
    ...Object.entries(tags)
      .filter(([Key]) => Key !== WORKFLOW_ID_TAG)
      .map(([Key, Value]) => ({ Key, Value })),
    { Key: WORKFLOW_ID_TAG, Value: workflowId },
  ];
}

/** Throws ResourceConflict unless the resource at `arn` carries our workflow ID tag. */
export async function assertOwned(deps: ActivityDeps, arn: string, workflowId: string, what: string): Promise<void> {
  const res = await aws(`ListTags ${arn}`, () =>
    deps.clients.sagemaker.send(new ListTagsCommand({ ResourceArn: arn, MaxResults: 100 })),
  );
  const owner = res.Tags?.find((t) => t.Key === WORKFLOW_ID_TAG)?.Value;
  if (owner !== workflowId) {
    throw failure(
      ErrorType.ResourceConflict,
      `${what} already exists but was not created by workflow "${workflowId}" (its ${WORKFLOW_ID_TAG} tag is ` +
        `${owner === undefined ? 'missing' : `"${owner}"`})`,
    );
  }
}
