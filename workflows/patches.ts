/**
 * Every patch the workflow code carries: a change to the commands a workflow emits ships behind `patched(id)` so that
 * runs recorded before it replay on the old path (docs/versioning.md, "Changing the pipeline safely"). Each entry says
 * what it changed and in which version; retiring one is deprecatePatch(id) once no open run can lack its marker, then
 * removing the old path once no open run can hold the deprecated marker either.
 * Code refers to a patch only as `PATCH.x` (no aliases). Entries marked "deprecated in v6" are asked with
 * deprecatePatch: their old paths are gone with the retired builds v1-v3 (docs/workflow-retirement.md); each entry
 * goes once no run started before the v6 release is open.
 */
export const PATCH = {
  /**
   * v2 (pipeline): a run whose workflow ID was used before (a re-run after a failure) looks its earlier runs up and
   * names its resources with a run key, instead of re-attaching to the earlier run's Failed training job.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  freshResourcesOnRerun: 'fresh-resources-on-rerun',
  /**
   * v2 (pipeline): steps are started with ParentClosePolicy REQUEST_CANCEL instead of the default TERMINATE, so
   * terminating (or timing out) a pipeline gives the running step the chance to stop its job.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  childrenRequestCancel: 'children-request-cancel',
  /**
   * v2 (pipeline and registerModel): the approval state goes into the ApprovalStatus search attribute (registerModel
   * tells its pipeline when it starts waiting for a reviewer; the pipeline records the outcome).
   * Deprecated in v6 (old path retired with v1-v3).
   */
  approvalStatusSearchAttribute: 'approval-status-search-attribute',
  /**
   * v3 (pipeline, deployModel): rollback alarm periods must be whole minutes (SageMaker publishes endpoint metrics
   * once a minute); a spec or deployModel input with 10 or 30 s now fails up front.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  rollbackPeriodWholeMinutes: 'rollback-period-whole-minutes',
  /**
   * v3 (pipeline): image.codeBuild.serviceRoleArn is required, as CodeBuild's CreateProject requires serviceRole.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  codeBuildServiceRoleRequired: 'codebuild-service-role-required',
  /**
   * v3 (pipeline): the cost guard prices runs with the price table corrected on 2026-11-30.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  priceTable20261130: 'price-table-2026-11-30',
  /**
   * v3 (pipeline): the spec's region is checked against the worker's (checkRegion) before anything is created.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  specRegionCheck: 'spec-region-check',
  /**
   * v3 (pipeline): the team's code (training.code, deployment.code) is packed and uploaded (packUserCode).
   * Deprecated in v6 (old path retired with v1-v3).
   */
  packUserCode: 'pack-user-code',
  /**
   * v3 (registerModel): the champion's model is repacked with the inference code (repackModel).
   * Deprecated in v6 (old path retired with v1-v3).
   */
  repackInferenceCode: 'repack-inference-code',
  /**
   * v4 (pipeline): with `prepareData.enabled`, the image's `prepare` runs as a Processing job after syncData (the
   * prepareData step) and its `train`/`val` outputs become the training channels. Asked only when the spec enables the
   * step, so a run without it records no marker.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  prepareDataStep: 'prepare-data-step',
  /**
   * v4 (pipeline): with `evaluation.enabled`, the champion is scored by a Batch Transform job before registration (the
   * evaluateModel step) and registerModel receives the evaluation (ModelMetrics, eval_nll champion rule). Asked only
   * when the spec enables the step.
   * Deprecated in v6 (old path retired with v1-v3).
   */
  evaluateModelStep: 'evaluate-model-step',
  /**
   * v5 (pipeline): the account preflight (checkAccount: Service Quotas for every instance the spec needs, the roles'
   * trust, the worker's permissions, the bucket's region, the repository) runs before anything is created.
   */
  accountPreflight: 'account-preflight',
  /**
   * v5 (pipeline): a cancelled run, after its steps' cleanup, closes as Canceled (it rethrows the cancellation)
   * instead of completing with outcome "cancelled"; its summary goes into the run's memo (`summary`), where `cli
   * status` and `cli stop` read it. Asked only once the run is cancelled.
   */
  cancelledRunClosesCanceled: 'cancelled-run-closes-canceled',
  /**
   * v5 (pipeline): before a retraining run warm-starts tuning from the previous run's tuning job, an activity
   * (checkWarmStartParent) compares that job with this run's tuning definition; when SageMaker would refuse the
   * parent the run tunes cold and its summary says why. Asked only when a parent was found.
   */
  warmStartParentCheck: 'warm-start-parent-check',
  /**
   * v5 (pipeline): with tuning enabled, a spec with more than 48 training environment variables (a tuning job's
   * TrainingJobDefinition.Environment limit) fails up front. Asked only when a spec breaks the rule.
   */
  tuningEnvironmentLimit: 'tuning-environment-limit',
  /**
   * v6 (deployModel): before creating or updating the endpoint, an activity (ensureEndpointDashboard) puts the
   * endpoint's CloudWatch dashboard (traffic, latency, errors, the rollback alarms' metrics, the fleet). Asked on
   * every deployment; a run started before it replays without the activity.
   */
  endpointDashboard: 'endpoint-dashboard',
  /**
   * v6 (pipeline): a run that ends with its steps done writes its report page to S3 (writeRunReport) and records
   * the page and its actual spend in its result (`report`) and memo.
   */
  runReport: 'run-report',
  /**
   * v6 (every job step, workflows/job-step.ts): a `jobStateChanged` signal from the event relay cancels the step's
   * current wait and the step describes the job once (docs/events.md). Asked at a step's first such signal, so a run
   * that never gets one records no marker.
   */
  jobStateEvents: 'job-state-events',
  /**
   * v7 (every job step, workflows/job-step.ts): a `jobStateChanged` signal is read as a hint before anything is
   * described. Only a hint whose status differs from the one the step's wait is waiting to leave (or that carries no
   * status) cancels the wait and describes the job; one that repeats that status (a training job's secondary-status
   * change, a duplicate) only shows its secondary status on the step's phase, marked "(event)", and the wait goes on
   * (docs/events.md). Asked at a step's first signal, with jobStateEvents, so a step that took its first signal on
   * v6 keeps v6's describe-on-every-signal to its end.
   */
  describeOnStatusChange: 'describe-on-status-change',
} as const;
