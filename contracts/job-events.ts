/**
 * State-change events as hints (docs/events.md): AWS publishes an EventBridge event when a SageMaker job, endpoint or
 * model package, or a CodeBuild build, changes state; the event relay (worker/event-relay.ts) turns each into a
 * `jobStateChanged` signal to the step workflow that waits on the resource. The step then describes the resource once
 * from an activity: the event says "look now", the Describe says what is true. Pure TypeScript, no AWS SDK.
 */

/** The EventBridge `source` and `detail-type` of every event the rule (infra/lib/events.ts) delivers. */
export const JOB_EVENT_TYPES = {
  'aws.sagemaker': [
    'SageMaker Training Job State Change',
    'SageMaker HyperParameter Tuning Job State Change',
    'SageMaker Processing Job State Change',
    'SageMaker Transform Job State Change',
    'SageMaker Endpoint State Change',
    'SageMaker Model Package State Change',
  ],
  'aws.codebuild': ['CodeBuild Build State Change'],
} as const;

/**
 * The polling net's interval when events wake the steps: a lost event delays a step by at most this long
 * (PIPELINE_EVENTS_NET_INTERVAL_SECONDS overrides it; the spec's pollIntervalSeconds still applies when longer).
 */
export const DEFAULT_EVENT_NET_INTERVAL_S = 600;

/**
 * The wait activities a `jobStateChanged` signal wakes (workflows/job-step.ts): with events configured the worker
 * stretches only their poll interval to the net (activities/polling.ts); every other poll keeps its own interval.
 */
export const EVENT_WOKEN_WAITS: readonly string[] = [
  'waitForTrainingJob',
  'waitForTuningJob',
  'waitForProcessingJob',
  'waitForTransformJob',
  'waitForEndpoint',
  'waitForImageBuild',
];

/**
 * Tag an endpoint update stamps with the updating step's workflow ID, so the endpoint's events (whose Tags still name
 * the run that created it in `pipeline:workflow-id`) reach the step that waits on this update.
 */
export const UPDATED_BY_TAG = 'pipeline:updated-by';

/** What the relay sends a step: which resource changed and what the event said (a hint: the step describes it). */
export interface JobStateChanged {
  /** The event's `detail-type`, e.g. "SageMaker Training Job State Change". */
  detailType: string;
  /** The resource's name (job, endpoint, model package) or CodeBuild build ID. */
  resource: string;
  /** The status the event carried (TrainingJobStatus, EndpointStatus, build-status, ...), or null when none. */
  status: string | null;
  /**
   * A training job event's SecondaryStatus (Starting, Downloading, Training, Uploading, ...), or null when it carried
   * none; absent for the other kinds (and from relays before v7). Since v7 a hint whose `status` is the one the step
   * already waits on is shown from this field instead of described (workflows/job-step.ts).
   */
  secondaryStatus?: string | null;
  /** The event's `time`. */
  time: string;
}
