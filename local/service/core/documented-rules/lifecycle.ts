/**
 * What SageMaker refuses because of the state a job or endpoint is in: stopping a training or tuning job that is no
 * longer InProgress, updating an endpoint that is not InService, deleting an endpoint while an operation on it is in
 * progress, and an update that changes the instance type of (or removes) a variant that Application Auto Scaling
 * scales.
 */
import { IN_PROGRESS_ENDPOINT_STATUSES } from '../../../../contracts/deploy-model';
import { invalid } from '../protocol';
import type { RuleCheck, RuleState } from './rule';

const IN_PROGRESS_ENDPOINT = new Set<string>(IN_PROGRESS_ENDPOINT_STATUSES);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** StopTrainingJob: only an InProgress job can be stopped (a Stopping one is already on its way). */
export const stopTrainingJobState: RuleCheck = ({ body }, state) => {
  const name = str(body.TrainingJobName);
  const status = name && state.trainingJobStatus(name);
  if (status && status !== 'InProgress' && status !== 'Stopping')
    throw invalid(`The request was rejected because the training job is in status ${status}.`);
};

/** StopHyperParameterTuningJob: only an InProgress tuning job can be stopped. */
export const stopTuningJobState: RuleCheck = ({ body }, state) => {
  const name = str(body.HyperParameterTuningJobName);
  const job = name ? state.tuningJob(name) : undefined;
  if (job && job.status !== 'InProgress')
    throw invalid(`The request was rejected because the tuning job is in status ${job.status}.`);
};

function refuseInProgress(state: RuleState, name: string | undefined): void {
  const e = name ? state.endpoint(name) : undefined;
  if (e && IN_PROGRESS_ENDPOINT.has(e.status)) throw invalid(`Cannot update in-progress endpoint "${e.arn}".`);
}

/** UpdateEndpoint and UpdateEndpointWeightsAndCapacities: the endpoint must be InService. */
export const updateEndpointState: RuleCheck = ({ body }, state) => {
  const name = str(body.EndpointName);
  refuseInProgress(state, name);
  const e = name ? state.endpoint(name) : undefined;
  if (e && e.status !== 'InService')
    throw invalid(`Cannot update endpoint "${e.arn}" in status ${e.status}; it must be InService.`);
};

/** DeleteEndpoint: refused while the endpoint is being created or updated ("Cannot update in-progress endpoint"). */
export const deleteEndpointState: RuleCheck = ({ body }, state) => {
  const name = str(body.EndpointName);
  const e = name ? state.endpoint(name) : undefined;
  // Deleting twice is answered like the first delete (the endpoint is going away either way).
  if (e?.status === 'Deleting') return;
  refuseInProgress(state, name);
};

/**
 * UpdateEndpoint to a config that changes the instance type of a variant registered with Application Auto Scaling,
 * or drops such a variant, fails: deregister the scalable target first. Changing only the model is allowed.
 */
export const autoscaledVariantUpdate: RuleCheck = ({ body }, state) => {
  const name = str(body.EndpointName);
  const configName = str(body.EndpointConfigName);
  const e = name ? state.endpoint(name) : undefined;
  if (!e || !configName || !name) return;
  const scaled = state.scalableVariants(name);
  if (scaled.length === 0) return;
  const before = state.endpointConfigVariants(e.configName) ?? [];
  const after = state.endpointConfigVariants(configName);
  if (!after) return;
  const blocked = scaled.filter((variant) => {
    const next = after.find((v) => v.VariantName === variant);
    const prev = before.find((v) => v.VariantName === variant);
    return !next || (prev?.InstanceType !== undefined && next.InstanceType !== prev.InstanceType);
  });
  if (blocked.length)
    throw invalid(
      `The variant(s) [${blocked.join(', ')}] of endpoint ${name} are registered as Application Auto Scaling scalable targets: an update that changes their instance type or removes them fails. Delete the scaling policies and call DeregisterScalableTarget first, then update.`,
    );
};
