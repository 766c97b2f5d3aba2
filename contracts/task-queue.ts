/** The task queue workers poll by default; override with TEMPORAL_TASK_QUEUE. */
export const DEFAULT_TASK_QUEUE = 'sagemaker-pipeline';

/** Tag every AWS resource carries so a re-attaching step can prove the resource is its own. */
export const WORKFLOW_ID_TAG = 'pipeline:workflow-id';
