/**
 * The custom search attributes the pipeline upserts, with their Temporal types. One list for the workflows, the
 * worker's start-up check, the local dev server's registration and the registration commands in docs/operations.md.
 */
export const PIPELINE_SEARCH_ATTRIBUTES = {
  /** The step a pipeline is running now (`done` at the end). */
  PipelineStep: 'Keyword',
  /** The model package version the run registered. */
  ModelPackageVersion: 'Int',
  /** The endpoint the run deploys to. */
  EndpointName: 'Keyword',
  /** The registered version's approval: PendingManualApproval while a reviewer is awaited, then the outcome. */
  ApprovalStatus: 'Keyword',
} as const;

/** Name of one of the pipeline's search attributes. */
export type PipelineSearchAttributeName = keyof typeof PIPELINE_SEARCH_ATTRIBUTES;
