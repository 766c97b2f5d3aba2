/**
 * Every patch the workflow code carries: a change to the commands a workflow emits ships behind `patched(id)` so that
 * runs recorded before it replay on the old path (README "Changing the pipeline safely"). Each entry says what it
 * changed and in which version; retiring one is deprecatePatch(id) once no open run can lack its marker, then
 * removing the old path once no open run can hold the deprecated marker either.
 */
export const PATCH = {
  /**
   * v2 (pipeline): a run whose workflow ID was used before (a re-run after a failure) looks its earlier runs up and
   * names its resources with a run key, instead of re-attaching to the earlier run's Failed training job.
   */
  freshResourcesOnRerun: 'fresh-resources-on-rerun',
  /**
   * v2 (pipeline): steps are started with ParentClosePolicy REQUEST_CANCEL instead of the default TERMINATE, so
   * terminating (or timing out) a pipeline gives the running step the chance to stop its job.
   */
  childrenRequestCancel: 'children-request-cancel',
  /**
   * v2 (pipeline and registerModel): the approval state goes into the ApprovalStatus search attribute (registerModel
   * tells its pipeline when it starts waiting for a reviewer; the pipeline records the outcome).
   */
  approvalStatusSearchAttribute: 'approval-status-search-attribute',
} as const;
