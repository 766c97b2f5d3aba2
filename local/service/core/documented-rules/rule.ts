/**
 * The shape of one documented rule: a rule AWS states in its documentation that its published service models
 * cannot express (a relation between fields, a limit across calls, a state a resource must be in). Every rule names
 * the operations it applies to and the documentation page it comes from; it is either a request check (run before
 * the operation, refusing with AWS's error code) or a behaviour the local service imitates (named by where it lives).
 */
import type { Body } from '../request-fields';

/** The request a check sees: which API and operation, and its parsed JSON body. */
export interface RuleRequest {
  /** The API: the X-Amz-Target prefix (`SageMaker`, `AnyScaleFrontendService`, `CodeBuild_20161006`). */
  service: string;
  operation: string;
  body: Body;
}

/** A resource tag as SageMaker lists it. */
export interface TagView {
  Key: string;
  Value: string;
}

/** What the warm-start rules read of a tuning job. */
export interface TuningJobView {
  status: string;
  objectiveMetric: string;
  /** The TrainingJobDefinition as it was sent. */
  definition: Body;
  /** The HyperParameterTuningJobConfig.ParameterRanges as sent. */
  ranges: Body;
  /** Per channel, what its S3 prefix held when the job was created (see `channelFingerprint`). */
  dataFingerprint?: Record<string, string>;
}

/** Read access to the local service's state, for the checks that depend on it. */
export interface RuleState {
  trainingJobStatus(name: string): string | undefined;
  processingJobStatus(name: string): string | undefined;
  tuningJob(name: string): TuningJobView | undefined;
  endpoint(name: string): { status: string; arn: string; configName: string } | undefined;
  /** The production variants of an endpoint config (name, instance type and initial instance count). */
  endpointConfigVariants(
    configName: string,
  ): { VariantName: string; InstanceType?: string; InitialInstanceCount?: number }[] | undefined;
  /** Names of the endpoint's variants that are registered as Application Auto Scaling scalable targets. */
  scalableVariants(endpointName: string): string[];
  /** A registered scalable target's capacity range, undefined when none is registered. */
  scalableTarget(
    namespace: string,
    resourceId: string,
    dimension: string,
  ): { MinCapacity: number; MaxCapacity: number } | undefined;
  tags(arn: string): TagView[];
  /** A model package version's CustomerMetadataProperties (by ARN), undefined when there is no such package. */
  modelPackageMetadata(arn: string): Record<string, string> | undefined;
  /** How many builds a CodeBuild project has had, undefined when there is no such project. */
  projectBuildCount(projectName: string): number | undefined;
  /** A digest per channel of the objects (key, size, ETag) under its S3 URI now. */
  channelFingerprint(channels: { ChannelName: string; S3Uri: string }[]): Promise<Record<string, string>>;
}

/** A check: returns when the request may go on, throws the AwsError AWS answers otherwise. */
export type RuleCheck = (request: RuleRequest, state: RuleState) => void | Promise<void>;

interface RuleBase {
  /** Stable id, e.g. `tags.unique-keys` (docs/local-mode-fidelity.md lists every rule by id). */
  id: string;
  /** The API, as in RuleRequest.service. */
  service: 'SageMaker' | 'AnyScaleFrontendService' | 'CloudWatch' | 'CodeBuild_20161006' | 'SQS';
  /** Operations the rule applies to. */
  operations: readonly string[];
  /** The rule in one line, as AWS states it. */
  statement: string;
  /** The AWS documentation page it comes from (or, where AWS is silent, the public report it rests on). */
  source: string;
}

/** A rule checked on every request of its operations before the operation runs. */
export interface RequestRule extends RuleBase {
  check: RuleCheck;
}

/** A rule about how AWS behaves over time (statuses, retries, metrics), imitated where `enforcedBy` says. */
export interface BehaviourRule extends RuleBase {
  /** The file and function of the local service that imitates it. */
  enforcedBy: string;
}

/** One row of the documented-rules table. */
export type DocumentedRule = RequestRule | BehaviourRule;
